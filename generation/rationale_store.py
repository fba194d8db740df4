"""``RUN/rationales/``: the stored rationale records, and the views other stages read from them.

Shards are written with :class:`generation.raw_store.ShardWriter`, repaired
after a kill with :func:`generation.raw_store.open_shard` and read with
:func:`generation.raw_store.read_records`, like raw dialogues; records are
keyed by ``rationale_id``, and a bad line is skipped and named like anywhere
else (only a torn last line is cut).
:func:`item_rationales` and :func:`item_profiles` are what `build` (the
``items`` config) and an evaluator's rationale-enriched item profiles use.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.generation.dialogue_parser import errors
from distillrecdial_kit.generation.raw_store import ShardState, open_shard, read_records
from distillrecdial_kit.pipeline.atomic import atomic_path
from distillrecdial_kit.pipeline.jsonl import require
from distillrecdial_kit.pipeline.layout import RATIONALES_DIR
from distillrecdial_kit.pipeline.layout import RATIONALES_FILE as MERGED_FILE
from distillrecdial_kit.pipeline.seeded import stable_id


def rationale_id(user_id: str, item_id: str, generator: dict[str, Any]) -> str:
    """Stable id of one review's rationales by one generator: a SHA-256 prefix, never the salted built-in hash."""
    who = [generator[k] for k in ("role", "backend", "model", "adapter")]
    return stable_id(user_id, item_id, *who, length=20)


#: What every reader of a rationale shard needs of a record; a line without it is skipped and named, never fatal.
RECORD_FIELDS = require(rationale_id=str, user_id=str, item_id=str)


def resume_shard(path: Path, run: Path | None = None) -> ShardState:
    """Repair a shard file after a kill and return what it holds: raw_store's :func:`open_shard`, keyed by id.

    Only a torn last line is cut; a bad line before it is skipped and named (``bad``), left in place, and its
    review counts as not done, so a rerun writes it again and one damaged line costs one record.
    """
    return open_shard(path, run, key="rationale_id", check=RECORD_FIELDS)


def merge_rationales(folder: Path) -> int:
    """Join the shard files into ``rationales.jsonl`` (first record of an id wins; sorted by user, item, id)."""
    kept: dict[str, tuple[tuple[str, str, str], bytes]] = {}
    for shard in sorted(folder.glob("shard-*-of-*.jsonl")):
        for record in read_records(shard, check=RECORD_FIELDS):
            key = record["rationale_id"]
            if key not in kept:
                kept[key] = ((record["user_id"], record["item_id"], key), orjson.dumps(record))
    with atomic_path(folder / MERGED_FILE) as tmp, open(tmp, "wb") as handle:
        for _, line in sorted(kept.values()):
            handle.write(line + b"\n")
    return len(kept)


def load_rationales(run: Path) -> list[dict[str, Any]]:
    """Every merged rationale record of the run (empty when `rationales` has not run)."""
    path = run / RATIONALES_DIR / MERGED_FILE
    return list(read_records(path)) if path.exists() else []


def usable(record: dict[str, Any]) -> bool:
    """Both rationales present and no error beyond repairs."""
    return bool(record.get("user_prefers")) and bool(record.get("item_is")) and not errors(record["problems"])


def user_prefers_by_review(records: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """``{(user_id, item_id): user_prefers}`` from usable records (the first generator's wins)."""
    out: dict[tuple[str, str], str] = {}
    for record in records:
        if usable(record):
            out.setdefault((record["user_id"], record["item_id"]), record["user_prefers"])
    return out


def item_rationales(records: list[dict[str, Any]], limit: int = 3) -> dict[str, list[str]]:
    """Up to ``limit`` distinct ``item_is`` texts per item: the most often written first, ties by text."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for record in records:
        if usable(record):
            counts[record["item_id"]][" ".join(record["item_is"].split())] += 1
    return {
        item: [text for text, _ in sorted(texts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]
        for item, texts in counts.items()
    }


def item_profiles(run: Path, limit: int = 3) -> dict[str, str]:
    """``{item_id: rationale text}`` for a retrieval profile ("facts+rationales"): the item's rationales joined."""
    return {item: " ".join(texts) for item, texts in item_rationales(load_rationales(run), limit).items()}
