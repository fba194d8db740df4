"""Append-only storage of raw dialogue records, safe against kills and split across machines.

Each shard of a `generate` run appends to its own JSONL file under
``RUN/raw/<role>/``. A record is one line, written with a single ``write`` and
flushed, so a kill can at worst leave one torn last line: :func:`open_shard`
detects it, truncates it away and reports which ids are already done, so a
rerun does exactly the rest. :func:`merge_shards` joins the shard files into
``dialogues.jsonl`` and rejects duplicate ids.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from pipeline.atomic import atomic_path

MERGED_NAME = "dialogues.jsonl"


def shard_name(index: int, count: int) -> str:
    return f"shard-{index:05d}-of-{count:05d}.jsonl"


def shard_of(key: str, count: int) -> int:
    """The shard a prompt belongs to: stable across machines, orderings and Python processes."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % count


@dataclass
class ShardState:
    """What a shard file already holds when a run (re)starts."""

    done: set[str]
    torn_bytes: int


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Complete records of a JSONL file; a torn last line (no newline or bad JSON) is skipped."""
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                return
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:
                return


def open_shard(path: Path) -> ShardState:
    """Repair a shard file after a kill (drop a torn tail) and return the ids it holds."""
    if not path.exists():
        return ShardState(done=set(), torn_bytes=0)
    done: set[str] = set()
    good_end = 0
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                break
            done.add(record["dialogue_id"])
            good_end += len(line)
    size = path.stat().st_size
    if size > good_end:
        with open(path, "r+b") as handle:
            handle.truncate(good_end)
    return ShardState(done=done, torn_bytes=size - good_end)


class ShardWriter:
    """Appends records to a shard file, one durable line each."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(path, "ab")  # noqa: SIM115 - held open across batches, closed by close()

    def write(self, records: Iterable[dict[str, Any]]) -> int:
        count = 0
        for record in records:
            self._handle.write(orjson.dumps(record) + b"\n")
            count += 1
        self._handle.flush()
        os.fsync(self._handle.fileno())
        return count

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class MergeResult:
    records: int
    duplicates: list[tuple[str, str]]  # (dialogue_id, shard file that repeated it)
    shards: list[str]


def merge_shards(role_dir: Path, order: dict[tuple[str, str], int] | None = None) -> MergeResult:
    """Join every shard file of ``role_dir`` into ``dialogues.jsonl`` (atomically).

    The first occurrence of a ``dialogue_id`` wins; later ones are rejected and
    reported. Records are written in ``order`` — a rank per (user, persona),
    normally the prompts' order — then by id, so the merged file does not
    depend on how the work was sharded.
    """
    shards = sorted(role_dir.glob("shard-*-of-*.jsonl"))
    rank = order or {}
    kept: dict[str, tuple[tuple[int, str], bytes]] = {}
    duplicates: list[tuple[str, str]] = []
    for shard in shards:
        for record in read_records(shard):
            key = record["dialogue_id"]
            if key in kept:
                duplicates.append((key, shard.name))
            else:
                position = rank.get((record["user_id"], record["persona"]), len(rank))
                kept[key] = ((position, key), orjson.dumps(record))
    with atomic_path(role_dir / MERGED_NAME) as tmp, open(tmp, "wb") as handle:
        for _, line in sorted(kept.values()):
            handle.write(line + b"\n")
    return MergeResult(records=len(kept), duplicates=duplicates, shards=[s.name for s in shards])


def prompt_order(prompts: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Rank of each (user, persona) in the prompts file: the order merged dialogues follow."""
    return {(p["user_id"], p["persona"]): n for n, p in enumerate(prompts)}
