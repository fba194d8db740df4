"""Resumability for `prepare`: parsed sources are cached in the run folder.

Parsing the 17M-line review dump is the expensive part of `prepare`. Its
result (a compact table, the file's hash and the problems found) is saved under
``RUN/.cache/prepare/``, keyed by the file's content hash (the one the manifest
records) and the reader's parameters, so a run killed later on, or rerun, skips
it — and any edit of the file, whatever its size and mtime, is parsed again.
A cold run reads each file once (the parse hashes it); a rerun hashes it, a
plain read far cheaper than parsing it. The JSON
sidecar is written last and marks the entry complete; an entry for another
content of the same source is removed once the new one is complete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import orjson
import polars as pl

from distillrecdial_kit.pipeline.atomic import atomic_path, write_bytes
from distillrecdial_kit.pipeline.manifest import sha256_file
from distillrecdial_kit.pipeline.problems import ProblemLog

CACHE_VERSION = 3

Reader = Callable[[], tuple[pl.DataFrame, str, ProblemLog]]


def cache_key(sha256: str, params: dict) -> str:
    material = orjson.dumps({"v": CACHE_VERSION, "sha256": sha256, "params": params}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(material).hexdigest()[:20]


def _maybe_cached(cache_dir: Path, kind: str, size: int) -> bool:
    """Whether a complete entry for ``kind`` was made from a file of this size (only then is hashing first worth it)."""
    for info_path in cache_dir.glob(f"{kind}-*.json"):
        try:
            if orjson.loads(info_path.read_bytes()).get("size") == size:
                return True
        except (OSError, orjson.JSONDecodeError):
            continue
    return False


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def cached_parse(
    cache_dir: Path, kind: str, path: Path, params: dict, read: Reader
) -> tuple[pl.DataFrame, str, ProblemLog, bool]:
    """Run ``read`` unless a complete cache entry exists; return its outputs and whether it was a hit.

    The file is read once on a cold run: the reader hashes what it parses.
    Only when an entry of the same file size exists is the file hashed first,
    to look the entry up.
    """
    before = _stamp(path)
    if _maybe_cached(cache_dir, kind, before[0]):
        sha256 = sha256_file(path)
        key = cache_key(sha256, params)
        table_path = cache_dir / f"{kind}-{key}.parquet"
        info_path = cache_dir / f"{kind}-{key}.json"
        if info_path.exists() and table_path.exists():
            info = orjson.loads(info_path.read_bytes())
            return pl.read_parquet(table_path), info["sha256"], ProblemLog.from_json(info), True
    frame, sha256, problems = read()
    if _stamp(path) != before:  # the file changed while it was read: do not cache a mix
        return frame, sha256, problems, False
    key = cache_key(sha256, params)
    table_path = cache_dir / f"{kind}-{key}.parquet"
    with atomic_path(table_path) as tmp:
        frame.write_parquet(tmp, compression="lz4")  # a scratch copy: fast to write beats small
    write_bytes(
        cache_dir / f"{kind}-{key}.json", orjson.dumps({"sha256": sha256, "size": before[0], **problems.to_json()})
    )
    for old in cache_dir.glob(f"{kind}-*"):
        if old.suffix in (".json", ".parquet") and old.stem != f"{kind}-{key}":
            old.unlink(missing_ok=True)
    return frame, sha256, problems, False
