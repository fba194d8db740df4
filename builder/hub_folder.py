"""Writing the Hub-ready folder: ``data/<config>/<split>-00000-of-00001.parquet`` plus the README card.

Each config is produced by the `datasets` builder in ``distillrecdial.py`` (the
same code users can run themselves) and saved as parquet, so the Hub needs no
loading script. The folder is assembled beside the old one and swapped in at
the end: a killed build leaves the previous folder intact.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from datasets import Dataset

from distillrecdial_kit.builder.features import FEATURES


def empty(name: str) -> Dataset:
    """A split with no rows that still carries its config's schema."""
    return Dataset.from_dict({column: [] for column in FEATURES[name]}, features=FEATURES[name])


def config_datasets(run: Path, cache_dir: Path, names: Iterable[str] = FEATURES) -> dict[str, dict[str, Dataset]]:
    """The splits of every config in ``names``, built by ``DistillRecDial`` from the run folder."""
    from distillrecdial_kit.distillrecdial import DistillRecDial

    built: dict[str, dict[str, Dataset]] = {}
    for name in names:
        builder = DistillRecDial(config_name=name, data_dir=str(run), cache_dir=str(cache_dir / name))
        builder.download_and_prepare()
        built[name] = {}
        for split in builder.info.splits or {}:
            try:
                built[name][split] = builder.as_dataset(split=split)
            except ValueError:  # a split with no rows (e.g. no valid test dialogue yet): keep it, empty
                built[name][split] = empty(name)
        for split in ("train", "validation", "test") if name in ("raw", "sft", "crslab", "walks") else ("train",):
            built[name].setdefault(split, empty(name))
    return built


def write_parquet(built: dict[str, dict[str, Dataset]], folder: Path) -> dict[str, dict[str, Any]]:
    """Write each split's parquet file; return what the card's YAML needs per config."""
    configs: dict[str, dict[str, Any]] = {}
    for name, splits in built.items():
        configs[name] = {"features": FEATURES[name], "splits": {}}
        for split, dataset in splits.items():
            path = folder / "data" / name / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            dataset.to_parquet(str(path))
            configs[name]["splits"][split] = (dataset.num_rows, dataset.data.nbytes)
    return configs


def swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging`` (two renames; the old folder is removed after)."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def staging_dir(target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
