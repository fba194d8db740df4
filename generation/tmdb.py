"""Reader for the TMDB metadata list (``tmdb_movies.json``), keyed by Amazon ``asin``.

TMDB's API shapes are nested (``casts.cast[].name``, ``keywords.keywords[]``,
``genres[].name``); this module flattens each record into the plain facts a
prompt can show. Cast and crew are read from ``casts`` (or ``credits``, the
newer API name) so actors and directors really reach the prompts.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from distillrecdial_kit.generation.line_scan import LineScan, read_source_bytes
from distillrecdial_kit.pipeline.problems import Problem, ProblemLog


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return None


def _names(entries: object) -> list[str]:
    """Names from a TMDB list of ``{name: ...}`` objects (plain strings tolerated), deduplicated."""
    names: list[str] = []
    if isinstance(entries, list):
        for entry in entries:
            name = _text(entry.get("name")) if isinstance(entry, dict) else _text(entry)
            if name and name not in names:
                names.append(name)
    return names


def _keywords(value: object) -> list[str]:
    # /movie/{id}/keywords answers {"keywords": [...]}; TV uses {"results": [...]}.
    if isinstance(value, dict):
        value = value.get("keywords", value.get("results"))
    return _names(value)


def _credits(record: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    credits = record.get("casts") or record.get("credits") or {}
    if not isinstance(credits, dict):
        return [], []
    cast = [c for c in credits.get("cast") or [] if isinstance(c, dict)]
    crew = [c for c in credits.get("crew") or [] if isinstance(c, dict)]
    return cast, crew


def _year(release_date: object) -> int | None:
    text = _text(release_date)
    if text and len(text) >= 4 and text[:4].isdigit():
        return int(text[:4])
    return None


def _origin_country(record: dict[str, Any]) -> list[str]:
    countries = record.get("origin_country")
    if isinstance(countries, list):
        return [c for c in (_text(x) for x in countries) if c]
    production = record.get("production_countries")
    if isinstance(production, list):
        return [c for c in (_text(p.get("iso_3166_1")) for p in production if isinstance(p, dict)) if c]
    return []


def _tmdb_id(value: object) -> int | None:
    """A TMDB id: a non-negative integer that fits the catalog's int64 column."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def flatten_tmdb(record: dict[str, Any], max_actors: int) -> dict[str, Any]:
    """One TMDB record → the flat facts of the catalog's TMDB side (``item_id`` = its ``asin``)."""
    cast, crew = _credits(record)
    cast.sort(key=lambda c: c.get("order") if isinstance(c.get("order"), int) else 1 << 30)
    collection = record.get("belongs_to_collection")
    return {
        "item_id": _text(record.get("asin")),
        "tmdb_id": _tmdb_id(record.get("id")),
        "tmdb_title": _text(record.get("title")) or _text(record.get("original_title")),
        "year": _year(record.get("release_date")),
        "genres": _names(record.get("genres")),
        "keywords": _keywords(record.get("keywords")),
        "actors": _names(cast)[:max_actors],
        "directors": _names([c for c in crew if c.get("job") == "Director"]),
        "overview": _text(record.get("overview")),
        "collection": _text(collection.get("name")) if isinstance(collection, dict) else None,
        "origin_country": _origin_country(record),
        "visual_caption": _text(record.get("Visual Caption")) or _text(record.get("visual_caption")),
    }


def _line_entries(scan: LineScan, problems: ProblemLog) -> Iterator[tuple[int, object]]:
    """``(line, record)`` pairs from JSONL, or from a JSON array written one record per line.

    The first try for every file: parsing line by line means one broken record
    costs one record, and errors name its line. A generator, so each record is
    flattened before the next is parsed: the raw records never sit in memory together.
    """
    for line_no, raw in scan:
        text = raw.strip()
        if text.startswith(b"[{"):
            text = text[1:]
        if text.endswith(b"}]"):
            text = text[:-1]
        text = text.rstrip(b",").strip()
        if text in (b"[", b"]", b""):
            continue
        try:
            yield line_no, orjson.loads(text)
        except orjson.JSONDecodeError as err:
            problems.add(Problem(scan.path.name, line_no, "malformed_json", detail=str(err).split(":")[0]))


_STRUCTURE = re.compile(rb'[\[\]{},"]')
_STRING_REST = re.compile(rb'(?:[^"\\]|\\.)*"', re.DOTALL)


def _segments(data: bytes, start: int) -> Iterator[tuple[int, int]]:
    """``(begin, end)`` of each top-level element of the array whose ``[`` is at ``start - 1``."""
    depth, begin, position = 0, start, start
    while match := _STRUCTURE.search(data, position):
        char, at = match.group(), match.start()
        position = at + 1
        if char == b'"':
            rest = _STRING_REST.match(data, position)
            if rest is None:  # an unterminated string runs to the end
                break
            position = rest.end()
        elif char in b"{[":
            depth += 1
        elif depth > 0 and char in b"}]":
            depth -= 1
        elif depth == 0 and char in b",]":
            if data[begin:at].strip():
                yield begin, at
            begin = at + 1
            if char == b"]":
                return
    if data[begin:].strip():
        yield begin, len(data)


