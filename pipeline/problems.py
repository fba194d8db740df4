"""Counting and reporting bad input records without stopping the run.

One bad line in a dump of millions must never kill a stage: it is recorded
with file, line and field, counted by reason, and the run goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.pipeline.atomic import atomic_path


@dataclass(frozen=True)
class Problem:
    """One bad record: where it is and what is wrong with it."""

    file: str
    line: int
    reason: str
    field: str | None = None
    detail: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        what = self.reason if self.field is None else f"{self.reason} ({self.field})"
        return f"{where}: {what}" + (f": {self.detail}" if self.detail else "")


class ProblemLog:
    """Collects problems; keeps counts per reason and every listed record for the log file.

    A problem added with ``listed=False`` is only counted: for notes that may
    concern every line of a dump (a timestamp converted from seconds), where a
    few listed examples say enough.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.records: list[Problem] = []

    def add(self, problem: Problem, listed: bool = True) -> None:
        self.counts[problem.reason] += 1
        if listed:
            self.records.append(problem)

    def extend(self, problems: ProblemLog | Iterable[Problem]) -> None:
        if isinstance(problems, ProblemLog):
            self.counts.update(problems.counts)
            self.records.extend(problems.records)
            return
        for problem in problems:
            self.add(problem)

    def __len__(self) -> int:
        return sum(self.counts.values())

    def unlisted(self) -> dict[str, int]:
        """Counts of the problems that were counted but not listed, per reason."""
        listed = Counter(p.reason for p in self.records)
        return {reason: n - listed[reason] for reason, n in sorted(self.counts.items()) if n > listed[reason]}

    def to_json(self) -> dict[str, Any]:
        return {"problems": [asdict(p) for p in self.records], "unlisted": self.unlisted()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProblemLog:
        log = cls()
        for problem in data.get("problems", []):
            log.add(Problem(**problem))
        log.counts.update(data.get("unlisted", {}))
        return log

    def summary(self, examples: int = 5) -> dict[str, Any]:
        """Counts per reason and the first few examples of each, for the manifest."""
        shown: dict[str, list[str]] = {}
        for problem in self.records:
            bucket = shown.setdefault(problem.reason, [])
            if len(bucket) < examples:
                bucket.append(str(problem))
        return {"counts": dict(sorted(self.counts.items())), "examples": shown}

    def brief(self, examples: int = 3) -> str:
        """One line for a stage's summary: how many, and the first few (file:line: reason)."""
        return describe(self.summary(examples), examples)

    def write_jsonl(self, path: Path) -> None:
        """Every listed problem, one JSON object per line, written atomically."""
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            for problem in self.records:
                handle.write(orjson.dumps(asdict(problem)) + b"\n")


def describe(summary: dict[str, Any], examples: int = 3) -> str:
    """A :meth:`ProblemLog.summary` (as stored in the manifest) as one line: how many, and the first few."""
    total = sum(summary["counts"].values())
    if not total:
        return "none"
    shown = [example for listed in summary["examples"].values() for example in listed][:examples]
    more = f"; {total - len(shown):,} more" if total > len(shown) else ""
    return f"{total:,} ({'; '.join(shown)}{more})"
