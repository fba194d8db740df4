"""Walk prompts: a persona-aware system message plus the slates and the facts that explain each move.

A walk prompt is a prompt record like `prepare`'s (``prompt_id``, ``user_id``,
``persona``, ``target_item``, ``history``, ``inputs``, ``prompt``) with
``kind: "walk"`` and the ``walk`` itself (start, slates, edges, steps), so
`generate --prompts walks` feeds it to the same backends, and the validator
and the template writer read the walk from the record rather than the text.
Item facts are gated by the persona exactly as in dialogue prompts; the fact
behind each move (the shared director, actor, keyword or collection, or how
many users liked both) is always shown, since it is what the seeker asks for.
"""

from __future__ import annotations

from typing import Any

from distillrecdial_kit.generation.personas import PERSONA_BY_ID, Persona
from distillrecdial_kit.generation.prompts import FACT_LABELS, item_tag, select_facts
from distillrecdial_kit.pipeline.seeded import stable_id

KIND = "walk"

#: How a move along each relation reads in the prompt ("{shared}" is the shared fact).
MOVE_TEXT = {
    "same_collection": "same collection ({shared})",
    "same_director": "same director ({shared})",
    "shared_actor": "shared actor ({shared})",
    "shared_keyword": "shared theme ({shared})",
    "co_interaction": "liked by the same viewers ({shared})",
}

_WALK_RULES = (
    "Write a conversation between a user ([USR]) and a movie recommender ([AI]) that follows the walk below, one "
    "step at a time. Start every turn on a new line with its marker, [USR] or [AI]; the user speaks first. The user "
    "opens from the movie they enjoyed and asks for the shift the first move implies (for example more by the same "
    "director, or the same theme but darker); each [AI] turn then presents the next slate: every movie of that "
    "slate, in the order given, written as its tag exactly (for example <id_B000ABC123>), never its title, and no "
    "movie outside the walk. After each slate the user picks the slate's movie that leads on and asks for the next "
    "shift. The last slate holds the movie the user settles on. Use only the facts given. Output the dialogue only."
)


def walk_prompt_id(user_id: str, persona: str) -> str:
    """Stable id of a user's walk prompt (distinct from their dialogue prompt's id)."""
    return stable_id(user_id, persona, KIND)


def walk_system_prompt(persona: Persona) -> str:
    """Identical for every walk of a persona: the persona's policy, then the walk rules."""
    return f"You write movie-recommendation dialogues. User type: {persona.name}. {persona.policy} {_WALK_RULES}"


def move_fact(step: dict[str, Any]) -> str:
    """What a step's relation means for these two movies, in words."""
    if step["relation"] == "co_interaction":
        shared = f"{int(step['weight'])} viewers liked both"
    else:
        shared = ", ".join(step["shared"]) or "shared"
    return MOVE_TEXT[step["relation"]].format(shared=shared)


def _fact_text(facts: dict[str, Any]) -> str:
    parts = []
    for name, label in FACT_LABELS.items():
        if name in facts:
            value = facts[name]
            parts.append(f"{label}: {', '.join(value) if isinstance(value, list) else value}")
    return "; ".join(parts)


def render_walk_message(persona: Persona, walk: dict[str, Any], facts: dict[str, dict[str, Any]]) -> str:
    """The user message: the start, then per step the move's reason and the slate with each item's facts."""
    start = walk["start_item"]
    lines = [
        f"User type: {persona.name} (opening: {persona.opening}).",
        "",
        f"Start: the user enjoyed {item_tag(start)}"
        + (f" ({_fact_text(facts[start])})" if _fact_text(facts[start]) else "")
        + ".",
    ]
    for number, (step, slate) in enumerate(zip(walk["steps"], walk["slates"], strict=True), start=1):
        lines += ["", f"Step {number}: from {item_tag(step['from'])} by {move_fact(step)} to {item_tag(step['to'])}."]
        lines.append(f"Slate {number} (present in this order):")
        for item in slate:
            described = _fact_text(facts[item])
            lines.append(f"- {item_tag(item)}" + (f" — {described}" if described else ""))
    lines += ["", f"The user settles on {item_tag(walk['target_item'])} from the last slate."]
    return "\n".join(lines)


def build_walk_prompt(walk: dict[str, Any], catalog: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The walk prompt record for one walk; item facts pass through the persona's gate."""
    persona = PERSONA_BY_ID[walk["persona"]]
    items = [walk["start_item"], *(item for slate in walk["slates"] for item in slate)]
    facts = {item: select_facts(catalog[item], None, persona.target_facts) for item in dict.fromkeys(items)}
    return {
        "prompt_id": walk_prompt_id(walk["user_id"], walk["persona"]),
        "kind": KIND,
        "user_id": walk["user_id"],
        "persona": walk["persona"],
        "target_item": walk["target_item"],
        "history": walk["history"],
        "walk": {key: walk[key] for key in ("walk_id", "start_item", "target_item", "slates", "edges", "steps")},
        "inputs": {"items": facts},
        "prompt": [
            {"role": "system", "content": walk_system_prompt(persona)},
            {"role": "user", "content": render_walk_message(persona, walk, facts)},
        ],
    }
