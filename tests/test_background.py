"""A computation in a second process beside the stage's own work: the same value, its error, early exit."""

from __future__ import annotations

import os

import pytest

from distillrecdial_kit.pipeline.background import Background, batches, context, cpus, ordered_map


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


def squares(chunk: list[int]) -> list[int]:
    if 13 in chunk:
        raise ValueError("unlucky chunk")
    return [n * n for n in chunk]


def plain_squares(chunk: list[int]) -> list[int]:
    return [n * n for n in chunk]


def test_batches_cut_a_stream_into_lists():
    assert list(batches(iter(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batches([], 3)) == []


def test_ordered_map_gives_results_in_input_order_with_a_bounded_window():
    read = []

    def chunks():
        for chunk in batches(range(40), 4):
            read.append(chunk[0])
            yield chunk

    with context().Pool(2) as pool:
        seen = []
        for chunk, result in ordered_map(pool, plain_squares, chunks(), window=3):
            assert len(read) - len(seen) <= 3  # never more than the window read ahead
            seen.append(chunk[0])
            assert result == [n * n for n in chunk]
    assert seen == list(range(0, 40, 4))


def test_ordered_map_raises_a_workers_error_at_its_chunk():
    with context().Pool(2) as pool, pytest.raises(ValueError, match="unlucky chunk"):
        for _ in ordered_map(pool, squares, batches(range(20), 5), window=2):
            pass


def received(chunk: list[tuple]) -> list[tuple[int, int]]:
    """What the worker was given: each item's number and how many fields came with it."""
    return [(item[0], len(item)) for item in chunk]


def test_ordered_map_sends_only_what_send_keeps_and_yields_the_whole_chunk():
    """A worker is given ``send(chunk)`` (here the numbers without their payload); the caller gets its chunk back."""
    payload = [(n, "x" * 1000) for n in range(10)]
    with context().Pool(2) as pool:
        slim = lambda chunk: [(number,) for number, _ in chunk]  # noqa: E731 (runs here, not in a worker)
        out = list(ordered_map(pool, received, batches(payload, 3), window=2, send=slim))
        plain = list(ordered_map(pool, received, batches(payload, 3), window=2))
    assert [chunk for chunk, _ in out] == list(batches(payload, 3))
    assert [result for _, result in out] == [[(n, 1) for n in range(k, min(k + 3, 10))] for k in range(0, 10, 3)]
    assert all(fields == 2 for _, result in plain for _, fields in result), "without send, the whole chunk goes"
