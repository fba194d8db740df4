"""The raw dialogue record (DESIGN's ``raw`` config): its typed shape, its id and its one constructor.

`generate`, the walk generator, `import-release` and `build`'s re-validation all make raw records; they do it
through :func:`raw_record`, so the shape cannot drift between them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

from distillrecdial_kit.generation.backends import generation_problems
from distillrecdial_kit.generation.dialogue_parser import (
    ParsedDialogue,
    check_dialogue,
    errors,
    parse_dialogue,
    shown_items,
)
from distillrecdial_kit.pipeline.seeded import stable_id

__all__ = [
    "GENERATOR_FIELDS",
    "Generator",
    "HistoryEntry",
    "Message",
    "RawRecord",
    "dialogue_id",
    "prompt_record",
    "raw_record",
    "turn_dicts",
]

#: The provenance fields a published record keeps (the package versions stay in the run folder).
GENERATOR_FIELDS = ("model", "revision", "adapter", "backend", "role", "temperature", "top_p", "max_new_tokens", "seed")


class Message(TypedDict):
    role: str
    content: str


class HistoryEntry(TypedDict):
    item_id: str
    rating: float


class Generator(TypedDict, total=False):
    model: str | None
    revision: str | None
    adapter: str | None
    backend: str
    role: str
    temperature: float | None
    top_p: float | None
    max_new_tokens: int | None
    seed: int | None
    versions: dict[str, str | None]


class RawRecord(TypedDict):
    dialogue_id: str
    user_id: str
    persona: str
    target_item: str
    history: list[HistoryEntry]
    prompt: list[Message]
    response: str
    generator: Generator
    turns: list[Message]
    valid: bool
    problems: list[str]


def dialogue_id(user_id: str, persona: str, generator: Mapping[str, Any], kind: str = "") -> str:
    """Stable id: user, persona and generator (and ``kind``, e.g. ``walk``), never the salted built-in hash."""
    who = [generator[k] for k in ("role", "backend", "model", "adapter")]
    return stable_id(*([kind] if kind else []), user_id, persona, *who, length=20)


def turn_dicts(parsed: ParsedDialogue) -> list[Message]:
    return [{"role": t.role, "content": t.content} for t in parsed.turns]


def raw_record(
    *,
    key: str,
    user_id: str,
    persona: str,
    target_item: str,
    history: Sequence[HistoryEntry],
    prompt: Sequence[Message],
    response: str,
    generator: Generator,
    turns: list[Message],
    problems: list[str],
) -> RawRecord:
    """A raw record; ``valid`` follows from ``problems`` (only ``fixed:*`` repairs allowed)."""
    return {
        "dialogue_id": key,
        "user_id": user_id,
        "persona": persona,
        "target_item": target_item,
        "history": list(history),
        "prompt": list(prompt),
        "response": response,
        "generator": generator,
        "turns": turns,
        "valid": not errors(problems),
        "problems": problems,
    }


def prompt_record(
    prompt: Mapping[str, Any], response: str, generator: Generator, key: str, parsed: ParsedDialogue
) -> RawRecord:
    """The raw record of one prompt (a `prepare` or walk prompt record) and the model's parsed, checked text."""
    return raw_record(
        key=key,
        user_id=prompt["user_id"],
        persona=prompt["persona"],
        target_item=prompt["target_item"],
        history=prompt["history"],
        prompt=prompt["prompt"],
        response=str(response),
        generator=generator,
        turns=turn_dicts(parsed),
        problems=parsed.problems,
    )


def make_record(prompt: Mapping[str, Any], response: str, generator: Generator, key: str) -> RawRecord:
    """The raw record of a plain prompt and the model's text (a backend ``Completion``), parsed and checked."""
    parsed = check_dialogue(
        parse_dialogue(response, generation_problems(response)), prompt["target_item"], shown_items(prompt)
    )
    return prompt_record(prompt, response, generator, key, parsed)
