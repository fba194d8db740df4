"""A computation in a second process beside the stage's own work: the same value, its error, early exit."""

from __future__ import annotations

import os

import pytest

from distillrecdial_kit.pipeline.background import Background, cpus


def pid_and_sum(*numbers: int) -> tuple[int, int]:
    return os.getpid(), sum(numbers)


def fails(message: str) -> None:
    raise ValueError(message)


@pytest.mark.skipif(cpus() < 2, reason="one CPU: Background runs inline")
def test_the_value_comes_back_from_a_second_process():
    with Background(pid_and_sum, 1, 2, 3) as job:
        pid, total = job.result()
    assert total == 6 and pid != os.getpid()


def test_disabled_runs_inline_at_result():
    with Background(pid_and_sum, 4, 5, enabled=False) as job:
        assert job.result() == (os.getpid(), 9)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_functions_error_is_raised_by_result(enabled):
    with Background(fails, "bad record", enabled=enabled) as job, pytest.raises(ValueError, match="bad record"):
        job.result()


def test_leaving_early_stops_the_second_process():
    with pytest.raises(KeyboardInterrupt), Background(pid_and_sum, 1) as job:
        raise KeyboardInterrupt
    assert job._pool is None  # terminated and joined, not left running
