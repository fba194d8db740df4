"""`distillrecdial build`: raw dialogues → validated, split configs → a Hub-ready folder ``RUN/hub/``.

Validates every raw dialogue (roles, turn bounds, the recommendation, catalog
ids, no title in place of a tag, persona rules), assigns user-disjoint,
persona-stratified splits, builds the raw / sft / crslab / items / kg configs
with ``distillrecdial.DistillRecDial``, writes them as parquet with a card
rendered from the data, then loads every config back from the folder.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from datasets import load_dataset

from builder.hub_folder import config_datasets, swap_in, write_parquet
from builder.plan import default_roles, make_plan, write_plan
from dataset_card.figures import render_all
from dataset_card.render import card_metadata, render_card
from dataset_card.report import build_report, headline_markdown, persona_markdown
from dataset_card.stats import card_stats
from distillrecdial import _CITATION, _CONFIG_DESCRIPTIONS
from generation.generate import ROLES
from pipeline.atomic import glob_escape, remove_stale_temps, staging_dir, write_bytes, write_text
from pipeline.errors import StageError
from pipeline.faults import failpoint
from pipeline.jsonl import label_for
from pipeline.lock import run_lock
from pipeline.manifest import read_manifest, record_stage
from pipeline.problems import ProblemLog, describe

HUB_DIR = "hub"
#: The `datasets` cache of a build, inside the run folder and removed when the build ends.
BUILD_CACHE = Path(".cache") / "build"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder with raw/<role>/dialogues.jsonl")
    parser.add_argument(
        "--roles",
        nargs="+",
        choices=ROLES,
        help="whose dialogues to publish (default: the student's if present, else the teacher's)",
    )
    parser.add_argument("--repo-id", default="planeB/DistillRecDial", help="repo id the card's examples load from")
    parser.add_argument("--out", type=Path, help="output folder (default: RUN/hub)")


def remove_leftovers(run: Path, target: Path) -> None:
    """What killed builds left: staging folders beside ``target``, temp files, the `datasets` cache.

    Called with the run's build lock held, so no live build of this run owns them.
    """
    for leftover in target.parent.glob(f".{glob_escape(target.name)}.*"):
        if leftover.is_dir():  # ".hub.<pid>.<random>.staging", ".hub.old", or an older ".hub.<random>"
            shutil.rmtree(leftover, ignore_errors=True)
    for directory in (run, run / "build"):
        remove_stale_temps(directory)
    shutil.rmtree(run / BUILD_CACHE, ignore_errors=True)


def build(args: argparse.Namespace) -> dict[str, Any]:
    """Run the stage (one at a time per run folder); return its manifest entry."""
    args.run.mkdir(parents=True, exist_ok=True)
    with run_lock(args.run, "build"):
        try:
            return _build(args)
        finally:
            shutil.rmtree(args.run / BUILD_CACHE, ignore_errors=True)


def _build(args: argparse.Namespace) -> dict[str, Any]:
    run: Path = args.run
    roles = args.roles or default_roles(run)
    target = args.out or run / HUB_DIR
    remove_leftovers(run, target)
    skipped = ProblemLog()  # bad lines of the raw files: skipped, counted and named
    plan = make_plan(run, roles, skipped)
    if not plan:
        raise StageError(f"no dialogues to build in {run / 'raw'} for roles {', '.join(roles)}", exit_code=1)
    write_plan(run, plan)

    staging = staging_dir(target)
    try:
        built = config_datasets(run, run / BUILD_CACHE / "builder")
        configs = write_parquet(built, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    stats = card_stats(plan, built["items"]["train"].num_rows, built["kg"]["train"].num_rows)
    quality = build_report(run)  # measured on the same plan: the card's quality tables and figures
    figures = render_all(quality)
    for name, png in figures.items():
        write_bytes(staging / "figures" / name, png)
    k = read_manifest(run).get("stages", {}).get("prepare", {}).get("parameters", {}).get("k", 12)
    context = {
        "s": stats,
        "repo_id": args.repo_id,
        "k": k,
        "citation": _CITATION,
        "quality": headline_markdown(quality),
        "quality_personas": persona_markdown(quality),
        "figures": sorted(figures),
        "configs": [
            {
                "name": name,
                "rows": sum(rows for rows, _ in config["splits"].values()),
                "description": _CONFIG_DESCRIPTIONS[name],
            }
            for name, config in configs.items()
        ],
    }
    write_text(staging / "README.md", render_card(card_metadata(configs, stats), context))
    failpoint("build.before_swap")
    swap_in(staging, target)

    check_cache = str(run / BUILD_CACHE / "load")  # not the user's `datasets` cache: removed with the build
    loaded = {
        name: {split: ds.num_rows for split, ds in load_dataset(str(target), name, cache_dir=check_cache).items()}
        for name in configs
    }
    expected = {
        name: {split: rows for split, (rows, _) in config["splits"].items()} for name, config in configs.items()
    }
    if loaded != expected:
        raise StageError(f"the built folder does not load back as written: {loaded} != {expected}", exit_code=1)
    entry = {
        "roles": roles,
        "folder": label_for(target, run),
        "configs": loaded,
        "valid": stats["total_valid"],
        "raw": stats["total_raw"],
        "problems": stats["problems"],
        "skipped_lines": skipped.summary(),
    }
    record_stage(run, "build", entry)
    return entry


def run(args: argparse.Namespace) -> int:
    entry = build(args)
    counts = "; ".join(
        f"{name} " + "/".join(str(n) for n in splits.values()) for name, splits in entry["configs"].items()
    )
    problems = ", ".join(f"{k} {v}" for k, v in entry["problems"].items()) or "none"
    print(
        f"build ({'+'.join(entry['roles'])}): {entry['raw']:,} dialogues, {entry['valid']:,} valid → "
        f"{args.out or args.run / HUB_DIR} [{counts}] (train/validation/test rows; items, kg: train); "
        f"invalid because: {problems}; "
        "every config loaded back with load_dataset"
        + (f"; bad lines skipped: {describe(entry['skipped_lines'])}" if entry["skipped_lines"]["counts"] else "")
    )
    return 0
