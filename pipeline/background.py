"""Work in other processes while the stage goes on: one independent computation, or chunks of a stream.

A build measures its card's quality data (a pass over every raw dialogue) while it writes the configs'
rows (another pass): neither reads what the other writes, so on a machine with two CPUs they run side by
side (:class:`Background`). Its validation and entity linking are pure functions of each dialogue, so
chunks of the stream go to worker processes and come back in order (:func:`ordered_map`). Processes start
from a fresh interpreter (``forkserver``: no copy of this process's threads or locks), so what they run
must be picklable: module-level functions and plain values. Small jobs stay inline: starting an
interpreter costs more than they save.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

from distillrecdial_kit.pipeline.collector import collect_rarely
from distillrecdial_kit.pipeline.console import QUIET, verbosity

T = TypeVar("T")
R = TypeVar("R")


def context() -> multiprocessing.context.BaseContext:
    """The start method of every worker process here: fresh interpreters, no copy of this one's threads."""
    return multiprocessing.get_context("forkserver")


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def ordered_map(
    pool: multiprocessing.pool.Pool,
    function: Callable[[Any], R],
    chunks: Iterable[T],
    window: int,
    send: Callable[[T], Any] | None = None,
) -> Iterator[tuple[T, R]]:
    """``(chunk, function(send(chunk)))`` for every chunk, computed on ``pool``'s workers and yielded in input
    order. ``send`` (default: none, the chunk itself is sent) keeps what the worker does not read out of the
    pickling both ways.

    At most ``window`` chunks are in flight, so memory stays flat however long the stream (``Pool.imap``
    would read the whole input ahead). A worker's exception is raised here, at its chunk.
    """
    pending: deque = deque()
    for chunk in chunks:
        pending.append((chunk, pool.apply_async(function, (chunk if send is None else send(chunk),))))
        if len(pending) >= window:
            done, result = pending.popleft()
            yield done, result.get()
    while pending:
        done, result = pending.popleft()
        yield done, result.get()


def _quiet_call(function: Callable[..., T], *args: Any) -> T:
    collect_rarely()  # the process exists for this one streaming computation
    with verbosity(QUIET):
        return function(*args)


def cpus() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Background(Generic[T]):
    """``function(*args)`` in a second process when ``enabled`` and a second CPU exists, else inline at
    :meth:`result`. Use as a context manager: leaving the block early (an error, Ctrl-C) stops the process.

    ``function`` and ``args`` must be picklable (a module-level function, plain values).
    """

    def __init__(self, function: Callable[..., T], *args: Any, enabled: bool = True) -> None:
        self.function = function
        self.args = args
        self.parallel = enabled and cpus() > 1
        self._pool = None
        self._pending = None

    def __enter__(self) -> Background[T]:
        if self.parallel:
            self._pool = context().Pool(1)
            self._pending = self._pool.apply_async(_quiet_call, (self.function, *self.args))
        return self

    def result(self) -> T:
        """The function's value (waiting for the second process); its exception is raised here."""
        if self._pending is None:
            return self.function(*self.args)
        value = self._pending.get()
        self._close()
        return value

    def _close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._pool is not None:  # left before result(): the work is not wanted
            self._pool.terminate()
            self._pool.join()
            self._pool = None
