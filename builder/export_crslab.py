"""export-crslab: the built dataset (RUN/hub) → CRSLab's data folder (RUN/crslab by default).

Writes train/valid/test_data.json, entity2id.json, token2id.json, dbpedia_subkg.json, movie_ids.json and a
.built marker, in the format the DistillRecDial fork of CRSLab reads (see builder/crslab_export.py). Copy the
folder to CRSLab's data/dataset/llmsindataset/<tokenize>/ to train on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import RunLayout
from distillrecdial_kit.pipeline.manifest import record_stage


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder holding hub/ (from `build`)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: RUN/crslab)")
    parser.add_argument(
        "--tokenizer",
        default="nltk",
        help="nltk (regex word tokenizer, offline), gpt2, bert, a Hub tokenizer name or a local tokenizer folder",
    )


def run(args: argparse.Namespace) -> int:
    from distillrecdial_kit.builder.crslab_export import export_crslab

    run_dir: Path = args.run
    hub = RunLayout(run_dir).hub
    if not (hub / "README.md").is_file():
        raise StageError(f"{hub}: no built dataset (run `distillrecdial build --run {run_dir}` first)")
    out = args.out if args.out is not None else RunLayout(run_dir).crslab
    summary = export_crslab(hub, out, args.tokenizer, progress=True)
    record_stage(run_dir, "export-crslab", summary)
    convs = summary["conversations"]
    warnings = "; ".join(summary["warnings"])
    print(
        f"export-crslab: {convs['train']:,} train + {convs['valid']:,} valid + {convs['test']:,} test conversations "
        f"({summary['merged_turns']:,} same-role turns merged), {summary['entities']:,} entities "
        f"({summary['movies']:,} movies), {summary['kg_edges']:,} KG edges, {summary['tokens']:,} tokens "
        f"[{summary['tokenizer']}] → {out}" + (f" (warning: {warnings})" if warnings else "")
    )
    return 0
