"""Resumability for `prepare`: parsed sources are cached in the run folder.

Parsing the 17M-line review dump is the expensive part of `prepare`. Its
result (a compact table, the file's hash and the problems found) is saved under
``RUN/.cache/prepare/``, keyed by the file's size, mtime and the reader's
parameters, so a run killed later on, or rerun with other parameters, skips it.
The JSON sidecar is written last and marks the entry complete.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import orjson
import polars as pl

from pipeline.atomic import atomic_path, write_bytes
from pipeline.problems import Problem

CACHE_VERSION = 1

Reader = Callable[[], tuple[pl.DataFrame, str, list[Problem]]]


def cache_key(path: Path, params: dict) -> str:
    stat = path.stat()
    material = orjson.dumps(
        {
            "v": CACHE_VERSION,
            "path": str(path.resolve()),
            "size": stat.st_size,
            "mtime": stat.st_mtime_ns,
            "params": params,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(material).hexdigest()[:20]


def cached_parse(
    cache_dir: Path, kind: str, path: Path, params: dict, read: Reader
) -> tuple[pl.DataFrame, str, list[Problem], bool]:
    """Run ``read`` unless a complete cache entry exists; return its outputs and whether it was a hit."""
    key = cache_key(path, params)
    table_path = cache_dir / f"{kind}-{key}.parquet"
    info_path = cache_dir / f"{kind}-{key}.json"
    if info_path.exists() and table_path.exists():
        info = orjson.loads(info_path.read_bytes())
        problems = [Problem(**p) for p in info["problems"]]
        return pl.read_parquet(table_path), info["sha256"], problems, True
    frame, sha256, problems = read()
    with atomic_path(table_path) as tmp:
        frame.write_parquet(tmp)
    write_bytes(info_path, orjson.dumps({"sha256": sha256, "problems": [asdict(p) for p in problems]}))
    return frame, sha256, problems, False
