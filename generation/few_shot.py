"""`generate --few-shot RAW.jsonl`: one worked example ahead of each prompt, so a small model sees the format.

A small instruct model (SmolLM2-135M) does not write the ``[USR]``/``[AI]`` dialogue from the persona's
instructions alone. Shown one valid dialogue of another user with the same persona, as an earlier
user/assistant exchange of the same chat, it copies the shape often enough for some dialogues to parse.
The example's user message is that other user's own facts, so the model sees which tags it was allowed to
cite there; the prompt's ``inputs`` (what validation checks against) stay the prompt's own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from distillrecdial_kit.pipeline.seeded import digest


def example_pool(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Valid records grouped by persona, in file order: what an example is drawn from."""
    pool: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("valid"):
            pool[record["persona"]].append(record)
    return dict(pool)


def pick_example(prompt: dict[str, Any], pool: dict[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
    """Another user's valid dialogue of the same persona, chosen by a hash of both ids (stable, and varied)."""
    candidates = [r for r in pool.get(prompt["persona"], []) if r["user_id"] != prompt["user_id"]]
    if not candidates:
        return None
    return min(candidates, key=lambda r: digest(prompt["prompt_id"], r["dialogue_id"]))


def with_example(prompt: dict[str, Any], pool: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """``prompt`` with an example exchange between its system and user messages (unchanged when none fits)."""
    example = pick_example(prompt, pool)
    if example is None:
        return prompt
    system, *_, user = prompt["prompt"]
    shown = [
        {"role": "user", "content": example["prompt"][-1]["content"]},
        {"role": "assistant", "content": example["response"]},
    ]
    return {**prompt, "prompt": [system, *shown, user]}


def add_examples(prompts: list[dict[str, Any]], records: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Every prompt with one example where the pool has one; returns the prompts and how many got one."""
    pool = example_pool(records)
    shown = [with_example(p, pool) for p in prompts]
    return shown, sum(a is not b for a, b in zip(shown, prompts, strict=True))
