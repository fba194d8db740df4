"""Readers for the Amazon Reviews 2023 review and item-meta JSONL files.

They keep only the columns `prepare` needs and turn every bad line into a
:class:`~pipeline.problems.Problem` instead of an exception. Columns are
accumulated in Python lists per chunk and frozen into Arrow arrays, so 17M
reviews cost ~70 bytes each in memory rather than a dict apiece.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa

from distillrecdial_kit.generation.line_scan import LineScan
from distillrecdial_kit.pipeline.problems import Problem, ProblemLog

REVIEW_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("rating", pa.float32()),
        ("timestamp", pa.int64()),
        ("line", pa.int64()),
    ]
)

META_SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("amazon_title", pa.string()),
        ("store", pa.string()),
        ("average_rating", pa.float32()),
        ("rating_number", pa.int64()),
        ("line", pa.int64()),
    ]
)

_ROWS_PER_BATCH = 500_000

#: Review timestamps are Unix milliseconds. Below ``SECONDS_BELOW`` a value can only be seconds (1e11 ms is
#: March 1973, 1e11 s is the year 5138) and is converted; at or above ``LATEST_MS`` (the year 2286) or <= 0 it
#: is out of range.
SECONDS_BELOW = 10**11
LATEST_MS = 10**13
#: Listed examples of a note that may concern every line (the rest are only counted).
NOTE_EXAMPLES = 5
#: ``rating_number`` above this is not a count of ratings (and would not fit the int64 column).
MAX_RATING_NUMBER = 10**12


def _nonempty_str(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _as_number(value: object) -> float | None:
    """A finite float from a JSON number or a numeric string; ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def parse_review(raw: bytes, file: str, line: int) -> tuple[tuple[str, str, float, int] | None, Problem | None]:
    """One review line → ``(user_id, parent_asin, rating, timestamp)`` or the problem with it.

    A timestamp in seconds is converted to milliseconds: the row comes back
    together with a ``timestamp_in_seconds`` note.
    """
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        return None, Problem(file, line, "malformed_json", detail=str(err).split(":")[0])
    if not isinstance(record, dict):
        return None, Problem(file, line, "not_an_object")
    user = _nonempty_str(record.get("user_id"))
    if user is None:
        return None, Problem(file, line, "missing_field", "user_id")
    item = _nonempty_str(record.get("parent_asin"))
    if item is None:
        return None, Problem(file, line, "missing_field", "parent_asin")
    if record.get("rating") is None:
        return None, Problem(file, line, "missing_field", "rating")
    rating = _as_number(record["rating"])
    if rating is None or not 1.0 <= rating <= 5.0:
        return None, Problem(file, line, "bad_value", "rating", detail=repr(record["rating"])[:40])
    if record.get("timestamp") is None:
        return None, Problem(file, line, "missing_field", "timestamp")
    timestamp = _as_number(record["timestamp"])
    if timestamp is None or not 0 < timestamp < LATEST_MS:
        return None, Problem(file, line, "bad_value", "timestamp", detail=repr(record["timestamp"])[:40])
    if timestamp < SECONDS_BELOW:
        note = Problem(file, line, "timestamp_in_seconds", "timestamp", detail=f"{record['timestamp']!r}"[:40])
        return (user, item, rating, int(timestamp * 1000)), note
    return (user, item, rating, int(timestamp)), None


def read_reviews(path: Path, problems: ProblemLog) -> tuple[pa.Table, LineScan]:
    """All usable review lines of ``path`` as an Arrow table (see ``REVIEW_SCHEMA``)."""
    scan = LineScan(path, desc=f"reviews {path.name}")
    batches: list[pa.RecordBatch] = []
    users: list[str] = []
    items: list[str] = []
    ratings: list[float] = []
    stamps: list[int] = []
    lines: list[int] = []

    def flush() -> None:
        if lines:
            batches.append(
                pa.RecordBatch.from_arrays(
                    [
                        pa.array(users, pa.string()),
                        pa.array(items, pa.string()),
                        pa.array(ratings, pa.float32()),
                        pa.array(stamps, pa.int64()),
                        pa.array(lines, pa.int64()),
                    ],
                    schema=REVIEW_SCHEMA,
                )
            )
            for column in (users, items, ratings, stamps, lines):
                column.clear()

    name = path.name
    for line_no, raw in scan:
        row, problem = parse_review(raw, name, line_no)
        if row is None:
            assert problem is not None
            problems.add(problem)
            continue
        if problem is not None:  # a note on a kept row: count them all, list a few
            problems.add(problem, listed=problems.counts[problem.reason] < NOTE_EXAMPLES)
        users.append(row[0])
        items.append(row[1])
        ratings.append(row[2])
        stamps.append(row[3])
        lines.append(line_no)
        if len(lines) >= _ROWS_PER_BATCH:
            flush()
    flush()
    return pa.Table.from_batches(batches, schema=REVIEW_SCHEMA), scan


