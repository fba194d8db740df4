"""`distillrecdial report`: quality metrics of a run's dialogues → RUN/report/ (report.json, report.md,
figures/*.png).

Reads every ``RUN/raw/<role>/dialogues.jsonl`` (and, when ``distillrecdial build`` has run,
``RUN/build/plan.jsonl`` for the re-validated problems and the split of each built dialogue) plus
``RUN/items.parquet``, and computes the metrics of :mod:`dataset_card.metrics` overall, per persona, per
split, per generator (role / backend / model / adapter; with its own per-persona breakdown) and, when both
roles exist, teacher and student side by side with their agreement on recommended items. After a build it
also keeps the card's own quality data (``card_quality.json``) for the next build.

``report.json`` has sorted keys and no timestamps: the same run gives the same bytes. The measurements live in
:mod:`dataset_card.quality`; this module is the stage around them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillrecdial_kit.dataset_card import card_quality
from distillrecdial_kit.dataset_card.metrics import SELF_BLEU_POOL
from distillrecdial_kit.dataset_card.quality import (
    CARD_PARAMETERS,
    PLAN_PATH,
    TITLE_SAMPLE,
    build_report,
    card_report,
    headline_markdown,
    summary_line,
    write_report,
)
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import REPORT_DIR
from distillrecdial_kit.pipeline.manifest import record_stage
from distillrecdial_kit.pipeline.stage import config_from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder with raw/<role>/dialogues.jsonl")
    parser.add_argument("--out", type=Path, help="output folder (default: RUN/report)")
    parser.add_argument(
        "--self-bleu-pool",
        type=int,
        default=SELF_BLEU_POOL,
        help="dialogues per group sampled (by hashed id) for self-BLEU (default: %(default)s)",
    )
    parser.add_argument(
        "--title-sample",
        type=int,
        default=TITLE_SAMPLE,
        help="about how many dialogues (by hashed id) are searched for titles written instead of tags "
        "(default: %(default)s; 0 = none)",
    )


@dataclass(frozen=True)
class ReportConfig:
    """Which run to report on, where the report goes, and the sizes of the two sampled measurements."""

    run: Path
    out: Path | None = None  # default: RUN/report
    self_bleu_pool: int = SELF_BLEU_POOL
    title_sample: int = TITLE_SAMPLE


def config_from_args(args: argparse.Namespace) -> ReportConfig:
    return config_from(ReportConfig, args)


def run(config: ReportConfig) -> dict[str, Any]:
    """Measure the run's raw dialogues; write report.json, report.md and figures (and, after a build, the card's
    quality data for the next build); return the summary."""
    if config.self_bleu_pool < 2:
        raise StageError("--self-bleu-pool must be at least 2")
    out = config.out or config.run / REPORT_DIR
    report = build_report(config.run, self_bleu_pool=config.self_bleu_pool, title_sample=max(config.title_sample, 0))
    write_report(report, out)
    published = card_quality.published_roles(config.run)
    if published and (config.run / PLAN_PATH).is_file():  # a build ran: keep its card's data for the next build
        card_quality.write(config.run, published, CARD_PARAMETERS, card_report(config.run, published))
    entry = {"dialogues": report["overall"]["dialogues"], "skipped": report["sources"]["skipped_records"]}
    record_stage(config.run, "report", entry)
    return {**entry, "lines": [headline_markdown(report), summary_line(report, out)]}


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The headline table, then the one-line summary (both rendered from the full report by `run`)."""
    return list(summary["lines"])
