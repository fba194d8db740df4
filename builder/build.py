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

import orjson
from datasets import load_dataset
from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

from distillrecdial_kit.builder.features import OPTIONAL_CONFIGS
from distillrecdial_kit.builder.hub_folder import config_datasets, swap_in, write_parquet
from distillrecdial_kit.builder.plan import default_roles, load_items, make_plan, write_plan
from distillrecdial_kit.builder.walk_rows import published_configs
from distillrecdial_kit.dataset_card.card import card_context
from distillrecdial_kit.dataset_card.eval_tables import measured_on, results_markdown
from distillrecdial_kit.dataset_card.figures import render_all
from distillrecdial_kit.dataset_card.provenance import generator_label, rule_based_only
from distillrecdial_kit.dataset_card.render import card_metadata, render_card
from distillrecdial_kit.dataset_card.report import build_report
from distillrecdial_kit.dataset_card.stats import card_stats
from distillrecdial_kit.distillrecdial import _CITATION, _CONFIG_DESCRIPTIONS
from distillrecdial_kit.generation.generate import ROLES
from distillrecdial_kit.pipeline.atomic import glob_escape, remove_stale_temps, staging_dir, write_bytes, write_text
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.faults import failpoint
from distillrecdial_kit.pipeline.jsonl import label_for
from distillrecdial_kit.pipeline.layout import BUILD_DIR, CACHE_DIR, HUB_DIR, RunLayout
from distillrecdial_kit.pipeline.lock import run_lock
from distillrecdial_kit.pipeline.manifest import read_manifest, record_stage, sha256_file
from distillrecdial_kit.pipeline.problems import ProblemLog, describe

#: The `datasets` cache of a build, inside the run folder and removed when the build ends.
BUILD_CACHE = Path(CACHE_DIR) / "build"


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
    parser.add_argument(
        "--allow-template",
        action="store_true",
        help="publish even when every valid dialogue was written by the rule-based template backend "
        "(the card then says so in its first paragraph)",
    )


def remove_leftovers(run: Path, target: Path) -> None:
    """What killed builds left: staging folders beside ``target``, temp files, the `datasets` cache.

    Called with the run's build lock held, so no live build of this run owns them.
    """
    for leftover in target.parent.glob(f".{glob_escape(target.name)}.*"):
        if leftover.is_dir():  # ".hub.<pid>.<random>.staging", ".hub.old", or an older ".hub.<random>"
            shutil.rmtree(leftover, ignore_errors=True)
    for directory in (run, run / BUILD_DIR):
        remove_stale_temps(directory)
    shutil.rmtree(run / BUILD_CACHE, ignore_errors=True)


def build(args: argparse.Namespace) -> dict[str, Any]:
    """Build, one at a time per run folder, with `datasets`' progress bars off (~30 bars for 100 dialogues
    would bury the summary line) and its cache inside the run folder, removed at the end."""
    args.run.mkdir(parents=True, exist_ok=True)
    was_enabled = not are_progress_bars_disabled()
    disable_progress_bars()
    try:
        with run_lock(args.run, "build"):
            return _build(args)
    finally:
        shutil.rmtree(args.run / BUILD_CACHE, ignore_errors=True)
        if was_enabled:
            enable_progress_bars()


def _build(args: argparse.Namespace) -> dict[str, Any]:
    run: Path = args.run
    roles = args.roles or default_roles(run)
    target = args.out or run / HUB_DIR
    remove_leftovers(run, target)
    skipped = ProblemLog()  # bad lines of the raw files: skipped, counted and named
    plan = make_plan(run, roles, skipped)
    if not plan:
        raise StageError(f"no dialogues to build in {run / 'raw'} for roles {', '.join(roles)}", exit_code=1)
    if rule_based_only(plan) and not getattr(args, "allow_template", False):
        raise StageError(
            f"every published dialogue of {'+'.join(roles)} was written by the rule-based template backend, "
            "not a language model; generate with a model, or pass --allow-template to publish it labelled as such"
        )
    write_plan(run, plan)

    staging = staging_dir(target)
    try:
        built = config_datasets(run, run / BUILD_CACHE / "builder", published_configs(run, roles))
        for name in OPTIONAL_CONFIGS & set(built):  # e.g. `rationales`, only when their stage has run
            if not any(split.num_rows for split in built[name].values()):
                del built[name]
        configs = write_parquet(built, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    stats = card_stats(plan, built["items"]["train"].num_rows, built["kg"]["train"].num_rows)
    benchmark = benchmark_tables(RunLayout(run).eval_results, staging)
    # Measured on the published roles only, generators named without local paths: the card's tables and figures.
    quality = build_report(run, roles=roles, label=generator_label, equal_size=True)
    figures = render_all(quality)
    for name, png in figures.items():
        write_bytes(staging / "figures" / name, png)
    k = read_manifest(run).get("stages", {}).get("prepare", {}).get("parameters", {}).get("k", 12)
    context = card_context(
        plan=plan,
        stats=stats,
        quality=quality,
        configs=configs,
        catalog={item["item_id"]: item for item in load_items(run)},
        figures=sorted(figures),
        repo_id=args.repo_id,
        k=k,
        citation=_CITATION,
        descriptions=_CONFIG_DESCRIPTIONS,
        benchmark=benchmark,
        walks=built["walks"]["train"].to_list() if "walks" in built else None,
    )
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


def benchmark_tables(results_path: Path, staging: Path) -> dict[str, Any] | None:
    """The evaluation's tables for the card when `evaluate` ran on exactly the data being published.

    ``{"tables": markdown}`` when it did, ``{"tables": None}`` when its results belong to another build
    (the card then says the benchmark is not shown), ``None`` when nothing was evaluated.
    """
    if not results_path.is_file():
        return None
    try:
        results = orjson.loads(results_path.read_bytes())
    except orjson.JSONDecodeError as err:
        raise StageError(f"{results_path}: not JSON ({err}); rerun `distillrecdial evaluate`") from None
    data = {f"{path.parent.name}/{path.name}": sha256_file(path) for path in sorted(staging.glob("data/*/*.parquet"))}
    return {"tables": results_markdown(results) if measured_on(results, data) else None}


def run(args: argparse.Namespace) -> int:
    entry = build(args)
    counts = "; ".join(
        f"{name} " + "/".join(str(n) for n in splits.values()) for name, splits in entry["configs"].items()
    )
    problems = ", ".join(f"{k} {v}" for k, v in entry["problems"].items()) or "none"
    print(
        f"build ({'+'.join(entry['roles'])}): {entry['raw']:,} dialogues, {entry['valid']:,} valid → "
        f"{args.out or args.run / HUB_DIR} [{counts}] (train/validation/test rows; items, kg: train); "
        f"invalid because: {problems}; every config loaded back with load_dataset"
        + (f"; bad lines skipped: {describe(entry['skipped_lines'])}" if entry["skipped_lines"]["counts"] else "")
    )
    return 0
