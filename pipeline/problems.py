"""Counting and reporting bad input records without stopping the run.

One bad line in a dump of millions must never kill a stage: it is recorded
with file, line and field, counted by reason, and the run goes on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from pipeline.atomic import atomic_path


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
    """Collects problems; keeps counts per reason and every record for the log file."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.records: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.counts[problem.reason] += 1
        self.records.append(problem)

    def extend(self, problems: list[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    def __len__(self) -> int:
        return len(self.records)

    def summary(self, examples: int = 5) -> dict[str, Any]:
        """Counts per reason and the first few examples of each, for the manifest."""
        shown: dict[str, list[str]] = {}
        for problem in self.records:
            bucket = shown.setdefault(problem.reason, [])
            if len(bucket) < examples:
                bucket.append(str(problem))
        return {"counts": dict(sorted(self.counts.items())), "examples": shown}

    def write_jsonl(self, path: Path) -> None:
        """Every problem, one JSON object per line, written atomically."""
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            for problem in self.records:
                handle.write(orjson.dumps(asdict(problem)) + b"\n")
