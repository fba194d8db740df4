"""Iterated k-core filtering of the user–item interaction graph.

Dropping sparse users can push items under k and vice versa, so the filter
repeats until nothing changes: at the fixed point every kept user and every
kept item has at least k interactions.
"""

from __future__ import annotations

import polars as pl


def kcore(interactions: pl.DataFrame, k: int, user: str = "user_id", item: str = "item_id") -> tuple[pl.DataFrame, int]:
    """Return the k-core of ``interactions`` and the number of rounds it took.

    ``interactions`` must hold one row per (user, item) pair.
    """
    rounds = 0
    current = interactions
    while True:
        rounds += 1
        kept = current.filter((pl.len().over(user) >= k) & (pl.len().over(item) >= k))
        if kept.height == current.height:
            return kept, rounds
        current = kept