def _array_records(data: bytes, name: str, problems: ProblemLog) -> list[tuple[int, object]]:
    """``(line, record)`` for each element of a JSON array in any layout (pretty-printed included).

    Each element is parsed on its own, so a broken one costs itself: when its
    damage (an unclosed string or brace) swallowed what follows, reading
    resumes at the next line that opens an object at the element's own
    indentation. Lines are those where elements begin.
    """
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))

    def line_of(offset: int) -> int:
        return int(np.searchsorted(newlines, offset)) + 1

    records: list[tuple[int, object]] = []
    opening = len(data) - len(data.lstrip()) + 1  # just after "["
    pending = [opening]
    while pending:
        for begin, end in _segments(data, pending.pop()):
            first = begin + len(data[begin:end]) - len(data[begin:end].lstrip())
            try:
                records.append((line_of(first), orjson.loads(data[first:end])))
                continue
            except orjson.JSONDecodeError as err:
                problems.add(Problem(name, line_of(first), "malformed_json", detail=str(err).split(":")[0]))
            line_start = data.rfind(b"\n", 0, first) + 1
            indent = data[line_start:first]
            if indent.strip():  # the element does not start its line: no layout to resume by
                continue
            resume = re.compile(rb"\n" + re.escape(indent) + rb"\{").search(data, first + 1)
            if resume is not None:
                pending.append(resume.start() + 1 + len(indent))
                break
    return records


def _whole_array(data: bytes) -> list[tuple[int, object]] | None:
    """A valid pretty-printed array of objects, parsed whole (fast), each record with the line it starts on.

    ``None`` when the file does not parse whole or its layout does not show
    where each record starts: :func:`_array_records` then reads it element by element.
    """
    try:
        whole = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(whole, list):
        return None
    body = data.lstrip()[1:]
    first = len(data) - len(body) + len(body) - len(body.lstrip())
    line_start = data.rfind(b"\n", 0, first) + 1
    indent = data[line_start:first]
    if indent.strip() or data[first : first + 1] != b"{":
        return None
    starts = [first, *(m.end() - 1 for m in re.compile(rb"\n" + re.escape(indent) + rb"\{").finditer(data, first + 1))]
    if len(starts) != len(whole):
        return None
    lines = np.searchsorted(np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n")), starts) + 1
    return [(int(line), record) for line, record in zip(lines, whole, strict=True)]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: parsing makes ~100 objects per record and no cycles, and the GC's full passes
    over all those live objects cost more than the parse itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_tmdb(path: Path, problems: ProblemLog, max_actors: int = 5) -> tuple[list[dict[str, Any]], str]:
    """Flattened TMDB records with an ``asin`` and the file's SHA-256 (see :func:`_read_flat`)."""
    with _gc_paused():
        return _read_flat(path, problems, max_actors)


def _read_flat(path: Path, problems: ProblemLog, max_actors: int) -> tuple[list[dict[str, Any]], str]:
    """Flattened TMDB records with an ``asin`` and the file's SHA-256.

    The first record wins for a repeated ``asin``. Files are read line by line
    (JSONL, or an array with one record per line, as DistillRecDial ships it);
    when that finds problems in a file that is a JSON array, the array is read
    element by element instead (a pretty-printed array, or one with a broken
    record), so a bad record costs only itself. Problems name real line numbers.
    """
    scan = LineScan(path, desc=f"tmdb {path.name}")
    line_problems, flat_problems = ProblemLog(), ProblemLog()
    flat = _flatten_entries(_line_entries(scan, line_problems), path.name, flat_problems, max_actors)
    assert scan.sha256 is not None
    if line_problems:
        data = read_source_bytes(path)
        if data.lstrip().startswith(b"["):
            line_problems, flat_problems = ProblemLog(), ProblemLog()
            entries = _whole_array(data) or _array_records(data, path.name, line_problems)
            flat = _flatten_entries(entries, path.name, flat_problems, max_actors)
    problems.extend(line_problems)
    problems.extend(flat_problems)
    return flat, scan.sha256


def _flatten_entries(
    entries: Iterable[tuple[int, object]], label: str, problems: ProblemLog, max_actors: int
) -> list[dict[str, Any]]:
    """Flattened facts of each record; the first record wins a repeated ``asin``."""
    flat: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, record in entries:
        if not isinstance(record, dict):
            problems.add(Problem(label, position, "not_an_object"))
            continue
        facts = flatten_tmdb(record, max_actors)
        if facts["item_id"] is None:
            problems.add(Problem(label, position, "missing_field", "asin"))
            continue
        if facts["item_id"] in seen:
            problems.add(Problem(label, position, "duplicate_record", "asin", detail=facts["item_id"]))
            continue
        if record.get("id") is not None and facts["tmdb_id"] is None:
            problems.add(Problem(label, position, "bad_value", "id", detail=repr(record["id"])[:40]))
        seen.add(facts["item_id"])
        facts["line"] = position
        flat.append(facts)
    return flat
