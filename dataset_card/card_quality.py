"""The card's quality data, kept by the `report` stage so that `build` need not measure the dialogues again.

The card shows the quality report of the *published* dialogues (the roles the build publishes, generators named
without local paths, distinct-n on equal-size samples), not the run-wide ``report.json``. When a build plan
exists, `report` also writes that variant to ``RUN/report/card_quality.json`` together with the SHA-256 of every
input it read (the raw files of those roles, the build plan, the catalog). `build` uses it only when it is fresh:
the same roles, the same parameters and the same input hashes (its own plan has just been rewritten, with the
same bytes when nothing upstream changed); otherwise it measures the dialogues itself. Either way the card gets
the same numbers.

The file keeps the report's key order (not sorted like ``report.json``), so tables and figures come out in the
order the card always had.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.pipeline.atomic import write_bytes
from distillrecdial_kit.pipeline.layout import BUILD_DIR, ITEMS_FILE, MERGED_FILE, PLAN_FILE, RAW_DIR, RunLayout
from distillrecdial_kit.pipeline.manifest import read_manifest, sha256_file

#: Bumped when the card's quality data changes shape, so an older file is never taken as fresh.
VERSION = 1


def inputs(run: Path, roles: Sequence[str]) -> dict[str, str | None]:
    """What the card's quality data is measured from, each file's SHA-256 (None when missing)."""
    paths = [*(f"{RAW_DIR}/{role}/{MERGED_FILE}" for role in sorted(roles)), f"{BUILD_DIR}/{PLAN_FILE}", ITEMS_FILE]
    return {path: sha256_file(run / path) if (run / path).is_file() else None for path in paths}


def published_roles(run: Path) -> list[str] | None:
    """The roles the last build published (its manifest entry), if a build has run."""
    roles = read_manifest(run).get("stages", {}).get("build", {}).get("roles")
    return list(roles) if roles else None


def write(run: Path, roles: Sequence[str], parameters: dict[str, Any], quality: dict[str, Any]) -> Path:
    """Store ``quality`` (measured on ``roles`` with ``parameters``) with the hashes of its inputs."""
    path = RunLayout(run).card_quality
    entry = {
        "version": VERSION,
        "roles": sorted(roles),
        "parameters": parameters,
        "inputs": inputs(run, roles),
        "quality": quality,
    }
    write_bytes(path, orjson.dumps(entry, option=orjson.OPT_INDENT_2) + b"\n")
    return path


def read_fresh(run: Path, roles: Sequence[str], parameters: dict[str, Any]) -> dict[str, Any] | None:
    """The stored quality data when it was measured on exactly these roles, parameters and input bytes."""
    path = RunLayout(run).card_quality
    if not path.is_file():
        return None
    try:
        entry = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError:
        return None
    if not isinstance(entry, dict) or entry.get("version") != VERSION:
        return None
    if entry.get("roles") != sorted(roles) or entry.get("parameters") != parameters:
        return None
    if entry.get("inputs") != inputs(run, roles):
        return None
    return entry.get("quality")
