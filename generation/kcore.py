"""Iterated k-core filtering of the user–item interaction graph.

Dropping sparse users can push items under k and vice versa, so the filter
repeats until nothing changes: at the fixed point every kept user and every
kept item has at least k interactions. Users and items are turned into
integer codes once, so each round is two ``bincount`` calls instead of two
string group-bys.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def _codes(column: pl.Series) -> np.ndarray:
    return column.cast(pl.Categorical).to_physical().to_numpy()


def kcore(interactions: pl.DataFrame, k: int, user: str = "user_id", item: str = "item_id") -> tuple[pl.DataFrame, int]:
    """Return the k-core of ``interactions`` and the number of rounds it took.

    Every row counts as one interaction: pass one row per (user, item) pair
    for a k-core of distinct pairs.
    """
    users, items = _codes(interactions[user]), _codes(interactions[item])
    n_users, n_items = int(users.max(initial=0)) + 1, int(items.max(initial=0)) + 1
    alive = np.ones(interactions.height, dtype=bool)
    rounds = 0
    while True:
        rounds += 1
        per_user = np.bincount(users[alive], minlength=n_users)
        per_item = np.bincount(items[alive], minlength=n_items)
        kept = alive & (per_user[users] >= k) & (per_item[items] >= k)
        if kept.sum() == alive.sum():
            return interactions.filter(pl.Series(kept)), rounds
        alive = kept