def parse_meta(raw: bytes, file: str, line: int) -> tuple[tuple | None, Problem | None]:
    """One meta line → ``(parent_asin, title, store, average_rating, rating_number)`` or its problem.

    A missing or blank title is not a problem here: the item is kept with a
    null title so the catalog step can count it under its own drop reason.
    An out-of-range ``average_rating`` or ``rating_number`` costs only that
    number: the row comes back with it null, together with a ``bad_value``.
    """
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        return None, Problem(file, line, "malformed_json", detail=str(err).split(":")[0])
    if not isinstance(record, dict):
        return None, Problem(file, line, "not_an_object")
    item = _nonempty_str(record.get("parent_asin"))
    if item is None:
        return None, Problem(file, line, "missing_field", "parent_asin")
    problem = None
    average = _as_number(record.get("average_rating"))
    if average is not None and not 0.0 <= average <= 5.0:
        problem = Problem(file, line, "bad_value", "average_rating", detail=repr(record["average_rating"])[:40])
        average = None
    count = _as_number(record.get("rating_number"))
    if count is not None and not 0 <= count <= MAX_RATING_NUMBER:
        problem = Problem(file, line, "bad_value", "rating_number", detail=repr(record["rating_number"])[:40])
        count = None
    return (
        item,
        _nonempty_str(record.get("title")),
        _nonempty_str(record.get("store")),
        average,
        None if count is None else int(count),
    ), problem


def read_meta(path: Path, problems: ProblemLog) -> tuple[pa.Table, LineScan]:
    """The item-meta file as an Arrow table (see ``META_SCHEMA``)."""
    scan = LineScan(path, desc=f"meta {path.name}")
    rows: list[tuple] = []
    name = path.name
    for line_no, raw in scan:
        row, problem = parse_meta(raw, name, line_no)
        if problem is not None:
            problems.add(problem)
        if row is not None:
            rows.append((*row, line_no))
    columns = list(zip(*rows, strict=False)) if rows else [[] for _ in META_SCHEMA]
    return pa.Table.from_arrays(
        [pa.array(list(col), field.type) for col, field in zip(columns, META_SCHEMA, strict=False)], schema=META_SCHEMA
    ), scan


_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]{0,200}>")


def clean_review_text(text: str | None) -> str | None:
    """Review text as a reader sees it: ``<br />`` → newline, other HTML tags dropped, entities decoded."""
    if text is None:
        return None
    text = _TAG.sub("", _BREAK.sub("\n", text))
    text = "\n".join(" ".join(line.split()) for line in html.unescape(text).splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip() or None


def read_review_texts(path: Path, wanted_lines: Iterable[int]) -> dict[int, tuple[str | None, str | None]]:
    """``{line: (review_title, review_text)}`` for just the lines asked for.

    A second, parse-light pass: only the few lines whose text reaches a prompt
    are decoded, so the dump's review texts never sit in memory together.
    """
    wanted = np.unique(np.fromiter(wanted_lines, dtype=np.int64))
    texts: dict[int, tuple[str | None, str | None]] = {}
    if wanted.size == 0:
        return texts
    position = 0
    for line_no, raw in LineScan(path, desc=f"review texts {path.name}", hash_content=False):
        if line_no < wanted[position]:
            continue
        record = orjson.loads(raw)
        title = clean_review_text(_nonempty_str(record.get("title")))
        texts[line_no] = (title, clean_review_text(_nonempty_str(record.get("text"))))
        position += 1
        if position == wanted.size:
            break
    return texts
