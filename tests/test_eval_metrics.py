"""evaluate's metrics on hand-made ranks whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from distillrecdial_kit.evaluation.metrics import bootstrap_ci, per_example, summarise


def test_recall_at_k_counts_targets_ranked_within_k():
    values = per_example([1, 2, 10, 11, 50, 51])
    assert values["recall@1"].tolist() == [1, 0, 0, 0, 0, 0]
    assert values["recall@10"].tolist() == [1, 1, 1, 0, 0, 0]
    assert values["recall@50"].tolist() == [1, 1, 1, 1, 1, 0]


def test_mrr_is_the_mean_reciprocal_rank():
    values = per_example([1, 2, 4, 100])
    assert values["mrr"].mean() == pytest.approx((1 + 1 / 2 + 1 / 4 + 1 / 100) / 4)


def test_ndcg_at_10_with_one_relevant_item():
    values = per_example([1, 3, 10, 11])
    assert values["ndcg@10"].tolist() == pytest.approx([1.0, 1 / math.log2(4), 1 / math.log2(11), 0.0])


def test_ranks_are_one_based():
    with pytest.raises(ValueError, match="1-based"):
        per_example([0, 1])


def test_bootstrap_interval_contains_the_point_estimate_and_is_seeded():
    rng = np.random.default_rng(0)
    values = (rng.random(400) < 0.3).astype(float)
    lo, hi = bootstrap_ci(values, seed=7)
    assert lo <= values.mean() <= hi
    assert 0.2 < lo < hi < 0.4
    assert bootstrap_ci(values, seed=7) == (lo, hi)
    assert bootstrap_ci(values, seed=8) != (lo, hi)


def test_a_constant_column_has_a_degenerate_interval():
    assert bootstrap_ci(np.ones(30), seed=1) == (1.0, 1.0)


def test_empty_input_is_undefined_not_zero():
    assert bootstrap_ci(np.array([]), seed=1) is None
    summary = summarise(per_example([]), seed=1)
    assert summary["recall@10"] is None and summary["recall@10_ci"] is None and summary["mrr"] is None


def test_summarise_pairs_each_metric_with_its_interval():
    summary = summarise(per_example([1, 1, 5, 20]), seed=3)
    assert summary["recall@1"] == 0.5 and summary["recall@10"] == 0.75 and summary["recall@50"] == 1.0
    for metric in ("recall@1", "recall@10", "recall@50", "mrr", "ndcg@10"):
        lo, hi = summary[f"{metric}_ci"]
        assert lo <= summary[metric] <= hi
