"""Leakage: does the seeker already name the target before it is recommended?

For each dialogue of the split, take the recommendation of its target item (the first :class:`RecExample`
whose item is the dialogue's ``target_item``) and the seeker's utterances before it. The target *leaks* by
``title`` (its title, year and leading article dropped), ``actor``, ``director`` or ``collection`` when one
of those names appears there as a whole word sequence (lowercased word tokens). A dialogue in which the target
is never recommended is not counted. Names of one letter-word (e.g. a title "Up") are ignored: too common.
A dataset with heavy leakage rewards text matching: ``bm25`` Recall@1 on leaked vs. clean dialogues shows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from distillrecdial_kit.evaluation.llm import normalise_title
from distillrecdial_kit.evaluation.methods import words
from distillrecdial_kit.evaluation.tasks import RecExample

__all__ = ["FIELDS", "leak_flags", "target_examples"]

FIELDS = ("title", "actor", "director", "collection")


def target_examples(examples: Sequence[RecExample], targets: Mapping[str, str]) -> list[int]:
    """Index of each dialogue's recommendation of its own target (dialogues without one are skipped)."""
    seen: set[str] = set()
    out = []
    for i, ex in enumerate(examples):
        if ex.conv_id not in seen and targets.get(ex.conv_id) == ex.target:
            seen.add(ex.conv_id)
            out.append(i)
    return out


def _names(item: Mapping[str, Any]) -> dict[str, list[str]]:
    def phrase(text: str | None) -> str:
        return " ".join(words(text or ""))

    def keep(values: list[str]) -> list[str]:
        return [v for v in values if len(v.split()) > 1 or len(v) > 3]

    return {
        "title": keep([normalise_title(item.get("title") or "")]),
        "actor": keep([phrase(a) for a in item.get("actors") or []]),
        "director": keep([phrase(d) for d in item.get("directors") or []]),
        "collection": keep([phrase(item.get("collection"))] if item.get("collection") else []),
    }


def leak_flags(examples: Sequence[RecExample], items: Mapping[str, Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Per example, whether the seeker named the target's title / actor / director / collection, and ``any``."""
    flags = {f: np.zeros(len(examples), dtype=np.float64) for f in (*FIELDS, "any")}
    for i, ex in enumerate(examples):
        item = items.get(ex.target)
        if item is None:
            continue
        said = f" {' '.join(words(ex.seeker_text))} "
        for field, names in _names(item).items():
            if any(f" {name} " in said for name in names if name):
                flags[field][i] = 1.0
                flags["any"][i] = 1.0
    return flags
