"""Loading what `evaluate` reads: a built run's Hub folder (RUN/hub), any local folder with the same layout, or a
Hub dataset repo through ``datasets.load_dataset``.

Configs used: ``crslab`` (the dialogues, with the item ids each utterance mentions), ``raw`` (each user's
history, for collaborative methods), ``items`` (the catalog every method ranks). When the run folder also holds
``interactions.parquet`` (prepare's k-core), collaborative methods use it, minus every held-out target (the
``target`` interaction of each user whose dialogue is not in the train split).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import INTERACTIONS_FILE, RunLayout

__all__ = ["EvalData", "load_data"]

CONFIGS = ("crslab", "raw", "items")
OPTIONAL_CONFIGS = ("walks",)  # read when the dataset has them (`distillrecdial walks` ran)


@dataclass
class EvalData:
    """The configs of one dataset, split by split, as polars frames."""

    source: str
    items: pl.DataFrame
    crslab: dict[str, pl.DataFrame]
    raw: dict[str, pl.DataFrame]
    interactions: pl.DataFrame | None = None
    walks: dict[str, pl.DataFrame] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    location: str | None = None  # the Hub-layout folder, when local

    @property
    def item_ids(self) -> list[str]:
        return self.items["item_id"].to_list()


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _read_folder(folder: Path) -> tuple[dict[str, dict[str, pl.DataFrame]], dict[str, str]]:
    configs: dict[str, dict[str, pl.DataFrame]] = {}
    fingerprints: dict[str, str] = {}
    for name in (*CONFIGS, *OPTIONAL_CONFIGS):
        configs[name] = {}
        for path in sorted((folder / "data" / name).glob("*.parquet")):
            split = path.name.split("-", 1)[0]
            try:
                frame = pl.read_parquet(path)
            except Exception as err:  # polars raises several kinds for a damaged file
                raise StageError(f"{path}: cannot read parquet: {str(err).splitlines()[0]}") from err
            configs[name][split] = pl.concat([configs[name][split], frame]) if split in configs[name] else frame
            fingerprints[f"{name}/{path.name}"] = _sha(path)
    return configs, fingerprints


def _read_hub(repo: str) -> dict[str, dict[str, pl.DataFrame]]:
    import datasets

    configs: dict[str, dict[str, pl.DataFrame]] = {}
    for name in CONFIGS:
        try:
            loaded = datasets.load_dataset(repo, name)
        except Exception as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise StageError(f"{repo}: cannot load config {name!r}: {first}") from err
        configs[name] = {split: pl.from_arrow(ds.data.table) for split, ds in loaded.items()}
    for name in OPTIONAL_CONFIGS:
        try:
            loaded = datasets.load_dataset(repo, name)
        except ValueError:  # the repo does not publish this config
            continue
        configs[name] = {split: pl.from_arrow(ds.data.table) for split, ds in loaded.items()}
    return configs


def _need(configs: dict[str, dict[str, pl.DataFrame]], where: str) -> None:
    for name in CONFIGS:
        if not configs.get(name):
            raise StageError(f"{where}: no {name!r} config (build the run first: `distillrecdial build --run RUN`)")


def load_data(run: Path | None = None, dataset: str | None = None) -> EvalData:
    """The dataset of a built run (``RUN/hub``) or of ``dataset`` (a local folder or a Hub repo id)."""
    interactions = None
    if dataset is None:
        if run is None:
            raise StageError("give --run RUN or --dataset FOLDER_OR_REPO")
        hub = RunLayout(run).hub
        if not (hub / "data").is_dir():
            raise StageError(f"{hub}: no built dataset (run `distillrecdial build --run {run}` first)")
        configs, fingerprints = _read_folder(hub)
        _need(configs, str(hub))
        location = str(hub)
        source = "run"
        path = run / INTERACTIONS_FILE
        if path.is_file():
            interactions = pl.read_parquet(path, columns=["user_id", "item_id", "role"])
            fingerprints[INTERACTIONS_FILE] = _sha(path)
    else:
        folder = Path(dataset)
        if (folder / "data").is_dir():
            configs, fingerprints = _read_folder(folder)
            location = str(folder)
        else:
            configs, fingerprints = _read_hub(dataset), {}
            location = None
        _need(configs, dataset)
        source = dataset if not folder.exists() else "folder"
    items = pl.concat(list(configs["items"].values()))
    items = items.unique("item_id", keep="first", maintain_order=True).sort("item_id")
    return EvalData(
        source=source,
        items=items,
        crslab=configs["crslab"],
        raw=configs["raw"],
        interactions=interactions,
        walks=configs.get("walks") or {},
        fingerprints=dict(sorted(fingerprints.items())),
        location=location,
    )


def split_rows(frames: dict[str, pl.DataFrame], split: str, where: str) -> list[dict[str, Any]]:
    """The rows of one split (an error naming the splits there are when it is missing)."""
    if split not in frames:
        raise StageError(f"{where}: no split {split!r} (there are: {', '.join(sorted(frames))})")
    return frames[split].to_dicts()
