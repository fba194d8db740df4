"""Rare garbage collections while a stage streams: set for the block, the previous thresholds back after it."""

from __future__ import annotations

import gc

import pytest

from distillrecdial_kit.pipeline.collector import STREAMING_THRESHOLD, rare_collections


def test_rare_collections_raise_the_threshold_then_restore_it_even_after_an_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), rare_collections():
        assert gc.get_threshold() == (STREAMING_THRESHOLD, *before[1:])
        assert gc.isenabled(), "cycles are still collected, only less often"
        raise RuntimeError("a failed stage")
    assert gc.get_threshold() == before
