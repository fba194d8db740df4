"""Ranking metrics from the target's rank, and seeded bootstrap intervals.

Every recommend example has exactly one target item, so each metric is a per-example value averaged over the
examples (1-based ``rank`` of the target among the items the method could recommend):

- ``recall@k``: 1 if ``rank <= k`` else 0 (with one target, Recall@k = HitRate@k);
- ``mrr``: ``1 / rank`` (the full-catalog reciprocal rank, not cut off);
- ``ndcg@10``: ``1 / log2(rank + 1)`` if ``rank <= 10`` else 0 (the ideal DCG of one relevant item is 1).

A bootstrap 95% interval resamples the examples with replacement ``resamples`` times (a NumPy generator seeded
with ``seed``; the same resampled indices serve every metric of a group) and takes the 2.5th and 97.5th
percentiles of the resampled means. Empty input gives ``None`` values and intervals: undefined, never 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = [
    "CUTOFFS",
    "RANK_METRICS",
    "bootstrap_ci",
    "per_example",
    "summarise",
]

CUTOFFS = (1, 10, 50)
RANK_METRICS = (*(f"recall@{k}" for k in CUTOFFS), "mrr", "ndcg@10")
RESAMPLES = 1000
DIGITS = 6


def per_example(ranks: Sequence[int] | np.ndarray, cutoffs: Sequence[int] = CUTOFFS) -> dict[str, np.ndarray]:
    """Per-example value of each rank metric, from the target's 1-based ranks."""
    r = np.asarray(ranks, dtype=np.float64)
    if r.size and r.min() < 1:
        raise ValueError("ranks are 1-based")
    values = {f"recall@{k}": (r <= k).astype(np.float64) for k in cutoffs}
    values["mrr"] = 1.0 / r if r.size else r
    values["ndcg@10"] = np.where(r <= 10, 1.0 / np.log2(r + 1.0), 0.0) if r.size else r
    return values


def bootstrap_ci(
    values: np.ndarray, seed: int, resamples: int = RESAMPLES, level: float = 0.95
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean of ``values`` (``None`` when empty)."""
    return _intervals({"x": np.asarray(values, dtype=np.float64)}, seed, resamples, level)["x"]


def _intervals(
    columns: Mapping[str, np.ndarray], seed: int, resamples: int, level: float
) -> dict[str, tuple[float, float] | None]:
    n = len(next(iter(columns.values()))) if columns else 0
    if n == 0:
        return dict.fromkeys(columns)
    rng = np.random.default_rng(seed)
    tail = (1.0 - level) / 2.0 * 100.0
    out: dict[str, tuple[float, float] | None] = {}
    # Resample in blocks so 20,000 examples x 1000 resamples never holds more than ~8M indices at once.
    block = max(1, 8_000_000 // n)
    sums = {name: [] for name in columns}
    done = 0
    while done < resamples:
        size = min(block, resamples - done)
        index = rng.integers(0, n, size=(size, n), dtype=np.int64)
        for name, column in columns.items():
            sums[name].append(column[index].mean(axis=1))
        done += size
    for name in columns:
        means = np.concatenate(sums[name])
        lo, hi = np.percentile(means, [tail, 100.0 - tail])
        out[name] = (round(float(lo), DIGITS), round(float(hi), DIGITS))
    return out


def summarise(
    columns: Mapping[str, np.ndarray], seed: int, resamples: int = RESAMPLES, level: float = 0.95
) -> dict[str, float | list[float] | None]:
    """``{metric: mean, metric + "_ci": [lo, hi]}`` for parallel per-example columns (``None`` when empty)."""
    intervals = _intervals(columns, seed, resamples, level)
    out: dict[str, float | list[float] | None] = {}
    for name, column in columns.items():
        out[name] = round(float(np.mean(column)), DIGITS) if len(column) else None
        ci = intervals[name]
        out[f"{name}_ci"] = list(ci) if ci is not None else None
    return out
