"""export-crslab: the built dataset (RUN/hub) → CRSLab's data folder (RUN/crslab by default).

Writes train/valid/test_data.json, entity2id.json, token2id.json, dbpedia_subkg.json, movie_ids.json and a
.built marker, in the format the DistillRecDial fork of CRSLab reads (see builder/crslab_export.py). Copy the
folder to CRSLab's data/dataset/llmsindataset/<tokenize>/ to train on it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import RunLayout
from distillrecdial_kit.pipeline.manifest import record_stage
from distillrecdial_kit.pipeline.stage import config_from


@dataclass(frozen=True)
class ExportCrslabConfig:
    """What `export-crslab` needs: the run folder (its built ``hub/``), the output folder, the tokenizer."""

    run: Path
    #: output folder (None: RUN/crslab)
    out: Path | None = None
    tokenizer: str = "nltk"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder holding hub/ (from `build`)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: RUN/crslab)")
    parser.add_argument(
        "--tokenizer",
        default="nltk",
        help="nltk (regex word tokenizer, offline), gpt2, bert, a Hub tokenizer name or a local tokenizer folder",
    )


def config_from_args(args: argparse.Namespace) -> ExportCrslabConfig:
    return config_from(ExportCrslabConfig, args)


def run(config: ExportCrslabConfig) -> dict[str, Any]:
    """Export; return the summary (also the manifest entry)."""
    from distillrecdial_kit.builder.crslab_export import export_crslab

    hub = RunLayout(config.run).hub
    if not (hub / "README.md").is_file():
        raise StageError(f"{hub}: no built dataset (run `distillrecdial build --run {config.run}` first)")
    out = config.out if config.out is not None else RunLayout(config.run).crslab
    summary = export_crslab(hub, out, config.tokenizer, progress=True)
    record_stage(config.run, "export-crslab", summary)
    return summary


def summary_lines(summary: dict[str, Any]) -> list[str]:
    convs = summary["conversations"]
    warnings = "; ".join(summary["warnings"])
    return [
        f"export-crslab: {convs['train']:,} train + {convs['valid']:,} valid + {convs['test']:,} test conversations "
        f"({summary['merged_turns']:,} same-role turns merged), {summary['entities']:,} entities "
        f"({summary['movies']:,} movies), {summary['kg_edges']:,} KG edges, {summary['tokens']:,} tokens "
        f"[{summary['tokenizer']}] → {summary['out']}" + (f" (warning: {warnings})" if warnings else "")
    ]
