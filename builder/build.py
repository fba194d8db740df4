"""`distillrecdial build`: raw dialogues → validated, split configs → a Hub-ready folder ``RUN/hub/``.

Validates every raw dialogue (roles, turn bounds, the recommendation, catalog
ids, no title in place of a tag, persona rules), assigns user-disjoint,
persona-stratified splits (``RUN/build/plan.jsonl``), streams the plan once
into the rows of the raw / sft / crslab / items / kg configs (and rationales,
walks when the run has them), written as parquet with a card rendered from the
data, then loads every config back from the folder. The same folder is what
``distillrecdial.py`` reads.

From Python: ``run(BuildConfig(run=Path("runs/demo"), roles=("teacher",)))`` returns the summary.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from datasets import load_dataset
from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

from distillrecdial_kit.builder.config_rows import write_catalog_configs, write_dialogue_configs, write_walks
from distillrecdial_kit.builder.features import OPTIONAL_CONFIGS
from distillrecdial_kit.builder.hub_folder import HubWriter, swap_in
from distillrecdial_kit.builder.plan import Plan, default_roles, load_items, make_plan
from distillrecdial_kit.builder.rows import sft_row
from distillrecdial_kit.builder.walk_rows import published_configs
from distillrecdial_kit.dataset_card import card_quality
from distillrecdial_kit.dataset_card.card import card_context, example_dialogue, example_row
from distillrecdial_kit.dataset_card.eval_tables import measured_on, results_markdown
from distillrecdial_kit.dataset_card.figures import render_all
from distillrecdial_kit.dataset_card.provenance import rule_based_only
from distillrecdial_kit.dataset_card.quality import CARD_PARAMETERS, card_report
from distillrecdial_kit.dataset_card.render import card_metadata, render_card
from distillrecdial_kit.dataset_card.stats import card_stats
from distillrecdial_kit.distillrecdial import _CITATION, _CONFIG_DESCRIPTIONS, FEATURES
from distillrecdial_kit.pipeline.atomic import glob_escape, remove_stale_temps, staging_dir, write_bytes, write_text
from distillrecdial_kit.pipeline.background import Background, cpus
from distillrecdial_kit.pipeline.collector import rare_collections
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.faults import failpoint
from distillrecdial_kit.pipeline.jsonl import label_for
from distillrecdial_kit.pipeline.layout import BUILD_DIR, CACHE_DIR, HUB_DIR, ROLES, RunLayout
from distillrecdial_kit.pipeline.lock import run_lock
from distillrecdial_kit.pipeline.manifest import read_manifest, record_stage, sha256_file
from distillrecdial_kit.pipeline.problems import ProblemLog, describe
from distillrecdial_kit.pipeline.stage import config_from

#: The `datasets` cache of a build, inside the run folder and removed when the build ends.
BUILD_CACHE = Path(CACHE_DIR) / "build"
DEFAULT_REPO_ID = "planeB/DistillRecDial"
#: Dialogues from which a build with ``workers`` > 1 links entities in worker processes and measures its card
#: in a second process beside the row writing (below it, starting processes costs more than it saves).
PARALLEL_MIN = 5000


@dataclass(frozen=True)
class BuildConfig:
    """What `build` needs: the run folder, whose dialogues to publish, where, and the card's repo id."""

    run: Path
    #: whose dialogues to publish (None: the student's if present, else the teacher's)
    roles: tuple[str, ...] | None = None
    repo_id: str = DEFAULT_REPO_ID
    #: output folder (None: RUN/hub)
    out: Path | None = None
    #: publish even when every valid dialogue was written by the rule-based template backend
    allow_template: bool = False
    #: processes for a large corpus's validation, entity linking and card measurements. From Python the
    #: default is 1: worker processes import the calling script again, which is safe only under
    #: ``if __name__ == "__main__":``. The CLI's default is one per CPU.
    workers: int = 1

    @property
    def target(self) -> Path:
        return self.out if self.out is not None else self.run / HUB_DIR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder with raw/<role>/dialogues.jsonl")
    parser.add_argument(
        "--roles",
        nargs="+",
        choices=ROLES,
        help="whose dialogues to publish (default: the student's if present, else the teacher's)",
    )
    parser.add_argument("--repo-id", default=DEFAULT_REPO_ID, help="repo id the card's examples load from")
    parser.add_argument("--out", type=Path, help="output folder (default: RUN/hub)")
    parser.add_argument(
        "--allow-template",
        action="store_true",
        help="publish even when every valid dialogue was written by the rule-based template backend "
        "(the card then says so in its first paragraph)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="processes for a large corpus's validation, entity linking and card measurements "
        "(default: the CPUs available)",
    )


