"""Atomic file writes: a reader (or a rerun after a kill) never sees half a file.

Temporary files and staging folders carry the writer's pid in their name
(``.NAME.PID.RANDOM.tmp``), so whatever a killed writer left behind is
recognised and removed by the next write of the same file or the next run of
its stage, while a live writer's files are left alone. What is moved into place
gets the mode a plain ``open()`` / ``mkdir()`` would give it (0644 / 0755 under
the usual umask), not ``mkstemp``'s private 0600.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from distillrecdial_kit.pipeline.faults import failpoint

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.(?:tmp|staging)$")
_umask_guard = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_guard:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0666 less the umask (0644 usually)."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """The mode ``mkdir`` gives a new folder: 0777 less the umask (0755 usually)."""
    return 0o777 & ~current_umask()


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _is_stale(path: Path, target_name: str | None = None) -> bool:
    """A temporary file or staging folder whose writer is gone (optionally: one for ``target_name``)."""
    match = _TEMP.match(path.name)
    if match is None:
        return False
    if target_name is not None and match["name"] != target_name:
        return False
    return int(match["pid"]) != os.getpid() and not pid_alive(int(match["pid"]))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only on success.

    The temporary file lives in the same directory so ``os.replace`` is an
    atomic rename on POSIX. On error the temporary file is removed and the old
    ``path`` (if any) is left untouched. Temporary files of the same target
    left by killed writers are removed first.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in target.parent.glob(f".{glob_escape(target.name)}.*.tmp"):
        if _is_stale(leftover, target.name):
            _remove(leftover)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    os.fchmod(fd, file_mode())
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        failpoint("atomic.before_replace")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def glob_escape(name: str) -> str:
    """``name`` with glob metacharacters escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def remove_stale_temps(directory: Path) -> int:
    """Delete the temporary files and staging folders that killed writers left in ``directory``.

    Only those whose writer (the pid in the name) is gone are removed, so this
    is safe while other stages write into the same folder. Returns how many.
    """
    if not directory.is_dir():
        return 0
    stale = [p for p in directory.iterdir() if p.name.startswith(".") and _is_stale(p)]
    for path in stale:
        _remove(path)
    return len(stale)


def staging_dir(target: Path) -> Path:
    """A new, empty folder beside ``target`` to assemble its next version in (mode as ``mkdir`` gives)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".staging", dir=target.parent))
    folder.chmod(dir_mode())
    return folder
