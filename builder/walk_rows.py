"""Rows of the `walks` config: every walk dialogue of the published roles, re-validated and split.

Validation is `generate`'s walk check run again on the stored response (so a
build judges every record by today's rules) plus the catalog check every
config gets. A user keeps the split the build plan gave them, so a user's
plain dialogue and walk dialogue land in the same split; users with only a
walk are split by the same user-level, persona-stratified rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distillrecdial_kit.builder.features import FEATURES
from distillrecdial_kit.builder.splits import assign_splits
from distillrecdial_kit.generation.dialogue_parser import carried_problems, errors, parse_dialogue
from distillrecdial_kit.generation.raw_store import read_records
from distillrecdial_kit.generation.walk_check import check_walk_dialogue
from distillrecdial_kit.pipeline.layout import RunLayout

GENERATOR_KEYS = ("model", "revision", "adapter", "backend", "role", "temperature", "top_p", "max_new_tokens", "seed")


def walk_row(record: dict[str, Any], catalog: set[str]) -> dict[str, Any]:
    """One `walks` row from a raw walk record: the walk, the parsed turns and every problem found."""
    walk = {key: record[key] for key in ("start_item", "target_item", "slates")}
    parsed = check_walk_dialogue(parse_dialogue(record["response"], carried_problems(record["problems"])), walk)
    problems = list(parsed.problems)
    walk_items = {record["start_item"], *(item for slate in record["slates"] for item in slate)}
    problems += [f"not_in_catalog:{item}" for item in sorted(walk_items - catalog)]
    return {
        "dialogue_id": record["dialogue_id"],
        "user_id": record["user_id"],
        "persona": record["persona"],
        "target_item": record["target_item"],
        "start_item": record["start_item"],
        "slates": record["slates"],
        "edges": record["edges"],
        "turns": [{"role": t.role, "content": t.content} for t in parsed.turns],
        "generator": {key: record["generator"].get(key) for key in GENERATOR_KEYS},
        "valid": not errors(problems),
        "problems": problems,
    }


def published_configs(run: Path, roles: list[str]) -> list[str]:
    """Every config, with `walks` only when the run has walk dialogues of ``roles`` (an empty config cannot load)."""
    has_walks = any(RunLayout(run).raw_dialogues(role, "walks").exists() for role in roles)
    return [name for name in FEATURES if name != "walks" or has_walks]


def walk_rows(run: Path, roles: list[str], planned: dict[str, str], catalog: set[str]) -> list[dict[str, Any]]:
    """The walk rows of ``roles``, each with its ``split`` (``planned``: the plan's user → split); none when no
    walks were generated."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for role in roles:
        source = RunLayout(run).raw_dialogues(role, "walks")
        if not source.exists():
            continue
        for record in read_records(source):
            if record["dialogue_id"] not in seen:
                seen.add(record["dialogue_id"])
                rows.append(walk_row(record, catalog))
    unplanned = assign_splits(
        {row["user_id"]: (row["persona"], "walk") for row in rows if row["user_id"] not in planned}
    )
    for row in rows:
        row["split"] = planned.get(row["user_id"]) or unplanned[row["user_id"]]
    return rows