def config_from_args(args: argparse.Namespace) -> BuildConfig:
    return config_from(
        BuildConfig, args, roles=tuple(args.roles) if args.roles else None, workers=args.workers or cpus()
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


def run(config: BuildConfig) -> dict[str, Any]:
    """Build, one at a time per run folder, with `datasets`' progress bars off (~30 bars for 100 dialogues
    would bury the summary line) and its cache inside the run folder, removed at the end.

    Returns the summary: the manifest entry recorded for `build`, plus ``path`` (the folder written) and
    ``quality_from``: ``"report"`` when the card's quality data was the `report` stage's (fresh), else
    ``"measured"``.
    """
    if config.workers < 1:
        raise StageError(f"--workers {config.workers}: give at least 1")
    config.run.mkdir(parents=True, exist_ok=True)
    was_enabled = not are_progress_bars_disabled()
    disable_progress_bars()
    try:
        with run_lock(config.run, "build"), rare_collections():
            return {**_build(config), "path": str(config.target)}
    finally:
        shutil.rmtree(config.run / BUILD_CACHE, ignore_errors=True)
        if was_enabled:
            enable_progress_bars()


def _build(config: BuildConfig) -> dict[str, Any]:
    run = config.run
    roles = list(config.roles) if config.roles else default_roles(run)
    target = config.target
    remove_leftovers(run, target)
    skipped = ProblemLog()  # bad lines of the raw files: skipped, counted and named
    plan = make_plan(run, roles, run / BUILD_CACHE, skipped, config.workers)
    if not plan:
        raise StageError(f"no dialogues to build in {run / 'raw'} for roles {', '.join(roles)}", exit_code=1)
    if rule_based_only(plan.rows) and not config.allow_template:
        raise StageError(
            f"every published dialogue of {'+'.join(roles)} was written by the rule-based template backend, "
            "not a language model; generate with a model, or pass --allow-template to publish it labelled as such"
        )
    plan.publish(run)
    items = load_items(run)
    catalog = {item["item_id"]: item for item in items}

    # The card's tables and figures: kept by `report` when it ran on exactly these inputs, else measured here,
    # in a second process while this one writes the rows when the corpus is large enough to gain from it.
    fresh = card_quality.read_fresh(run, roles, CARD_PARAMETERS)
    workers = config.workers if len(plan) >= PARALLEL_MIN else 1
    beside = fresh is None and workers > 1
    staging = staging_dir(target)
    with Background(card_report, run, tuple(roles), enabled=beside) as measuring:
        try:
            configs, walks = write_configs(run, plan, items, catalog, staging, workers)
            quality = fresh if fresh is not None else measuring.result()
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    quality_from = "report" if fresh is not None else "measured"
    stats = card_stats(plan.rows, configs["items"]["splits"]["train"][0], configs["kg"]["splits"]["train"][0])
    benchmark = benchmark_tables(RunLayout(run).eval_results, staging)
    figures = render_all(quality)
    for name, png in figures.items():
        write_bytes(staging / "figures" / name, png)
    k = read_manifest(run).get("stages", {}).get("prepare", {}).get("parameters", {}).get("k", 12)
    shown = example_row(plan.rows)
    shown = plan.full_row(shown["dialogue_id"]) if shown else None
    context = card_context(
        plan=plan.rows,
        stats=stats,
        quality=quality,
        configs=configs,
        catalog=catalog,
        figures=sorted(figures),
        repo_id=config.repo_id,
        k=k,
        citation=_CITATION,
        descriptions=_CONFIG_DESCRIPTIONS,
        example=example_dialogue(shown, sft_row(shown, shown["turns"], catalog)["messages"] if shown else [], catalog),
        benchmark=benchmark,
        walks=walks,
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
    return {**entry, "quality_from": quality_from}


def write_configs(
    run: Path,
    plan: Plan,
    items: list[dict[str, Any]],
    catalog: dict[str, dict[str, Any]],
    staging: Path,
    workers: int = 1,
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]] | None]:
    """Every published config's parquet files in ``staging``; returns the card's per-config sizes and the train
    walk rows (None when the run publishes no walks)."""
    writer = HubWriter(staging, run / BUILD_CACHE / "arrow", published_configs(run, plan.roles()))
    write_dialogue_configs(plan.iter_rows(), catalog, writer, total=len(plan), workers=workers)
    write_catalog_configs(run, items, writer)
    walks = write_walks(run, plan.roles(), plan.splits, set(catalog), writer) if "walks" in writer.writers else []
    for name in OPTIONAL_CONFIGS & set(writer.writers):  # e.g. `rationales`, only when their stage has run
        if not writer.rows(name):
            writer.drop(name)
    if "walks" not in writer.writers:
        return writer.finish(), None
    return writer.finish(), [{key: row[key] for key in FEATURES["walks"]} for row in walks if row["split"] == "train"]


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


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The one-line summary: rows per config and split, why dialogues are invalid, skipped lines."""
    counts = "; ".join(
        f"{name} " + "/".join(str(n) for n in splits.values()) for name, splits in summary["configs"].items()
    )
    problems = ", ".join(f"{k} {v}" for k, v in summary["problems"].items()) or "none"
    skipped = summary["skipped_lines"]
    return [
        f"build ({'+'.join(summary['roles'])}): {summary['raw']:,} dialogues, {summary['valid']:,} valid → "
        f"{summary['path']} [{counts}] (train/validation/test rows; items, kg: train); "
        f"invalid because: {problems}; every config loaded back with load_dataset"
        + (f"; bad lines skipped: {describe(skipped)}" if skipped["counts"] else "")
        + ("; the card's quality tables from report/card_quality.json" if summary["quality_from"] == "report" else "")
    ]
