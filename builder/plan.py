"""The build plan: every raw dialogue validated and assigned a split, computed once per build.

``RUN/build/plan.jsonl`` holds one `raw` row per dialogue plus its ``split``.
Every config is a cheap projection of it, so the `datasets` builder and the
`build` stage read the same plan (one code path), and the expensive work —
parsing, validation, catalog checks — happens once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from distillrecdial_kit.builder.rows import raw_row
from distillrecdial_kit.builder.splits import assign_splits
from distillrecdial_kit.builder.validate import validate_record
from distillrecdial_kit.generation.prepare import ITEMS_FILE
from distillrecdial_kit.generation.raw_store import raw_problem, raw_reader
from distillrecdial_kit.generation.title_tags import Candidate
from distillrecdial_kit.pipeline.atomic import atomic_path
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.jsonl import read_jsonl
from distillrecdial_kit.pipeline.layout import BUILD_DIR, RunLayout
from distillrecdial_kit.pipeline.layout import PLAN_FILE as PLAN_NAME
from distillrecdial_kit.pipeline.problems import ProblemLog

PLAN_FILE = Path(BUILD_DIR) / PLAN_NAME
ROLES_ORDER = ("student", "teacher")


def load_items(run: Path) -> list[dict[str, Any]]:
    path = run / ITEMS_FILE
    if not path.exists():
        raise StageError(f"{path} not found; run `distillrecdial prepare --out {run}` first")
    return pl.read_parquet(path).to_dicts()


def default_roles(run: Path) -> list[str]:
    """The student's corpus when there is one, else the teacher's."""
    present = [r for r in ROLES_ORDER if RunLayout(run).raw_dialogues(r).exists()]
    if not present:
        raise StageError(f"no raw dialogues in {run / 'raw'}; run `distillrecdial generate` first")
    return present[:1]


def make_plan(run: Path, roles: list[str], skipped: ProblemLog | None = None) -> list[dict[str, Any]]:
    """Validate every raw dialogue of ``roles`` and assign splits; duplicates of an id are dropped.

    A bad line of a raw file is skipped into ``skipped`` (file:line: reason), never the end of reading.
    """
    catalog = {i["item_id"]: Candidate(i["item_id"], i["title"], i["year"]) for i in load_items(run)}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for role in roles:
        source = RunLayout(run).raw_dialogues(role)
        if not source.exists():
            raise StageError(f"{source} not found; run `distillrecdial generate --role {role}` (and merge) first")
        for record in raw_reader(source, run, skipped):
            if record["dialogue_id"] in seen:
                continue
            seen.add(record["dialogue_id"])
            parsed = validate_record(record, catalog)
            turns = [{"role": t.role, "content": t.content} for t in parsed.turns]
            rows.append(raw_row(record, turns, parsed.problems))
    strata: dict[str, tuple] = {}
    for row in rows:
        persona, validity = strata.get(row["user_id"], (row["persona"], ()))
        strata[row["user_id"]] = (persona, (*validity, row["valid"]))
    splits = assign_splits(strata)
    for row in rows:
        row["split"] = splits[row["user_id"]]
    return rows


def _plan_problem(row: dict[str, Any]) -> tuple[str, str | None] | None:
    """What a plan row needs beyond a raw record's fields: its split, validity and problems."""
    if not isinstance(row.get("split"), str):
        return "missing_field", "split"
    if not isinstance(row.get("valid"), bool) or not isinstance(row.get("problems"), list):
        return "bad_type", "valid"
    return raw_problem(row)


def write_plan(run: Path, rows: list[dict[str, Any]]) -> Path:
    path = run / PLAN_FILE
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row) + b"\n")
    return path


def read_plan(run: Path, roles: list[str] | None = None) -> list[dict[str, Any]]:
    """The plan on disk, or a fresh one (written) when the run has none yet."""
    path = run / PLAN_FILE
    if path.exists():
        skipped = ProblemLog()
        rows = read_jsonl(path, PLAN_FILE.as_posix(), _plan_problem, skipped)
        if skipped:
            print(f"{PLAN_FILE.as_posix()}: bad lines skipped: {skipped.brief()}", file=sys.stderr)
        return rows
    rows = make_plan(run, roles or default_roles(run))
    write_plan(run, rows)
    return rows
