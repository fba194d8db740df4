"""Train / validation / test assignment: user-disjoint, stratified, deterministic.

Users (not dialogues) are assigned, so a user's teacher and student dialogues
land in the same split. Within each stratum — persona × whether the user's
dialogues are valid — users are ordered by a SHA-256 of their id and cut into
exact 80/10/10 quotas, so every config (all rows, or valid rows only) keeps
the persona proportions to within one dialogue, on any machine.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Hashable

from distillrecdial_kit.distillrecdial import SPLITS

__all__ = ["DEFAULT_FRACTIONS", "SPLITS", "assign_splits", "quota"]

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def quota(n: int, fractions: tuple[float, ...]) -> list[int]:
    """Largest-remainder split of ``n`` into parts proportional to ``fractions`` (ties favour earlier parts)."""
    raw = [n * f for f in fractions]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def assign_splits(
    user_strata: dict[str, Hashable], fractions: tuple[float, ...] = DEFAULT_FRACTIONS, seed: str = "distillrecdial"
) -> dict[str, str]:
    """Map each user to a split; ``user_strata`` gives each user's stratum (e.g. persona and validity)."""
    groups: dict[Hashable, list[str]] = defaultdict(list)
    for user, stratum in user_strata.items():
        groups[stratum].append(user)
    assignment: dict[str, str] = {}
    for stratum in sorted(groups, key=repr):
        users = sorted(groups[stratum], key=lambda u: hashlib.sha256(f"{seed}\x1f{u}".encode()).digest())
        start = 0
        for split, count in zip(SPLITS, quota(len(users), fractions), strict=True):
            for user in users[start : start + count]:
                assignment[user] = split
            start += count
    return assignment
