"""Append-only storage of raw dialogue records, safe against kills and split across machines.

Each shard of a `generate` run appends to its own JSONL file under
``RUN/raw/<role>/``. A record is one line, written with a single ``write`` and
flushed, so a kill can at worst leave one torn last line: :func:`open_shard`
cuts exactly that away and reports which ids are already done, so a rerun does
exactly the rest. A bad line anywhere else is not a torn tail: it is skipped
and counted, its dialogue redone, and nothing after it is touched.
:func:`merge_shards` joins the shard files into ``dialogues.jsonl`` and rejects
duplicate ids. Every reader of raw records goes through :func:`raw_problem`,
so a record is usable everywhere or skipped (and named) everywhere.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.generation.personas import PERSONA_BY_ID
from distillrecdial_kit.pipeline.atomic import atomic_path, remove_stale_temps
from distillrecdial_kit.pipeline.faults import armed, failpoint
from distillrecdial_kit.pipeline.jsonl import Check, JsonlReader, is_type, label_for, scan_lines
from distillrecdial_kit.pipeline.layout import MERGED_FILE as MERGED_NAME
from distillrecdial_kit.pipeline.problems import Problem, ProblemLog
from distillrecdial_kit.pipeline.seeded import stable_int


def shard_name(index: int, count: int) -> str:
    return f"shard-{index:05d}-of-{count:05d}.jsonl"


def shard_of(key: str, count: int) -> int:
    """The shard a prompt belongs to: stable across machines, orderings and Python processes."""
    return stable_int(key) % count


def raw_problem(record: dict[str, Any]) -> tuple[str, str | None] | None:
    """Why a raw record cannot be used (``(reason, field)``), or ``None``: what every reader needs of it."""
    for name in ("dialogue_id", "user_id", "target_item"):
        value = record.get(name)
        if value is None:
            return "missing_field", name
        if not isinstance(value, str) or not value:
            return "bad_type", name
    persona = record.get("persona")
    if persona is None:
        return "missing_field", "persona"
    if not isinstance(persona, str) or persona not in PERSONA_BY_ID:
        return "bad_value", "persona"
    for name, kind in (("response", str), ("history", list), ("prompt", list), ("generator", dict)):
        value = record.get(name)
        if value is None:
            return "missing_field", name
        if not isinstance(value, kind):
            return "bad_type", name
    for entry in record["history"]:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("item_id"), str)
            and is_type(entry.get("rating"), (int, float))
        ):
            return "bad_type", "history"
    prompt = record["prompt"]
    if not prompt or not all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in prompt
    ):
        return "bad_type", "prompt"
    return None


def _run_of(path: Path) -> Path:
    """The run folder of a file in ``RUN/raw/<role>/`` (or ``RUN/raw/walks/<role>/``)."""
    for folder in path.parents:
        if folder.name == "raw":
            return folder.parent
    return path.parent


def raw_reader(path: Path, run: Path | None = None, problems: ProblemLog | None = None) -> JsonlReader:
    """A reader of raw dialogue (or walk) records whose problems name ``path`` relative to ``run``."""
    return JsonlReader(path, label_for(path, run), raw_problem, problems)


def read_records(
    path: Path, run: Path | None = None, problems: ProblemLog | None = None, check: Check | None = None
) -> Iterator[dict[str, Any]]:
    """The records of a JSONL store; bad lines are skipped (into ``problems`` when given), never the end.

    ``check=raw_problem`` also skips raw dialogue records a stage could not use (as :func:`raw_reader`).
    """
    yield from JsonlReader(path, label_for(path, run), check, problems)


@dataclass
class ShardState:
    """What a shard file already holds when a run (re)starts."""

    done: set[str]
    torn_bytes: int
    bad: list[Problem] = field(default_factory=list)
    valid: int = 0
    problems: Counter[str] = field(default_factory=Counter)

    def totals(self, written: int, valid: int, problems: Counter[str] | dict[str, int]) -> dict[str, Any]:
        """The shard file as it is after a run that added ``written`` records: cumulative across resumes."""
        merged = Counter(self.problems)
        merged.update(problems)
        return {
            "records": len(self.done) + written,
            "valid": self.valid + valid,
            "problems": dict(sorted(merged.items())),
            "bad_lines": len(self.bad),
        }


def open_shard(path: Path, run: Path | None = None, key: str = "dialogue_id", check: Check = raw_problem) -> ShardState:
    """Repair a shard file after a kill (drop a torn tail) and return the ids it holds.

    Temporary files killed writers left beside it are removed. A bad line
    that is not the torn tail is left in place, listed in ``bad`` and its
    record counts as not done. ``key`` and ``check`` make it serve any
    append-only store of this shape (``rationales`` keys on ``rationale_id``).
    """
    remove_stale_temps(path.parent)
    state = ShardState(done=set(), torn_bytes=0)
    if not path.exists():
        return state
    cut: int | None = None
    label = label_for(path, run if run is not None else _run_of(path))
    for line in scan_lines(path, label, check):
        if line.torn:
            cut = line.start
        elif line.problem is not None:
            state.bad.append(line.problem)
        else:
            assert line.record is not None
            if line.record[key] not in state.done:
                state.done.add(line.record[key])
                state.valid += bool(line.record.get("valid"))
                state.problems.update(str(p).split(":")[0] for p in line.record.get("problems") or ())
    with open(path, "r+b") as handle:
        if cut is not None:
            state.torn_bytes = path.stat().st_size - cut
            handle.truncate(cut)
        end = handle.seek(0, os.SEEK_END)
        if end:
            handle.seek(end - 1)
            if handle.read(1) != b"\n":  # a last line that lost only its newline: end it, so the next record
                handle.write(b"\n")  # starts a line of its own

    return state


class ShardWriter:
    """Appends records to a shard file, one durable line each."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(path, "ab")  # noqa: SIM115 - held open across batches, closed by close()

    def write(self, records: Iterable[dict[str, Any]]) -> int:
        count = 0
        for record in records:
            line = orjson.dumps(record) + b"\n"
            if count == 0 and armed("shard.mid_record"):
                self._handle.write(line[: len(line) // 2])
                self._handle.flush()
                failpoint("shard.mid_record")  # a kill here leaves a torn last line
                self._handle.write(line[len(line) // 2 :])
            else:
                self._handle.write(line)
            count += 1
        self._handle.flush()
        os.fsync(self._handle.fileno())
        failpoint("shard.after_batch")
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
    skipped: list[Problem] = field(default_factory=list)  # bad lines of the shard files


def merge_shards(role_dir: Path, order: dict[tuple[str, str], int] | None = None) -> MergeResult:
    """Join every shard file of ``role_dir`` into ``dialogues.jsonl`` (atomically).

    The first occurrence of a ``dialogue_id`` wins; later ones are rejected and
    reported. Bad lines are skipped and reported. Records are written in
    ``order`` — a rank per (user, persona), normally the prompts' order — then
    by id, so the merged file does not depend on how the work was sharded.
    """
    shards = sorted(role_dir.glob("shard-*-of-*.jsonl"))
    rank = order or {}
    kept: dict[str, tuple[tuple[int, str], bytes]] = {}
    duplicates: list[tuple[str, str]] = []
    skipped = ProblemLog()
    for shard in shards:
        for record in raw_reader(shard, _run_of(shard), skipped):
            key = record["dialogue_id"]
            if key in kept:
                duplicates.append((key, shard.name))
            else:
                position = rank.get((record["user_id"], record["persona"]), len(rank))
                kept[key] = ((position, key), orjson.dumps(record))
    with atomic_path(role_dir / MERGED_NAME) as tmp, open(tmp, "wb") as handle:
        for _, line in sorted(kept.values()):
            handle.write(line + b"\n")
    return MergeResult(
        records=len(kept), duplicates=duplicates, shards=[s.name for s in shards], skipped=skipped.records
    )


def prompt_order(prompts: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Rank of each (user, persona) in the prompts file: the order merged dialogues follow."""
    return {(p["user_id"], p["persona"]): n for n, p in enumerate(prompts)}
