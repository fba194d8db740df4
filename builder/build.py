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
import tempfile
from pathlib import Path
from typing import Any

from datasets import load_dataset

from builder.hub_folder import config_datasets, staging_dir, swap_in, write_parquet
from builder.plan import default_roles, make_plan, write_plan
from builder.walk_rows import published_configs
from dataset_card.figures import render_all
from dataset_card.render import card_metadata, render_card
from dataset_card.report import build_report, headline_markdown, persona_markdown
from dataset_card.stats import card_stats
from distillrecdial import _CITATION, _CONFIG_DESCRIPTIONS
from generation.generate import ROLES
from pipeline.atomic import write_bytes, write_text
from pipeline.errors import StageError
from pipeline.manifest import read_manifest, record_stage

HUB_DIR = "hub"


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


def build(args: argparse.Namespace) -> dict[str, Any]:
    run: Path = args.run
    roles = args.roles or default_roles(run)
    plan = make_plan(run, roles)
    if not plan:
        raise StageError(f"no dialogues to build in {run / 'raw'} for roles {', '.join(roles)}", exit_code=1)
    write_plan(run, plan)

    target = args.out or run / HUB_DIR
    staging = staging_dir(target)
    try:
        with tempfile.TemporaryDirectory(prefix="distillrecdial-build-") as cache:
            built = config_datasets(run, Path(cache), published_configs(run, roles))
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
    swap_in(staging, target)

    loaded = {name: {split: ds.num_rows for split, ds in load_dataset(str(target), name).items()} for name in configs}
    expected = {
        name: {split: rows for split, (rows, _) in config["splits"].items()} for name, config in configs.items()
    }
    if loaded != expected:
        raise StageError(f"the built folder does not load back as written: {loaded} != {expected}", exit_code=1)
    entry = {
        "roles": roles,
        "folder": str(target),
        "configs": loaded,
        "valid": stats["total_valid"],
        "raw": stats["total_raw"],
        "problems": stats["problems"],
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
        f"{entry['folder']} [{counts}] (train/validation/test rows; items, kg: train); invalid because: {problems}; "
        "every config loaded back with load_dataset"
    )
    return 0
