"""Slate retrieval (Talk the Walk): from a walk dialogue's context before slate i, find slate i's items.

Each walk dialogue presents its slates in order, one Recommender turn each (the `walks` validator checks it).
For slate i the context is every utterance before the i-th Recommender turn, item tags written as titles so
text retrieval can read them; items named in that context are excluded from the ranking, as in the recommend
task. Every slate item is ranked over the full catalog, and ``hits@k`` of a slate is the share of its items
in the top k. Only valid walk dialogues count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from distillrecdial_kit.evaluation.tasks import RecExample
from distillrecdial_kit.generation.dialogue_parser import TAG

__all__ = ["CUTOFFS", "SlateExample", "slate_examples", "slate_hits"]

CUTOFFS = (10, 50)
_ROLE = {"user": "Seeker", "assistant": "Recommender"}


@dataclass(frozen=True)
class SlateExample:
    """One slate to retrieve: its items, as one ranking example each, sharing a context."""

    conv_id: str
    persona: str
    index: int
    items: tuple[RecExample, ...]


def _titled(text: str, titles: Mapping[str, str]) -> str:
    return TAG.sub(lambda m: titles.get(m.group(1), m.group(1)), text)


def slate_examples(rows: Iterable[Mapping[str, Any]], titles: Mapping[str, str]) -> list[SlateExample]:
    """The slates of valid walk dialogues (``walks`` config rows), in dialogue and slate order."""
    out: list[SlateExample] = []
    for row in rows:
        if not row.get("valid"):
            continue
        turns = list(row["turns"] or [])
        presenting = [n for n, turn in enumerate(turns) if turn["role"] == "assistant"]
        for index, slate in enumerate(row["slates"] or []):
            if index >= len(presenting):
                break
            before = turns[: presenting[index]]
            context = tuple((_ROLE[t["role"]], _titled(t["content"], titles)) for t in before)
            mentioned = tuple(dict.fromkeys(m for t in before for m in TAG.findall(t["content"])))
            conv, user, persona, turn = row["dialogue_id"], row["user_id"], row["persona"], presenting[index]
            items = tuple(
                RecExample(conv, user, persona, turn, item, context, mentioned, ())
                for item in slate
                if item not in mentioned
            )
            if items:
                out.append(SlateExample(row["dialogue_id"], row["persona"], index, items))
    return out


def slate_hits(
    ranks: np.ndarray, slates: list[SlateExample], cutoffs: Iterable[int] = CUTOFFS
) -> dict[str, np.ndarray]:
    """Per slate, the share of its items ranked within each cutoff (``ranks`` in the order of the items)."""
    sizes = np.array([len(s.items) for s in slates])
    owner = np.repeat(np.arange(len(slates)), sizes)
    return {
        f"hits@{k}": np.bincount(owner, weights=(ranks <= k).astype(np.float64), minlength=len(slates)) / sizes
        for k in cutoffs
    }
