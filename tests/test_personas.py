"""Persona assignment is seeded, order-independent and exactly proportional."""

from __future__ import annotations

from collections import Counter

import pytest

from distillrecdial_kit.generation.personas import PERSONAS, assign_personas, parse_weights, quotas

USERS = [f"AUSER{n:04d}" for n in range(103)]


def test_uniform_assignment_is_balanced_to_one_user():
    counts = Counter(assign_personas(USERS, seed=42, weights=parse_weights(None)).values())
    assert set(counts) == {p.id for p in PERSONAS}
    assert max(counts.values()) - min(counts.values()) <= 1
    assert sum(counts.values()) == len(USERS)


def test_assignment_depends_on_seed_not_on_input_order():
    weights = parse_weights(None)
    first = assign_personas(USERS, seed=7, weights=weights)
    assert assign_personas(list(reversed(USERS)), seed=7, weights=weights) == first
    assert assign_personas(USERS, seed=8, weights=weights) != first


def test_weights_set_proportions_and_zero_weights_exclude():
    weights = parse_weights("cold_start_browser=3,fully_expressive=1")
    counts = Counter(assign_personas(USERS, seed=1, weights=weights).values())
    assert counts == {"cold_start_browser": 77, "fully_expressive": 26}


def test_quotas_sum_to_total():
    assert sum(quotas(7, parse_weights(None)).values()) == 7
    assert quotas(5, parse_weights(None)) == {p.id: 1 for p in PERSONAS}


@pytest.mark.parametrize(
    "spec", ["nobody=1", "cold_start_browser", "cold_start_browser=x", "cold_start_browser=0", "cold_start_browser=-1"]
)
def test_bad_weight_specs_are_rejected_with_a_message(spec):
    with pytest.raises(ValueError, match=r"persona weight|zero"):
        parse_weights(spec)
