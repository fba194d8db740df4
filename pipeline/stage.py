"""What a stage is, so that the CLI, Python callers and tests drive every stage the same way.

A stage module exports a frozen config dataclass, ``add_arguments(parser)`` (its options),
``config_from_args(args) -> config``, ``run(config) -> summary`` (the work; raises :class:`StageError` when it
cannot be done) and ``summary_lines(summary) -> list[str]`` (the one-line summary, plus detail lines). It may
export ``failure(summary) -> str | None`` when a finished run can still have failed its work (``generate`` with
every prompt failed): the CLI then prints that as the error and exits 1. ``run`` records its own manifest entry:
the manifest belongs to the run folder, and the next stage reads it whether the previous one ran from the
command line or from Python.

This module sits in the bottom layer: it knows the shape of a stage, never a particular one.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from types import ModuleType
from typing import Any, Protocol, TypeVar, runtime_checkable

C = TypeVar("C")


@runtime_checkable
class Stage(Protocol):
    """The functions a stage module exports (checked by ``tests/test_structure.py`` for every stage)."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def config_from_args(self, args: argparse.Namespace) -> Any: ...

    def run(self, config: Any) -> dict[str, Any]: ...

    def summary_lines(self, summary: dict[str, Any]) -> list[str]: ...


def config_from(config_type: type[C], args: argparse.Namespace, **overrides: Any) -> C:
    """A stage's config from its parsed options: each field takes the option of its name (a list becomes a tuple,
    so configs stay immutable), or the value given in ``overrides`` for options parsed into another shape."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(config_type):
        if field.name in overrides:
            values[field.name] = overrides[field.name]
        elif hasattr(args, field.name):
            value = getattr(args, field.name)
            values[field.name] = tuple(value) if isinstance(value, list) else value
    return config_type(**values)


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
    parser.set_defaults(_stage=module, stage=name)
    return parser


def run_args(args: argparse.Namespace) -> dict[str, Any]:
    """The stage a parser made (``_stage``) run on its parsed arguments: the summary."""
    module = args._stage
    return module.run(module.config_from_args(args))


def invoke(args: argparse.Namespace) -> int:
    """Parsed arguments → config → ``run`` → the summary printed → the exit status."""
    module = args._stage
    summary = run_args(args)
    print("\n".join(module.summary_lines(summary)))
    failure = getattr(module, "failure", None)
    message = failure(summary) if failure is not None else None
    if message:
        print(f"distillrecdial {args.stage}: error: {message}", file=sys.stderr)
        return 1
    return 0
