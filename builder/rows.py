"""Pure transformations from a validated dialogue to the rows of each config.

Item tags become readable titles (``Title (Year)``) in `sft` and `crslab`; in
`sft` the recommender's recommendations are marked ``<rec>Title (Year)</rec>``
so a fine-tuned model's suggestions can be read back. A recommendation is the
recommender's first mention of an item nobody named before in the dialogue.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from distillrecdial_kit.generation.dialogue_parser import TAG, recommendations
from distillrecdial_kit.generation.personas import PERSONA_BY_ID
from distillrecdial_kit.generation.records import GENERATOR_FIELDS, RawRecord, raw_record

REC_OPEN, REC_CLOSE = "<rec>", "</rec>"
__all__ = [
    "CRSLAB_ROLES",
    "REC_CLOSE",
    "REC_OPEN",
    "SFT_SYSTEM",
    "crslab_row",
    "display_title",
    "raw_row",
    "recommendations",
    "resolve",
    "sft_row",
    "sft_system",
]
CRSLAB_ROLES = {"user": "Seeker", "assistant": "Recommender"}

SFT_SYSTEM = (
    "You are a movie recommender talking with a user. Ask about their tastes, explain your suggestions with "
    f"facts about the movies, and recommend movies. Write each movie you recommend as "
    f"{REC_OPEN}Title (Year){REC_CLOSE}."
)


class Linked(Protocol):
    """What crslab rows need from entity linking, per utterance."""

    entities: list[str]
    words: list[str]


def display_title(item: dict[str, Any] | None, item_id: str) -> str:
    if item is None:
        return item_id
    return f"{item['title']} ({item['year']})" if item.get("year") else item["title"]


def resolve(text: str, catalog: dict[str, dict[str, Any]], marked: set[str] | None = None) -> str:
    """Tags → titles; the first occurrence of each id in ``marked`` is wrapped in the recommendation marker."""
    pending = set(marked or ())

    def title(match: re.Match[str]) -> str:
        item_id = match.group(1)
        name = display_title(catalog.get(item_id), item_id)
        if item_id in pending:
            pending.discard(item_id)
            return f"{REC_OPEN}{name}{REC_CLOSE}"
        return name

    return TAG.sub(title, text)


def raw_row(record: dict[str, Any], turns: list[dict[str, str]], problems: list[str]) -> RawRecord:
    """A raw record re-validated by `build`: the published generator fields, the build's turns and problems."""
    return raw_record(
        key=record["dialogue_id"],
        user_id=record["user_id"],
        persona=record["persona"],
        target_item=record["target_item"],
        history=record["history"],
        prompt=record["prompt"],
        response=record["response"],
        generator={k: record["generator"].get(k) for k in GENERATOR_FIELDS},
        turns=turns,
        problems=problems,
    )


def sft_system(record: dict[str, Any], catalog: dict[str, dict[str, Any]]) -> str:
    """The recommender's system message: its policy, plus the history a history persona's recommender saw."""
    if not PERSONA_BY_ID[record["persona"]].sees_history or not record["history"]:
        return SFT_SYSTEM
    watched = "; ".join(
        f"{display_title(catalog.get(h['item_id']), h['item_id'])}, {'liked' if h['rating'] > 3 else 'disliked'}"
        for h in record["history"]
    )
    return f"{SFT_SYSTEM} The user's viewing history, oldest first: {watched}."


def sft_row(record: dict[str, Any], turns: list[dict[str, str]], catalog: dict[str, dict[str, Any]]) -> dict[str, Any]:
    messages = [{"role": "system", "content": sft_system(record, catalog)}]
    for turn, recommended in zip(turns, recommendations(turns), strict=True):
        messages.append({"role": turn["role"], "content": resolve(turn["content"], catalog, recommended)})
    return {
        "messages": messages,
        "dialogue_id": record["dialogue_id"],
        "persona": record["persona"],
        "target_item": record["target_item"],
    }


def crslab_row(
    record: dict[str, Any], turns: list[dict[str, str]], catalog: dict[str, dict[str, Any]], links: list[Linked]
) -> dict[str, Any]:
    """A CRSLab-shaped dialogue; ``links`` holds each turn's linked entities and words (one per turn)."""
    dialog = []
    for number, (turn, linked) in enumerate(zip(turns, links, strict=True)):
        dialog.append(
            {
                "utt_id": number,
                "role": CRSLAB_ROLES[turn["role"]],
                "text": resolve(turn["content"], catalog),
                "movies": list(dict.fromkeys(TAG.findall(turn["content"]))),
                "entity": list(linked.entities),
                "word": list(linked.words),
            }
        )
    return {
        "conv_id": record["dialogue_id"],
        "persona": record["persona"],
        "target_item": record["target_item"],
        "dialog": dialog,
    }
