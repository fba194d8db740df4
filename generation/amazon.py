"""Readers for the Amazon Reviews 2023 review and item-meta JSONL files.

They keep only the columns `prepare` needs and turn every bad line into a
:class:`~pipeline.problems.Problem` instead of an exception. Blocks of lines
are parsed natively (see :mod:`generation.jsonl_columns`); ``parse_review`` and
``parse_meta`` are the per-line rules that decide every row the native path
does not vouch for, so both paths give the same rows and problems. Review texts
stay on disk: each row keeps its line's byte offset for the second pass.
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
import pyarrow.compute as pc

from distillrecdial_kit.generation.block_scan import BlockScan
from distillrecdial_kit.generation.jsonl_columns import ColumnSpec, read_columns, visible_ends
from distillrecdial_kit.generation.line_scan import LineScan, compression
from distillrecdial_kit.pipeline.problems import Problem, ProblemLog

REVIEW_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("rating", pa.float32()),
        ("timestamp", pa.int64()),
        ("line", pa.int64()),
        ("offset", pa.int64()),
    ]
)

META_SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),
        ("amazon_title", pa.string()),
        ("store", pa.string()),
        ("average_rating", pa.float32()),
        ("rating_number", pa.int64()),
        ("amazon_title_length", pa.int64()),
        ("line", pa.int64()),
        ("offset", pa.int64()),
    ]
)

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


def _review_columns(table: pa.Table) -> list[pa.Array]:
    return [
        table["user_id"],
        table["parent_asin"],
        pc.cast(table["rating"], pa.float32()),
        table["timestamp"],
    ]


def _clean_review(table: pa.Table) -> pa.Array:
    """Rows whose values need none of :func:`parse_review`'s rules (no strip, no conversion, no problem)."""
    rating, stamp = table["rating"], table["timestamp"]
    return pc.and_(
        pc.and_(visible_ends(table["user_id"]), visible_ends(table["parent_asin"])),
        pc.fill_null(
            pc.and_(
                pc.and_(pc.greater_equal(rating, 1.0), pc.less_equal(rating, 5.0)),
                pc.and_(pc.greater_equal(stamp, SECONDS_BELOW), pc.less(stamp, LATEST_MS)),
            ),
            False,
        ),
    ).combine_chunks()


REVIEW_COLUMNS = ColumnSpec(
    json_schema=pa.schema(
        [("user_id", pa.string()), ("parent_asin", pa.string()), ("rating", pa.float64()), ("timestamp", pa.int64())]
    ),
    schema=REVIEW_SCHEMA,
    clean=_clean_review,
    convert=_review_columns,
    parse_line=parse_review,
    note_examples=NOTE_EXAMPLES,
)


def read_reviews(path: Path, problems: ProblemLog) -> tuple[pa.Table, BlockScan]:
    """All usable review lines of ``path`` as an Arrow table (see ``REVIEW_SCHEMA``)."""
    return read_columns(path, REVIEW_COLUMNS, problems, desc=f"reviews {path.name}")


def parse_meta(raw: bytes, file: str, line: int) -> tuple[tuple | None, Problem | None]:
    """One meta line → ``(parent_asin, title, store, average_rating, rating_number, raw title length)``.

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
    title = record.get("title")
    return (
        item,
        _nonempty_str(title),
        _nonempty_str(record.get("store")),
        average,
        None if count is None else int(count),
        len(title) if isinstance(title, str) else None,
    ), problem


def _meta_columns(table: pa.Table) -> list[pa.Array]:
    return [
        table["parent_asin"],
        table["title"],
        table["store"],
        pc.cast(table["average_rating"], pa.float32()),
        table["rating_number"],
        pc.cast(pc.utf8_length(table["title"]), pa.int64()),
    ]


def _clean_meta(table: pa.Table) -> pa.Array:
    """Rows whose values need none of :func:`parse_meta`'s rules (no strip, no dropped number)."""
    average, count = table["average_rating"], table["rating_number"]

    def absent_or(column: pa.ChunkedArray, test: pa.ChunkedArray) -> pa.ChunkedArray:
        return pc.or_(pc.is_null(column), pc.fill_null(test, False))

    return pc.and_(
        pc.and_(
            visible_ends(table["parent_asin"]),
            pc.and_(
                absent_or(table["title"], visible_ends(table["title"])),
                absent_or(table["store"], visible_ends(table["store"])),
            ),
        ),
        pc.and_(
            absent_or(average, pc.and_(pc.greater_equal(average, 0.0), pc.less_equal(average, 5.0))),
            absent_or(count, pc.and_(pc.greater_equal(count, 0), pc.less_equal(count, MAX_RATING_NUMBER))),
        ),
    ).combine_chunks()


META_COLUMNS = ColumnSpec(
    json_schema=pa.schema(
        [
            ("parent_asin", pa.string()),
            ("title", pa.string()),
            ("store", pa.string()),
            ("average_rating", pa.float64()),
            ("rating_number", pa.int64()),
        ]
    ),
    schema=META_SCHEMA,
    clean=_clean_meta,
    convert=_meta_columns,
    parse_line=parse_meta,
)


def read_meta(path: Path, problems: ProblemLog) -> tuple[pa.Table, BlockScan]:
    """The item-meta file as an Arrow table (see ``META_SCHEMA``)."""
    return read_columns(path, META_COLUMNS, problems, desc=f"meta {path.name}")


_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]{0,200}>")


def clean_review_text(text: str | None) -> str | None:
    """Review text as a reader sees it: ``<br />`` → newline, other HTML tags dropped, entities decoded."""
    if text is None:
        return None
    text = _TAG.sub("", _BREAK.sub("\n", text))
    text = "\n".join(" ".join(line.split()) for line in html.unescape(text).splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip() or None


def _texts_of(raw: bytes) -> tuple[str | None, str | None]:
    record = orjson.loads(raw)
    return clean_review_text(_nonempty_str(record.get("title"))), clean_review_text(_nonempty_str(record.get("text")))


def read_review_texts(
    path: Path, wanted_lines: Iterable[int], offsets: Iterable[int] | None = None
) -> dict[int, tuple[str | None, str | None]]:
    """``{line: (review_title, review_text)}`` for just the lines asked for.

    A second, parse-light pass: only the few lines whose text reaches a prompt
    are decoded, so the dump's review texts never sit in memory together. With
    the lines' byte ``offsets`` (from :func:`read_reviews`) a plain file is
    read by seeking to each line; otherwise (or for gzip) the file is scanned.
    """
    lines = np.fromiter(wanted_lines, dtype=np.int64)
    texts: dict[int, tuple[str | None, str | None]] = {}
    if lines.size == 0:
        return texts
    if offsets is not None and compression(path) is None:
        starts = np.fromiter(offsets, dtype=np.int64)
        order = np.argsort(starts, kind="stable")
        with open(path, "rb") as handle:
            for line_no, start in zip(lines[order].tolist(), starts[order].tolist(), strict=True):
                handle.seek(start)
                texts[line_no] = _texts_of(handle.readline())
        return texts
    wanted = np.unique(lines)
    position = 0
    for line_no, raw in LineScan(path, desc=f"review texts {path.name}", hash_content=False):
        if line_no < wanted[position]:
            continue
        texts[line_no] = _texts_of(raw)
        position += 1
        if position == wanted.size:
            break
    return texts
