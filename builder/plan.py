"""The build plan: every raw dialogue validated and assigned a split, computed once per build.

``RUN/build/plan.jsonl`` holds one `raw` row per dialogue plus its ``split``.
Every dialogue config is a projection of it, streamed once by `build`, and the
`report` stage reads it for each dialogue's validity and split, so the expensive
work — parsing, validation, catalog checks — happens once. Only the light part
of each row (no prompt, no model text) stays in memory, for the card.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.builder.rows import raw_row
from distillrecdial_kit.builder.splits import assign_splits
from distillrecdial_kit.builder.validate import validate_record
from distillrecdial_kit.generation.raw_store import raw_reader
from distillrecdial_kit.generation.title_tags import Candidate
from distillrecdial_kit.pipeline.atomic import atomic_path
from distillrecdial_kit.pipeline.background import batches, context, ordered_map
from distillrecdial_kit.pipeline.collector import collect_rarely
from distillrecdial_kit.pipeline.console import progress
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import BUILD_DIR, RunLayout, read_items
from distillrecdial_kit.pipeline.layout import PLAN_FILE as PLAN_NAME
from distillrecdial_kit.pipeline.problems import ProblemLog

PLAN_FILE = Path(BUILD_DIR) / PLAN_NAME
ROLES_ORDER = ("student", "teacher")
#: Raw files from this size on (about 5,000 dialogues) are validated by worker processes, when allowed some.
PARALLEL_VALIDATION_BYTES = 20 << 20
#: Records per validation task sent to a worker process.
VALIDATE_CHUNK = 500


def load_items(run: Path) -> list[dict[str, Any]]:
    """The catalog's rows (every column), as the configs' rows are built from them."""
    return read_items(run).to_dicts()


def default_roles(run: Path) -> list[str]:
    """The student's corpus when there is one, else the teacher's."""
    present = [r for r in ROLES_ORDER if RunLayout(run).raw_dialogues(r).exists()]
    if not present:
        raise StageError(f"no raw dialogues in {run / 'raw'}; run `distillrecdial generate` first")
    return present[:1]


#: What stays on disk of a plan row: the texts (the card's statistics need only each turn's word count).
_HEAVY_FIELDS = ("prompt", "response", "turns", "history")


@dataclass
class Plan:
    """A finished plan: ``RUN/build/plan.jsonl`` on disk, and in memory only what the card needs of each row."""

    path: Path
    #: every plan row without its texts (see :func:`light`), in plan order: the card's statistics
    rows: list[dict[str, Any]]
    #: user_id → split
    splits: dict[str, str]

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)

    def roles(self) -> list[str]:
        """The roles of the planned dialogues, in plan order."""
        return list(dict.fromkeys(row["generator"]["role"] for row in self.rows))

    def publish(self, run: Path) -> None:
        """Move the plan to ``RUN/build/plan.jsonl`` (one rename), where `report` and the next build find it."""
        target = run / PLAN_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)
        self.path = target

    def full_row(self, dialogue_id: str) -> dict[str, Any]:
        """One plan row with its texts, read back from disk (the card's example dialogue)."""
        index = next(i for i, row in enumerate(self.rows) if row["dialogue_id"] == dialogue_id)
        with open(self.path, "rb") as handle:
            return orjson.loads(next(itertools.islice(handle, index, None)))

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """Every full plan row (with its prompt and response) in plan order, read back from disk one at a time."""
        with open(self.path, "rb") as handle:
            for line in handle:
                yield orjson.loads(line)


def light(row: dict[str, Any]) -> dict[str, Any]:
    """A plan row without its texts (prompt, model text, turns, history): ids, persona, generator, validity,
    problems, and ``turn_words``, the number of words of each turn (what the card's statistics use)."""
    out = {key: value for key, value in row.items() if key not in _HEAVY_FIELDS}
    out["turn_words"] = [len(turn["content"].split()) for turn in row["turns"]]
    return out


#: What validation reads of a raw record (of its prompt, only the last message: the items it showed).
_VALIDATION_INPUT = ("prompt", "response", "problems", "target_item", "history", "persona")


def _validation(record: dict[str, Any], catalog: dict[str, Candidate]) -> tuple[list[dict[str, str]], list[str]]:
    """The record's turns as the build parses them, and its problems (empty: valid)."""
    parsed = validate_record(record, catalog)
    return [{"role": t.role, "content": t.content} for t in parsed.turns], parsed.problems


def _for_validation(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a validation worker is sent of each record: :data:`_VALIDATION_INPUT`, the prompt's last message."""
    slim = []
    for record in records:
        fields = {key: record[key] for key in _VALIDATION_INPUT if key in record}
        fields["prompt"] = record["prompt"][-1:]
        slim.append(fields)
    return slim


#: The catalog of a validation worker process (set once per worker, not sent with every chunk).
_WORKER_CATALOG: dict[str, Candidate] = {}


def _start_worker(catalog: dict[str, Candidate]) -> None:
    collect_rarely()
    _WORKER_CATALOG.update(catalog)


def _validate_chunk(records: list[dict[str, Any]]) -> list[tuple[list[dict[str, str]], list[str]]]:
    return [_validation(record, _WORKER_CATALOG) for record in records]


def _unique_records(run: Path, roles: list[str], skipped: ProblemLog | None) -> Iterator[dict[str, Any]]:
    """Every raw record of ``roles`` in file order, the first of each ``dialogue_id`` only; a bad line of a raw
    file is skipped into ``skipped`` (file:line: reason), never the end of reading."""
    seen: set[str] = set()
    for role in roles:
        source = RunLayout(run).raw_dialogues(role)
        if not source.exists():
            raise StageError(f"{source} not found; run `distillrecdial generate --role {role}` (and merge) first")
        for record in raw_reader(source, run, skipped):
            if record["dialogue_id"] not in seen:
                seen.add(record["dialogue_id"])
                yield record


def _validated_rows(
    run: Path, roles: list[str], skipped: ProblemLog | None, workers: int = 1
) -> Iterator[dict[str, Any]]:
    """Every raw dialogue of ``roles`` validated into a `raw` row, in file order; duplicates of an id dropped.

    A large corpus is validated by ``workers`` processes, :data:`VALIDATE_CHUNK` records per task, the rows
    coming back in file order (the same rows as one process gives).
    """
    catalog = {i["item_id"]: Candidate(i["item_id"], i["title"], i["year"]) for i in load_items(run)}
    records = _unique_records(run, roles, skipped)
    size = sum(p.stat().st_size for r in roles if (p := RunLayout(run).raw_dialogues(r)).exists())
    if workers < 2 or size < PARALLEL_VALIDATION_BYTES:
        for record in records:
            yield raw_row(record, *_validation(record, catalog))
        return
    chunks = batches(records, VALIDATE_CHUNK)
    with context().Pool(workers, initializer=_start_worker, initargs=(catalog,)) as pool:
        for chunk, results in ordered_map(pool, _validate_chunk, chunks, 2 * workers, send=_for_validation):
            for record, (turns, problems) in zip(chunk, results, strict=True):
                yield raw_row(record, turns, problems)


def user_splits(rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    """user_id → split, stratified by the user's persona and the validity of each of their dialogues."""
    strata: dict[str, tuple] = {}
    for row in rows:
        persona, validity = strata.get(row["user_id"], (row["persona"], ()))
        strata[row["user_id"]] = (persona, (*validity, row["valid"]))
    return assign_splits(strata)


def make_plan(run: Path, roles: list[str], workdir: Path, skipped: ProblemLog | None = None, workers: int = 1) -> Plan:
    """Validate every raw dialogue of ``roles`` and assign splits, streaming; the plan is written in ``workdir``.

    Two passes over disk, never the corpus in memory: the validated rows go to a spool file (their split
    needs every user's rows first), then each spooled line gets its split appended on its way to the plan.
    The plan reaches ``RUN/build/plan.jsonl`` only with :meth:`Plan.publish`, once the build accepts it.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / PLAN_NAME
    rows: list[dict[str, Any]] = []
    fd, name = tempfile.mkstemp(prefix=f".{PLAN_NAME}.spool.{os.getpid()}.", suffix=".tmp", dir=workdir)
    spool = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            validated = _validated_rows(run, roles, skipped, workers)
            for row in progress(validated, desc="build: validate", unit="dlg", disable=None):
                handle.write(orjson.dumps(row) + b"\n")
                rows.append(light(row))
        splits = user_splits(rows)
        for row in rows:
            row["split"] = splits[row["user_id"]]
        with atomic_path(path) as tmp, open(spool, "rb") as source, open(tmp, "wb") as target:
            for line, row in zip(source, rows, strict=True):
                # orjson writes compact JSON, so appending the key before the closing brace gives the bytes of
                # the row dumped with its split, without parsing a few KB of prompt per dialogue again.
                target.write(line[:-2] + b',"split":' + orjson.dumps(row["split"]) + b"}\n")
    finally:
        spool.unlink(missing_ok=True)
    return Plan(path, rows, splits)
