"""Reader for the TMDB metadata list (``tmdb_movies.json``), keyed by Amazon ``asin``.

TMDB's API shapes are nested (``casts.cast[].name``, ``keywords.keywords[]``,
``genres[].name``); this module flattens each record into the plain facts a
prompt can show. Cast and crew are read from ``casts`` (or ``credits``, the
newer API name) so actors and directors really reach the prompts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from generation.line_scan import LineScan
from pipeline.problems import Problem, ProblemLog

#: Flattened TMDB facts, in the order the catalog stores them.
TMDB_FIELDS = (
    "item_id",
    "tmdb_id",
    "tmdb_title",
    "year",
    "genres",
    "keywords",
    "actors",
    "directors",
    "overview",
    "collection",
    "origin_country",
    "visual_caption",
)


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


def flatten_tmdb(record: dict[str, Any], max_actors: int) -> dict[str, Any]:
    """One TMDB record → the flat facts in ``TMDB_FIELDS`` (``item_id`` = its ``asin``)."""
    cast, crew = _credits(record)
    cast.sort(key=lambda c: c.get("order") if isinstance(c.get("order"), int) else 1 << 30)
    collection = record.get("belongs_to_collection")
    tmdb_id = record.get("id")
    return {
        "item_id": _text(record.get("asin")),
        "tmdb_id": tmdb_id if isinstance(tmdb_id, int) and not isinstance(tmdb_id, bool) else None,
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


def _line_records(path: Path, problems: ProblemLog) -> tuple[list[tuple[int, object]], str]:
    """``(line, record)`` pairs from JSONL, or from a JSON array written one record per line.

    The fallback when the file is not one valid JSON array: parsing line by
    line means one broken record costs one record, and errors name its line.
    """
    scan = LineScan(path, desc=f"tmdb {path.name}")
    records: list[tuple[int, object]] = []
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
            records.append((line_no, orjson.loads(text)))
        except orjson.JSONDecodeError as err:
            problems.add(Problem(path.name, line_no, "malformed_json", detail=str(err).split(":")[0]))
    assert scan.sha256 is not None
    return records, scan.sha256


def read_tmdb(path: Path, problems: ProblemLog, max_actors: int = 5) -> tuple[list[dict[str, Any]], str]:
    """Flattened TMDB records with an ``asin`` and the file's SHA-256.

    The first record wins for a repeated ``asin``. Files are read line by line
    (JSONL, or an array with one record per line, as DistillRecDial ships it)
    so problems name real line numbers; a file that only parses whole (a
    pretty-printed array) is read whole and problems name record numbers.
    """
    line_problems = ProblemLog()
    entries, sha256 = _line_records(path, line_problems)
    label = path.name
    if line_problems:
        try:
            whole = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError:
            whole = None
        if isinstance(whole, list):
            entries, label, line_problems = list(enumerate(whole, start=1)), f"{path.name} (record)", ProblemLog()
    problems.extend(line_problems.records)
    flat: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, record in entries:
        if not isinstance(record, dict):
            problems.add(Problem(label, position, "not_an_object"))
            continue
        facts = flatten_tmdb(record, max_actors)
        if facts["item_id"] is None:
            problems.add(Problem(label, position, "missing_field", "asin"))
        elif facts["item_id"] in seen:
            problems.add(Problem(label, position, "duplicate_record", "asin", detail=facts["item_id"]))
        else:
            seen.add(facts["item_id"])
            facts["line"] = position
            flat.append(facts)
    return flat, sha256
