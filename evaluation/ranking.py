"""Ranking the whole catalog: the target's rank among the items a method could recommend.

Scores come in chunks of examples (a dense ``chunk x catalog`` block, so 20,000 examples over 50,000 items never
sit in memory at once). Items mentioned before the recommendation are excluded. Ties are broken by one seeded
random order of the catalog (the same for every method), so a method with no signal for an example (all scores
equal) ranks its target at a uniformly random position, i.e. at chance, never at the top or the bottom.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from distillrecdial_kit.evaluation.tasks import RecExample

__all__ = ["CHUNK", "Catalog", "rank_targets", "tie_keys"]

CHUNK = 512


class Catalog:
    """Item ids in a fixed order (sorted), and their positions."""

    def __init__(self, item_ids: Sequence[str]) -> None:
        self.ids = list(item_ids)
        self.index = {item: i for i, item in enumerate(self.ids)}
        if len(self.index) != len(self.ids):
            raise ValueError("duplicate item ids in the catalog")

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, items: Sequence[str]) -> list[int]:
        """Positions of the ``items`` in the catalog (ids outside it are skipped)."""
        return [self.index[i] for i in items if i in self.index]


def tie_keys(n_items: int, seed: int) -> np.ndarray:
    """A seeded random order of the catalog: lower key wins a tie."""
    return np.random.default_rng([seed, 0x7E5]).permutation(n_items)


def rank_targets(
    score: Callable[[Sequence[RecExample]], np.ndarray],
    examples: Sequence[RecExample],
    catalog: Catalog,
    seed: int,
    top_k: int = 0,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """1-based rank of each example's target over the full catalog, and (if ``top_k``) each example's top items.

    ``score(examples)`` returns a ``(len(examples), len(catalog))`` array. Targets outside the catalog rank last.
    """
    n_items = len(catalog)
    keys = tie_keys(n_items, seed)
    ranks = np.empty(len(examples), dtype=np.int64)
    tops = np.empty((len(examples), top_k), dtype=np.int64)
    for start in range(0, len(examples), chunk):
        block = examples[start : start + chunk]
        scores = np.asarray(score(block))
        if scores.dtype not in (np.float32, np.float64):
            scores = scores.astype(np.float64)
        if scores.shape != (len(block), n_items):
            raise ValueError(f"a method returned scores of shape {scores.shape}, not {(len(block), n_items)}")
        target = np.array([catalog.index.get(ex.target, -1) for ex in block])
        known = target >= 0
        t = np.where(known, target, 0)
        rows_idx = np.arange(len(block))
        own = scores[rows_idx, t][:, None]
        beats = (scores > own) | ((scores == own) & (keys[None, :] < keys[t][:, None]))
        # Excluded (already mentioned) items are taken back out of the count; the scores are never copied.
        rows = np.array([r for r, ex in enumerate(block) for _ in catalog.positions(ex.mentioned)], dtype=np.int64)
        cols = np.array([c for ex in block for c in catalog.positions(ex.mentioned)], dtype=np.int64)
        if rows.size:
            pairs = np.unique(rows * n_items + cols)
            rows, cols = pairs // n_items, pairs % n_items
        excluded_beats = np.bincount(rows[beats[rows, cols]], minlength=len(block)) if rows.size else 0
        ranks[start : start + len(block)] = np.where(known, beats.sum(axis=1) - excluded_beats + 1, n_items)
        if top_k:
            scores = np.array(scores, dtype=np.float64)
            if rows.size:
                scores[rows, cols] = -np.inf
            # Sort key: score descending, then tie key ascending — the order the ranks above count.
            k = min(top_k, n_items)
            part = (
                np.argpartition(-scores, k - 1, axis=1)[:, :k]
                if k < n_items
                else np.tile(np.arange(n_items), (len(block), 1))
            )
            # Items tied with the k-th score may fall outside the partition; take them all, then order exactly.
            kth = np.take_along_axis(scores, part, axis=1).min(axis=1, keepdims=True)
            for r in range(len(block)):
                cand = np.flatnonzero(scores[r] >= kth[r])
                order = np.lexsort((keys[cand], -scores[r, cand]))[:k]
                tops[start + r, :k] = cand[order]
        if progress is not None:
            progress(len(block))
    return ranks, tops
