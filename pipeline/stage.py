"""What a stage is, so that the CLI, Python callers and tests drive every stage the same way.

A stage module exports a frozen config dataclass, ``add_arguments(parser)`` (its options),
``config_from_args(args) -> config``, ``run(config) -> summary`` (the work; raises :class:`StageError` when it
cannot be done) and ``summary_lines(summary) -> list[str]`` (the one-line summary, plus detail lines). It may
export ``exit_status(summary) -> int`` when a finished run can still have failed work (``generate`` with every
prompt failed exits 1). ``run`` records its own manifest entry: the manifest belongs to the run folder, and the
next stage reads it whether the previous one ran from the command line or from Python.

This module sits in the bottom layer: it knows the shape of a stage, never a particular one.
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Stage(Protocol):
    """The functions a stage module exports (checked by ``tests/test_structure.py`` for every stage)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def config_from_args(self, args: argparse.Namespace) -> Any: ...

    def run(self, config: Any) -> dict[str, Any]: ...

    def summary_lines(self, summary: dict[str, Any]) -> list[str]: ...


def make_parser(
    module: ModuleType,
    name: str,
    help_text: str,
    subparsers: argparse._SubParsersAction | None = None,
    parents: list[argparse.ArgumentParser] | None = None,
) -> argparse.ArgumentParser:
    """The stage's parser: a subcommand of ``subparsers`` when given, else a parser of its own (TRL's shape)."""
    description = (module.__doc__ or help_text).strip()
    options = {
        "description": description,
        "parents": parents or [],
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
    if subparsers is None:
        parser = argparse.ArgumentParser(prog=f"distillrecdial {name}", **options)
    else:
        parser = subparsers.add_parser(name, help=help_text, **options)
    module.add_arguments(parser)
    parser.set_defaults(_stage=module)
    return parser


def invoke(module: ModuleType, args: argparse.Namespace) -> int:
    """Parsed arguments → config → ``run`` → the summary printed → the exit status."""
    summary = module.run(module.config_from_args(args))
    print("\n".join(module.summary_lines(summary)))
    exit_status = getattr(module, "exit_status", None)
    return int(exit_status(summary)) if exit_status is not None else 0
