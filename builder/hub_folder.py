"""Writing the Hub-ready folder: ``data/<config>/<split>-00000-of-00001.parquet`` plus the README card.

Rows arrive one at a time (the build streams its plan) and are written in
batches of :data:`BATCH` rows to an Arrow stream per split, the file shape
`datasets`' own writer gives a builder's cache; at the end `datasets` turns each
stream into the split's parquet file with its usual settings (row groups,
content-defined chunking, page index), so the bytes are those
``Dataset.to_parquet`` writes. The folder is assembled beside the old one and
swapped in at the end: a killed build leaves the previous folder intact.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
from datasets import Dataset, DatasetInfo, Features

from distillrecdial_kit.distillrecdial import DATA_FILE, FEATURES, config_splits

#: Rows per Arrow record batch: `datasets`' writer batch (``config.DEFAULT_MAX_BATCH_SIZE``), so each split's
#: table, and so its ``nbytes`` in the card's ``dataset_info``, is chunked as a builder's cache would be.
BATCH = 1000


def encode_batch(rows: list[dict[str, Any]], features: Features) -> pa.Table:
    """``rows`` as an Arrow table of ``features``' schema.

    Plain rows convert straight through Arrow (C++); a batch Arrow refuses (an int where a string is
    declared, …) goes through ``Features.encode_example`` first, the coercion a `datasets` builder applies.
    """
    schema = features.arrow_schema
    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return pa.Table.from_pylist([features.encode_example(row) for row in rows], schema=schema)


class SplitWriter:
    """One config's split: rows buffered into :data:`BATCH`-row record batches of an Arrow stream file."""

    def __init__(self, name: str, path: Path) -> None:
        self.features = FEATURES[name]
        self.path = path
        self.rows = 0
        self._pending: list[dict[str, Any]] = []
        path.parent.mkdir(parents=True, exist_ok=True)
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = pa.ipc.new_stream(self._sink, self.features.arrow_schema)

    def add(self, row: dict[str, Any]) -> None:
        self._pending.append(row)
        if len(self._pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(encode_batch(self._pending, self.features))
            self.rows += len(self._pending)
            self._pending = []

    def close(self) -> None:
        self._flush()
        self._writer.close()
        self._sink.close()


class HubWriter:
    """Every config's splits of one build: add rows per (config, split), then :meth:`finish` into parquet.

    ``spool`` holds the Arrow streams (removed by :meth:`finish`); ``folder`` receives ``data/…``.
    """

    def __init__(self, folder: Path, spool: Path, names: Iterable[str]) -> None:
        self.folder = folder
        self.spool = spool
        self.writers: dict[str, dict[str, SplitWriter]] = {
            name: {split: SplitWriter(name, spool / f"{name}-{split}.arrow") for split in config_splits(name)}
            for name in names
        }

    def add(self, name: str, split: str, row: dict[str, Any]) -> None:
        self.writers[name][split].add(row)

    def extend(self, name: str, split: str, rows: Iterable[dict[str, Any]]) -> None:
        writer = self.writers[name][split]
        for row in rows:
            writer.add(row)

    def rows(self, name: str) -> int:
        """Rows written so far to every split of ``name`` (pending ones included)."""
        return sum(w.rows + len(w._pending) for w in self.writers[name].values())

    def drop(self, name: str) -> None:
        """Leave ``name`` out of the folder (an optional config with no rows: an empty split cannot load)."""
        for writer in self.writers.pop(name).values():
            writer.close()
            writer.path.unlink(missing_ok=True)

    def finish(self) -> dict[str, dict[str, Any]]:
        """Write each split's parquet file; return what the card's YAML needs per config.

        ``{name: {"features": Features, "splits": {split: (rows, num_bytes)}}}``.
        """
        configs: dict[str, dict[str, Any]] = {}
        for name, splits in self.writers.items():
            configs[name] = {"features": FEATURES[name], "splits": {}}
            for split, writer in splits.items():
                writer.close()
                dataset = Dataset.from_file(str(writer.path), info=DatasetInfo(features=FEATURES[name]))
                path = self.folder / DATA_FILE.format(config=name, split=split)
                path.parent.mkdir(parents=True, exist_ok=True)
                dataset.to_parquet(str(path))
                configs[name]["splits"][split] = (dataset.num_rows, dataset.data.nbytes)
                del dataset
                writer.path.unlink(missing_ok=True)
        shutil.rmtree(self.spool, ignore_errors=True)
        return configs


def swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` with ``staging`` (two renames; the old folder is removed after)."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
