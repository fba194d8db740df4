"""One JSONL reader for every stage: bad lines are skipped, counted and named; nothing is silently cut.

Each line is one record. A line that is not JSON, not an object, or lacks a
field the reader needs is skipped and recorded as a
:class:`~pipeline.problems.Problem` (file:line: reason (field)); every other
line is still read, so one bad line costs one record. The only line treated
differently is a *torn last line* — the file ends without a newline in the
middle of a record, which is what a writer killed mid-``write`` leaves —
reported as ``torn_last_line`` (and cut away by :func:`generation.raw_store.open_shard`,
the only writer that appends). A complete record that merely lacks its final
newline is read as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.pipeline.problems import Problem, ProblemLog

#: ``check(record)`` → ``None`` when the record is usable, else ``(reason, field)``.
Check = Callable[[dict[str, Any]], "tuple[str, str | None] | None"]


@dataclass(frozen=True)
class Line:
    """One non-blank line: where it is, and either its record or its problem."""

    number: int
    start: int  # byte offset of the line
    end: int  # byte offset after it (and its newline, if any)
    record: dict[str, Any] | None
    problem: Problem | None
    complete: bool  # ends with a newline

    @property
    def torn(self) -> bool:
        return self.problem is not None and self.problem.reason == "torn_last_line"


def label_for(path: Path, root: Path | None = None) -> str:
    """How problems name ``path``: relative to ``root`` (the run folder) when inside it, else its name."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def scan_lines(path: Path, label: str | None = None, check: Check | None = None) -> Iterator[Line]:
    """Every non-blank line of ``path``, parsed and checked; never raises for a bad line."""
    name = label or path.name
    offset = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            start, offset = offset, offset + len(raw)
            complete = raw.endswith(b"\n")
            text = raw.strip()
            if not text:
                continue
            record: Any = None
            problem: Problem | None = None
            try:
                record = orjson.loads(text)
            except orjson.JSONDecodeError as err:
                reason = "malformed_json" if complete else "torn_last_line"
                problem = Problem(name, number, reason, detail=str(err).split(":")[0])
            else:
                if not isinstance(record, dict):
                    problem = Problem(name, number, "not_an_object")
                elif check is not None and (bad := check(record)) is not None:
                    problem = Problem(name, number, bad[0], bad[1])
            if problem is not None:
                record = None
            yield Line(number, start, offset, record, problem, complete)


class JsonlReader:
    """Iterate the usable records of a JSONL file; the skipped lines land in ``problems``.

    ``for record in reader`` yields records; :meth:`numbered` yields
    ``(line_number, record)``. ``records`` counts what was yielded.
    """

    def __init__(
        self,
        path: Path,
        label: str | None = None,
        check: Check | None = None,
        problems: ProblemLog | None = None,
    ) -> None:
        self.path = path
        self.label = label or path.name
        self.check = check
        self.problems = problems if problems is not None else ProblemLog()
        self.records = 0

    def numbered(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for line in scan_lines(self.path, self.label, self.check):
            if line.problem is not None:
                self.problems.add(line.problem)
                continue
            self.records += 1
            assert line.record is not None
            yield line.number, line.record

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for _, record in self.numbered():
            yield record


def read_jsonl(
    path: Path, label: str | None = None, check: Check | None = None, problems: ProblemLog | None = None
) -> list[dict[str, Any]]:
    """All usable records of ``path`` (bad lines go to ``problems``)."""
    return list(JsonlReader(path, label, check, problems))


# -- checks -----------------------------------------------------------------------------------------------


def is_type(value: object, kind: type | tuple[type, ...]) -> bool:
    """``isinstance`` where a bool is not a number."""
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        return False
    return isinstance(value, kind)


def require(**fields: type | tuple[type, ...]) -> Check:
    """A check that each field is present, not null, and of its type (``missing_field`` / ``bad_type``)."""

    def check(record: dict[str, Any]) -> tuple[str, str | None] | None:
        for name, kind in fields.items():
            value = record.get(name)
            if value is None:
                return "missing_field", name
            if not is_type(value, kind):
                return "bad_type", name
        return None

    return check
