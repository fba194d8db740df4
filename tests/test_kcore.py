"""The k-core is the fixed point: every kept user and item has >= k interactions, and nothing more is dropped."""

from __future__ import annotations

import random

import polars as pl

from distillrecdial_kit.generation.kcore import kcore


def reference_kcore(pairs: set[tuple[str, str]], k: int) -> set[tuple[str, str]]:
    """Obvious set-based implementation to check against."""
    while True:
        users, items = {}, {}
        for u, i in pairs:
            users[u] = users.get(u, 0) + 1
            items[i] = items.get(i, 0) + 1
        kept = {(u, i) for u, i in pairs if users[u] >= k and items[i] >= k}
        if kept == pairs:
            return kept
        pairs = kept


def frame(pairs) -> pl.DataFrame:
    return pl.DataFrame(sorted(pairs), schema=["user_id", "item_id"], orient="row")


def test_cascading_removal_needs_several_rounds():
    # u3 has 1 interaction; dropping it pushes item c under k=2, which then pushes u2 under k.
    pairs = {("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "c"), ("u3", "c"), ("u4", "a"), ("u4", "b")}
    core, rounds = kcore(frame(pairs), 2)
    assert set(core.iter_rows()) == {("u1", "a"), ("u1", "b"), ("u4", "a"), ("u4", "b")}
    assert rounds >= 3


def test_matches_reference_on_random_graphs():
    rng = random.Random(0)
    for trial in range(20):
        pairs = {(f"u{rng.randrange(40)}", f"i{int(rng.paretovariate(1.2)) % 30}") for _ in range(400)}
        k = 2 + trial % 5
        core, _ = kcore(frame(pairs), k)
        assert set(core.iter_rows()) == reference_kcore(pairs, k)
        if core.height:
            assert core.group_by("user_id").len()["len"].min() >= k
            assert core.group_by("item_id").len()["len"].min() >= k
