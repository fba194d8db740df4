"""Rare cyclic garbage collections while a stage streams hundreds of thousands of records.

A build holds a light copy of every dialogue for its card and allocates millions of short-lived containers
(parsed JSON rows, row dicts for Arrow), none of them in reference cycles. With CPython's default
first-generation threshold (700 allocations) the collector runs so often, and its full collections walk
every live row so many times, that it took ~20% of a build's CPU (20,000 dialogues, one process). A higher
threshold keeps collecting cycles, only rarely; the memory it lets wait is at most that many objects.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations (net of frees) between two first-generation collections while streaming.
STREAMING_THRESHOLD = 50_000


def collect_rarely() -> None:
    """Raise this process's first-generation threshold for good: for worker processes, which only stream."""
    gc.set_threshold(STREAMING_THRESHOLD, *gc.get_threshold()[1:])


@contextmanager
def rare_collections() -> Iterator[None]:
    """:func:`collect_rarely` for the block; the previous thresholds come back after it."""
    previous = gc.get_threshold()
    collect_rarely()
    try:
        yield
    finally:
        gc.set_threshold(*previous)
