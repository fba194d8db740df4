"""One heavy, independent computation in a second process while the stage goes on with its own work.

A build measures its card's quality data (a pass over every raw dialogue) while it writes the configs'
rows (another pass, with entity linking): neither reads what the other writes, so on a machine with two
CPUs they run side by side. The second process starts from a fresh interpreter (``forkserver``: no copy of
this process's threads or locks), runs quietly (no progress bars; warnings still print) and hands back a
picklable result. Small jobs run inline: starting an interpreter costs more than they save.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from distillrecdial_kit.pipeline.console import QUIET, verbosity

T = TypeVar("T")


def _quiet_call(function: Callable[..., T], *args: Any) -> T:
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
            self._pool = multiprocessing.get_context("forkserver").Pool(1)
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
