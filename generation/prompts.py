"""Rendering one user's prompt: the persona's system message and the facts it may see.

``select_facts`` is the single gate between the catalog and a prompt: it keeps
only the facts the persona allows, and both the rendered text and the
structured ``inputs`` (used by rule-based writers and by validation) come from
its output, so they cannot disagree.
"""

from __future__ import annotations

from typing import Any

from distillrecdial_kit.generation.personas import Persona, system_prompt
from distillrecdial_kit.pipeline.seeded import stable_id

#: How each fact is labelled in the prompt text.
FACT_LABELS = {
    "title": "Title",
    "year": "Year",
    "genres": "Genres",
    "keywords": "Keywords",
    "actors": "Actors",
    "directors": "Directors",
    "overview": "Overview",
    "collection": "Collection",
    "visual_caption": "Visual caption",
}


def item_tag(item_id: str) -> str:
    """How items are written in prompts and dialogues."""
    return f"<id_{item_id}>"


def prompt_id(user_id: str, persona: str) -> str:
    """Stable id of a (user, persona) prompt: a SHA-256 prefix, never Python's salted built-in hash."""
    return stable_id(user_id, persona)


def _present(value: Any) -> bool:
    return value is not None and value != [] and value != ""


def select_facts(item: dict[str, Any], interaction: dict[str, Any] | None, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The facts of ``item`` (and of the user's ``interaction`` with it) that ``allowed`` names."""
    facts: dict[str, Any] = {"item_id": item["item_id"]}
    for name in allowed:
        if name == "sentiment" and interaction is not None:
            facts["liked"] = interaction["rating"] > 3
            facts["rating"] = interaction["rating"]
        elif name == "review" and interaction is not None and interaction.get("user_prefers"):
            # `prepare --with-rationales`: the user's distilled preferences stand in for the review's text.
            prefers = interaction["user_prefers"]
            facts["review"] = {"rating": interaction["rating"], "title": None, "text": None, "user_prefers": prefers}
        elif name == "review" and interaction is not None:
            if _present(interaction.get("review_title")) or _present(interaction.get("review_text")):
                facts["review"] = {
                    "rating": interaction["rating"],
                    "title": interaction.get("review_title"),
                    "text": interaction.get("review_text"),
                }
        elif name in FACT_LABELS and _present(item.get(name)):
            facts[name] = item[name]
    return facts


def _fact_lines(facts: dict[str, Any], indent: str) -> list[str]:
    lines = []
    for name, label in FACT_LABELS.items():
        if name in facts:
            value = facts[name]
            lines.append(f"{indent}- {label}: {', '.join(value) if isinstance(value, list) else value}")
    if "review" in facts:
        review = facts["review"]
        if review.get("user_prefers"):
            lines.append(
                f"{indent}- What the user prefers (from their review, {review['rating']:g}/5): {review['user_prefers']}"
            )
            return lines
        quoted = " — ".join(part for part in (review["title"], review["text"]) if part)
        lines.append(f"{indent}- The user's review ({review['rating']:g}/5): {quoted}")
    return lines


def _stars(rating: float) -> str:
    return f"{rating:g}/5"


def render_user_message(persona: Persona, target: dict[str, Any], history: list[dict[str, Any]]) -> str:
    """The user message: the target's allowed facts, then the history's (or that there is none)."""
    lines = [
        f"User type: {persona.name} (opening: {persona.opening}).",
        "",
        f"Target movie: {item_tag(target['item_id'])}",
    ]
    lines += _fact_lines(target, "")
    lines.append("")
    if not persona.sees_history:
        lines.append("Viewing history: none shown (treat the user as new).")
    elif not history:
        lines.append("Viewing history: empty.")
    else:
        lines.append("Viewing history (oldest first):")
        for number, item in enumerate(history, start=1):
            sentiment = (
                f" — {'liked' if item['liked'] else 'disliked'} ({_stars(item['rating'])})" if "liked" in item else ""
            )
            lines.append(f"{number}. {item_tag(item['item_id'])}{sentiment}")
            lines += _fact_lines(item, "   ")
    return "\n".join(lines)


def build_prompt(
    user_id: str,
    persona: Persona,
    target_item: dict[str, Any],
    target_interaction: dict[str, Any],
    history: list[tuple[dict[str, Any], dict[str, Any]]],
) -> dict[str, Any]:
    """One prompt record for ``prompts.jsonl``.

    ``history`` is ``[(item, interaction), ...]`` oldest first; it is always
    recorded (for evaluation and splits) even when the persona may not see it.
    """
    target = select_facts(target_item, target_interaction, persona.target_facts)
    shown_history = (
        [select_facts(item, inter, persona.history_facts) for item, inter in history] if persona.sees_history else []
    )
    return {
        "prompt_id": prompt_id(user_id, persona.id),
        "user_id": user_id,
        "persona": persona.id,
        "target_item": target_item["item_id"],
        "history": [{"item_id": item["item_id"], "rating": inter["rating"]} for item, inter in history],
        "inputs": {"target": target, "history": shown_history},
        "prompt": [
            {"role": "system", "content": system_prompt(persona)},
            {"role": "user", "content": render_user_message(persona, target, shown_history)},
        ],
    }
