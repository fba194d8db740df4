"""Numbers the card shows, computed from the build plan (so the card cannot disagree with the data)."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from distillrecdial_kit.dataset_card.provenance import generator_shares
from distillrecdial_kit.distillrecdial import SPLITS
from distillrecdial_kit.generation.dialogue_parser import errors
from distillrecdial_kit.generation.personas import PERSONAS


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "median": 0.0, "min": 0.0, "max": 0.0}
    return {
        "mean": round(statistics.fmean(values), 1),
        "median": float(statistics.median(values)),
        "min": float(min(values)),
        "max": float(max(values)),
    }


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` bucket for ``n`` rows."""
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def card_stats(plan: list[dict[str, Any]], n_items: int, n_triples: int) -> dict[str, Any]:
    """Per split and persona counts, validity, turn and length statistics, and generator provenance (no paths).

    ``plan`` rows need no texts: each turn's length comes from ``turn_words`` (words per turn).
    """
    valid = [r for r in plan if r["valid"]]
    per_persona = {
        p.id: {split: sum(1 for r in valid if r["persona"] == p.id and r["split"] == split) for split in SPLITS}
        for p in PERSONAS
    }
    problems = Counter(p.split(":")[0] for r in plan for p in errors(r["problems"]))
    turns = [len(r["turn_words"]) for r in valid]
    words = [n for r in valid for n in r["turn_words"]]
    return {
        "raw": {split: sum(1 for r in plan if r["split"] == split) for split in SPLITS},
        "valid": {split: sum(1 for r in valid if r["split"] == split) for split in SPLITS},
        "total_raw": len(plan),
        "total_valid": len(valid),
        "valid_share": round(100 * len(valid) / len(plan), 1) if plan else 0.0,
        "per_persona": per_persona,
        "persona_names": {p.id: p.name for p in PERSONAS},
        "users": len({r["user_id"] for r in valid}),
        "n_items": n_items,
        "n_triples": n_triples,
        "turns": _summary(turns),
        "words_per_turn": _summary(words),
        "generators": generator_shares(plan),
        "problems": dict(problems.most_common()),
        "size_category": size_category(len(valid)),
    }
