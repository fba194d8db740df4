"""Validating a walk dialogue against its walk, and the raw record `generate --prompts walks` stores.

The dialogue is parsed by the same parser as every other dialogue (same
repairs, same ``fixed:`` problems); then the walk's own rules are checked.
A recommender turn that brings up items not yet presented is a *presentation*;
the i-th presentation must be slate i:

==============================  ================================================
``foreign_item:<ASIN>``         an item that is neither the start nor in a slate
``slate_missing:<i>``           no presentation for slate i
``slate_item_missing:<i>:<ASIN>``  slate i's item not in its presentation
``slate_item_misplaced:<i>:<ASIN>``  another slate's item presented with slate i
``slate_order:<i>``             slate i's items presented in another order
``extra_slate``                 more presentations than slates
``target_not_in_final_slate``   the walk itself does not end on the target
``too_few_turns``               fewer turns than a seeker and a recommender per slate
==============================  ================================================
"""

from __future__ import annotations

from typing import Any

from distillrecdial_kit.generation.backends import generation_problems
from distillrecdial_kit.generation.dialogue_parser import ASSISTANT, ParsedDialogue, item_ids, parse_dialogue
from distillrecdial_kit.generation.records import dialogue_id, prompt_record


def check_walk_dialogue(parsed: ParsedDialogue, walk: dict[str, Any]) -> ParsedDialogue:
    """``parsed`` with the walk's problems added (a new object; ``parsed`` is untouched)."""
    problems = list(parsed.problems)

    def add(problem: str) -> None:
        if problem not in problems:
            problems.append(problem)

    slates: list[list[str]] = walk["slates"]
    start = walk["start_item"]
    allowed = {start, *(item for slate in slates for item in slate)}
    if len(parsed.turns) < 2 * len(slates):
        add("too_few_turns")
    presented: set[str] = set()
    presentations: list[list[str]] = []
    for turn in parsed.turns:
        tags = item_ids(turn.content)
        for item in tags:
            if item not in allowed:
                add(f"foreign_item:{item}")
        if turn.role != ASSISTANT:
            continue
        new = [item for item in tags if item in allowed and item != start and item not in presented]
        if new:
            presentations.append(new)
            presented.update(new)
    for number, slate in enumerate(slates, start=1):
        if number > len(presentations):
            add(f"slate_missing:{number}")
            continue
        shown = presentations[number - 1]
        for item in slate:
            if item not in shown:
                add(f"slate_item_missing:{number}:{item}")
        for item in shown:
            if item not in slate:
                add(f"slate_item_misplaced:{number}:{item}")
        if [i for i in shown if i in slate] != [i for i in slate if i in shown]:
            add(f"slate_order:{number}")
    if len(presentations) > len(slates):
        add("extra_slate")
    if not slates or walk["target_item"] not in slates[-1]:
        add("target_not_in_final_slate")
    return ParsedDialogue(list(parsed.turns), problems)


def walk_dialogue_id(user_id: str, persona: str, generator: dict[str, Any]) -> str:
    """Stable id of a walk dialogue: user, persona and generator, kept apart from the plain dialogue's id."""
    return dialogue_id(user_id, persona, generator, kind="walk")


def make_walk_record(prompt: dict[str, Any], response: str, generator: dict[str, Any], key: str) -> dict[str, Any]:
    """A raw walk record: the raw schema plus the walk (start, slates, edges), validated against it."""
    walk = prompt["walk"]
    parsed = check_walk_dialogue(parse_dialogue(response, generation_problems(response)), walk)
    record = prompt_record(prompt, response, generator, key, parsed)
    return {**record, "start_item": walk["start_item"], "slates": walk["slates"], "edges": walk["edges"]}
