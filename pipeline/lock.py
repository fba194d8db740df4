"""Exclusive locks on a run folder: one `prepare` or `build` per run, one `generate` per run/role/shard.

A lock is an ``flock`` on a file under ``RUN/.locks/``; the kernel releases it
when its holder exits, however it exits (SIGKILL included), so there is never
a stale lock to remove by hand. The holder writes its pid into the file, and a
second process is refused with one line that names it, and empties the file
again when it is done. Lock files stay in place: removing one would let two
processes lock two different files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from distillrecdial_kit.pipeline.atomic import file_mode
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import LOCKS_DIR as LOCK_DIR

#: Exit status of a stage refused because another process holds its lock (EX_TEMPFAIL: try again later).
LOCKED_EXIT = 75


def _holder(fd: int) -> str:
    """The pid written by the lock's holder (it may not have written it yet)."""
    for _ in range(20):
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return text
        time.sleep(0.01)
    return "unknown"


@contextlib.contextmanager
def exclusive_lock(path: Path, what: str, wait: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the ``with`` block.

    Without ``wait``, a lock held by another process raises a :class:`StageError`
    naming ``what`` and the holder's pid; with it, the call blocks until free.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, file_mode())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise StageError(
                f"{what} is busy: another process (pid {_holder(fd)}) holds {path}; "
                "wait for it to finish or stop it, then rerun",
                exit_code=LOCKED_EXIT,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # still held: the file is left empty, so finished runs leave no pid behind
    finally:
        os.close(fd)  # closing the only descriptor releases the lock


def run_lock(run: Path, stage: str, wait: bool = False) -> contextlib.AbstractContextManager[None]:
    """The lock a whole-run stage (`prepare`, `build`) holds on ``run``."""
    return exclusive_lock(run / LOCK_DIR / f"{stage}.lock", f"{stage} of {run}", wait=wait)


def generate_lock(run: Path, role: str, shard_index: int, num_shards: int) -> contextlib.AbstractContextManager[None]:
    """The lock one `generate` process holds on its run/role/shard."""
    return exclusive_lock(
        run / LOCK_DIR / f"generate-{role}-shard-{shard_index:05d}-of-{num_shards:05d}.lock",
        f"generate {role} shard {shard_index}/{num_shards} of {run}",
    )
