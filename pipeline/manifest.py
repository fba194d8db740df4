"""``RUN/manifest.json``: what each stage read, with which parameters, and what it produced.

Each stage owns one entry under ``stages``; rerunning a stage replaces its
entry, so the manifest describes the run folder as it is now. The content is
deterministic (no wall-clock times, no absolute paths: a path inside the run
folder is stored relative to it) so that two runs on the same inputs with the
same seed write byte-identical manifests, wherever their folders are. Stages
running side by side (shards of `generate`) update it one at a time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.pipeline.atomic import write_bytes
from distillrecdial_kit.pipeline.layout import MANIFEST_FILE
from distillrecdial_kit.pipeline.lock import LOCK_DIR, exclusive_lock

MANIFEST_NAME = MANIFEST_FILE
FORMAT_VERSION = 1

#: Distributions whose versions decide the bytes a stage writes.
TRACKED_PACKAGES = ("distillrecdial", "orjson", "polars", "pyarrow", "numpy", "tqdm", "huggingface-hub")


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``names`` (``None`` when not installed), plus Python's."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def file_fingerprint(path: Path, sha256: str) -> dict[str, Any]:
    """How a manifest names an input file: its name, size and content hash."""
    return {"name": path.name, "bytes": path.stat().st_size, "sha256": sha256}


def sha256_file(path: Path, chunk_size: int = 1 << 22) -> str:
    """Content hash of a file, read in chunks so size does not matter."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The run folder's manifest, or an empty one if the folder is new."""
    path = run_dir / MANIFEST_NAME
    if not path.exists():
        return {"format": FORMAT_VERSION, "stages": {}}
    return orjson.loads(path.read_bytes())


def run_relative(value: Any, run_dir: Path) -> Any:
    """``value`` with every string that names a path inside ``run_dir`` made relative to it."""
    given = str(run_dir)
    # The folder as given only counts when it is a path of two parts or more: "demo/x" may be a model name.
    forms = {os.path.abspath(run_dir), str(run_dir.resolve())} | ({given} if os.sep in given.strip(os.sep) else set())
    prefixes = sorted(forms, key=len, reverse=True)

    def convert(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: convert(v) for key, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [convert(v) for v in item]
        if isinstance(item, Path):
            item = str(item)
        if isinstance(item, str):
            for prefix in prefixes:
                if item == prefix:
                    return "."
                if item.startswith(prefix.rstrip(os.sep) + os.sep):
                    return item[len(prefix.rstrip(os.sep)) + 1 :]
        return item

    return convert(value)


def record_stage(run_dir: Path, stage: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Replace ``stage``'s entry in the manifest (atomically, one writer at a time); return the new manifest."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(run_dir / LOCK_DIR / "manifest.lock", f"the manifest of {run_dir}", wait=True):
        manifest = read_manifest(run_dir)
        manifest.setdefault("stages", {})[stage] = run_relative(entry, run_dir)
        write_bytes(
            run_dir / MANIFEST_NAME,
            orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n",
        )
    return manifest
