"""Build-time validation of a raw dialogue against the catalog and its persona's rules.

Stricter than `generate`'s own check: every tag must name a catalog item the
prompt showed, no catalog title may stand where a tag belongs, and cold-start
personas (which were shown no history) must not cite the user's history.
"""

from __future__ import annotations

from typing import Any

from distillrecdial_kit.generation.dialogue_parser import (
    ParsedDialogue,
    carried_problems,
    check_dialogue,
    item_ids,
    parse_dialogue,
    user_items,
)
from distillrecdial_kit.generation.personas import sees_history
from distillrecdial_kit.generation.title_tags import Candidate, find_titles


def validate_record(
    record: dict[str, Any], catalog: dict[str, Candidate], min_turns: int = 4, max_turns: int = 14
) -> ParsedDialogue:
    """The record's dialogue parsed and checked; ``problems`` lists every reason it is not valid."""
    shown = set(item_ids(record["prompt"][-1]["content"]))
    parsed = check_dialogue(
        parse_dialogue(record["response"], carried_problems(record.get("problems", []))),
        record["target_item"],
        shown,
        min_turns=min_turns,
        max_turns=max_turns,
    )
    problems = list(parsed.problems)
    cited = {i for turn in parsed.turns for i in item_ids(turn.content)}

    def add(problem: str) -> None:
        if problem not in problems:
            problems.append(problem)

    for item in sorted(cited - set(catalog)):
        add(f"not_in_catalog:{item}")
    candidates = [catalog[i] for i in user_items(record) if i in catalog]
    if any(find_titles(turn.content, candidates) for turn in parsed.turns):
        add("title_instead_of_tag")
    if not sees_history(record["persona"]) and cited & {h["item_id"] for h in record["history"]}:
        add("cold_start_cites_history")
    return ParsedDialogue(parsed.turns, problems)
