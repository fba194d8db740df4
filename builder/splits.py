"""Train / validation / test assignment: user-disjoint, stratified, deterministic.

Users (not dialogues) are assigned, so a user's teacher and student dialogues
land in the same split. Within each stratum — persona × whether the user's
dialogues are valid — users are ordered by a SHA-256 of their id and cut into
exact 80/10/10 quotas, so every config (all rows, or valid rows only) keeps
the persona proportions to within one dialogue, on any machine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable

from distillrecdial_kit.distillrecdial import SPLITS
from distillrecdial_kit.pipeline.seeded import digest, largest_remainder

__all__ = ["DEFAULT_FRACTIONS", "SPLITS", "assign_splits"]

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def assign_splits(
    user_strata: dict[str, Hashable], fractions: tuple[float, ...] = DEFAULT_FRACTIONS, seed: str = "distillrecdial"
) -> dict[str, str]:
    """Map each user to a split; ``user_strata`` gives each user's stratum (e.g. persona and validity)."""
    groups: dict[Hashable, list[str]] = defaultdict(list)
    for user, stratum in user_strata.items():
        groups[stratum].append(user)
    assignment: dict[str, str] = {}
    for stratum in sorted(groups, key=repr):
        users = sorted(groups[stratum], key=lambda u: digest(seed, u))
        start = 0
        for split, count in zip(SPLITS, largest_remainder(len(users), fractions), strict=True):
            for user in users[start : start + count]:
                assignment[user] = split
            start += count
    return assignment
