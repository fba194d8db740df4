"""Resumability for `prepare`: parsed sources are cached in the run folder.

Parsing the 17M-line review dump is the expensive part of `prepare`. Its
result (a compact table, the file's hash and the problems found) is saved under
``RUN/.cache/prepare/``, keyed by the file's content hash (the one the manifest
records) and the reader's parameters, so a run killed later on, or rerun, skips
it — and any edit of the file, whatever its size and mtime, is parsed again.
Hashing is a plain read of the file, far cheaper than parsing it. The JSON
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

CACHE_VERSION = 2

Reader = Callable[[], tuple[pl.DataFrame, str, ProblemLog]]


def cache_key(sha256: str, params: dict) -> str:
    material = orjson.dumps({"v": CACHE_VERSION, "sha256": sha256, "params": params}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(material).hexdigest()[:20]


def cached_parse(
    cache_dir: Path, kind: str, path: Path, params: dict, read: Reader
) -> tuple[pl.DataFrame, str, ProblemLog, bool]:
    """Run ``read`` unless a complete cache entry exists; return its outputs and whether it was a hit."""
    sha256 = sha256_file(path)
    key = cache_key(sha256, params)
    table_path = cache_dir / f"{kind}-{key}.parquet"
    info_path = cache_dir / f"{kind}-{key}.json"
    if info_path.exists() and table_path.exists():
        info = orjson.loads(info_path.read_bytes())
        return pl.read_parquet(table_path), info["sha256"], ProblemLog.from_json(info), True
    frame, read_sha256, problems = read()
    if read_sha256 != sha256:  # the file changed while it was read: do not cache a mix
        return frame, read_sha256, problems, False
    with atomic_path(table_path) as tmp:
        frame.write_parquet(tmp)
    write_bytes(info_path, orjson.dumps({"sha256": sha256, **problems.to_json()}))
    for old in cache_dir.glob(f"{kind}-*"):
        if old.suffix in (".json", ".parquet") and old.stem != f"{kind}-{key}":
            old.unlink(missing_ok=True)
    return frame, sha256, problems, False
