"""The rule-based writer of walk dialogues (``--backend template`` on walk prompts).

Each seeker turn asks for the shift its move implies — more from the same
collection, director or actor, the same theme, or what the same viewers liked —
and, where the next slate's movie leans to a genre the current one lacks, for
that contrast too ("by the same director but more thriller"). Each recommender
turn presents its slate, every item as its tag, in the walk's order, then says
which of them the move's fact really joins (fillers may come from other relations).
Phrasing is a seeded choice per dialogue.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from distillrecdial_kit.generation.prompts import item_tag
from distillrecdial_kit.pipeline.seeded import stable_int


def _join(values: Sequence[str]) -> str:
    values = list(values)
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def _shared(step: dict[str, Any]) -> str:
    return step["shared"][0] if step["shared"] else ""


def _ask(step: dict[str, Any], source: str, rng: random.Random) -> str:
    """The seeker's request for this move, from the relation and the fact behind it."""
    shared, tag = _shared(step), item_tag(source)
    options = {
        "same_collection": [
            f"What else is there from {shared or 'that series'}?",
            f"More from {shared or 'that series'}, please.",
        ],
        "same_director": [
            f"Something else directed by {shared or 'the same director'}?",
            f"I'd like more from {shared or 'that director'}.",
        ],
        "shared_actor": [
            f"Anything else with {shared or 'that cast'}?",
            f"Show me more films starring {shared or 'that cast'}.",
        ],
        "shared_keyword": [
            f"I want more stories about {shared or 'that theme'}.",
            f"Something else that deals with {shared or 'the same theme'}?",
        ],
        "co_interaction": [
            f"What do people who liked {tag} also enjoy?",
            f"Show me what fans of {tag} watch next.",
        ],
    }[step["relation"]]
    return rng.choice(options)


def _contrast(source: dict[str, Any], target: dict[str, Any]) -> str:
    """ " but more thriller": a genre the next movie has and the current one lacks, if the persona shows genres."""
    new = [g for g in target.get("genres") or [] if g not in (source.get("genres") or [])]
    return f" But maybe more {new[0].lower()} this time." if new else ""


def _present(step: dict[str, Any], slate: list[str], rng: random.Random) -> str:
    """The recommender's turn: the whole slate, in order, then which of them the move's fact really joins."""
    tags = _join([item_tag(i) for i in slate])
    related = [item_tag(i) for i in step.get("related") or [step["to"]]]
    shared = step["shared"][0] if step["shared"] else ""
    verb_one, verb_many, what = {
        "same_collection": ("is", "are", f"part of {shared or 'the same collection'}"),
        "same_director": ("is", "are", f"directed by {shared or 'the same director'}"),
        "shared_actor": ("features", "feature", shared or "the same cast"),
        "shared_keyword": ("deals with", "deal with", shared or "the same theme"),
        "co_interaction": ("was", "were", f"liked by fans of {item_tag(step['from'])}"),
    }[step["relation"]]
    opener = rng.choice(["Here are some picks:", "Try these:", "A few ideas:"])
    if len(related) == len(slate) > 1:
        return f"{opener} {tags}. All of them {verb_many} {what}."
    return f"{opener} {tags}. {_join(related)} {verb_one if len(related) == 1 else verb_many} {what}."


def write_walk_dialogue(record: dict[str, Any], seed: int) -> str:
    """The template dialogue for one walk prompt record (``[USR]``/``[AI]`` lines)."""
    rng = random.Random(stable_int(seed, "walk", record["user_id"], record["persona"]))
    walk, facts = record["walk"], record["inputs"]["items"]
    steps, slates = walk["steps"], walk["slates"]
    lines = []
    opening = rng.choice(["I really enjoyed", "I recently loved", "I had a great time with"])
    for number, (step, slate) in enumerate(zip(steps, slates, strict=True)):
        source = step["from"]
        contrast = _contrast(facts.get(source, {}), facts.get(step["to"], {}))
        if number == 0:
            lines.append(f"[USR] {opening} {item_tag(source)}. {_ask(step, source, rng)}{contrast}")
        else:
            pick = rng.choice(["looks like the one", "is my pick", "caught my eye"])
            lines.append(f"[USR] {item_tag(source)} {pick}. {_ask(step, source, rng)}{contrast}")
        lines.append(f"[AI] {_present(step, slate, rng)}")
    target = item_tag(walk["target_item"])
    lines.append(f"[USR] {rng.choice(['I will go with', 'Perfect, I choose', 'That settles it:'])} {target}. Thanks!")
    lines.append(f"[AI] {rng.choice([f'Enjoy {target}!', f'Great choice, {target} it is.'])}")
    return "\n".join(lines)
