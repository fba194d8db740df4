"""What a stage says on the console: notes and progress bars on stderr, its one-line summary on stdout.

``--quiet`` leaves only the summary and errors; ``--verbose`` adds the libraries' own logs. Stages write
their notes through :func:`note` and :func:`warn` so one switch governs them all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from tqdm.auto import tqdm


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the message (redirected or captured since)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


LOGGER = logging.getLogger("distillrecdial")
_handler = _CurrentStderr()
_handler.setFormatter(logging.Formatter("%(message)s"))
LOGGER.addHandler(_handler)
LOGGER.propagate = False
LOGGER.setLevel(logging.INFO)  # a stage called from Python speaks as the CLI does by default

QUIET, NORMAL, VERBOSE = -1, 0, 1
_bars = True
#: What the libraries a stage drives read for their own chatter: (value under --quiet, under --verbose).
_LIBRARY_ENV = {
    "TRANSFORMERS_VERBOSITY": ("error", "info"),
    "VLLM_LOGGING_LEVEL": ("ERROR", "INFO"),
    "HF_DATASETS_DISABLE_PROGRESS_BARS": ("1", None),
    "HF_HUB_DISABLE_PROGRESS_BARS": ("1", None),
}


@contextlib.contextmanager
def verbosity(level: int = NORMAL) -> Iterator[None]:
    """Run a stage at ``level`` (``QUIET``, ``NORMAL`` or ``VERBOSE``), then put everything back.

    The CLI runs one stage per process, but tests and notebooks run many in one: a ``--quiet`` stage must
    not silence the next one.
    """
    global _bars
    saved = (LOGGER.level, _bars, {name: os.environ.get(name) for name in _LIBRARY_ENV})
    LOGGER.setLevel({QUIET: logging.WARNING, NORMAL: logging.INFO}.get(level, logging.DEBUG))
    _bars = level > QUIET
    for name, (quiet, verbose) in _LIBRARY_ENV.items():
        value = quiet if level <= QUIET else verbose if level >= VERBOSE else None
        if value is not None:
            os.environ.setdefault(name, value)
    try:
        yield
    finally:
        LOGGER.setLevel(saved[0])
        _bars = saved[1]
        for name, value in saved[2].items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def progress(iterable: Any = None, **options: Any) -> tqdm:
    """A stage's progress bar (``tqdm`` options), switched off by ``--quiet``."""
    if not _bars:
        options["disable"] = True
    return tqdm(iterable, **options)


def note(stage: str, message: str) -> None:
    """Progress worth a line (what was found, what is skipped); hidden by ``--quiet``."""
    LOGGER.info("%s: %s", stage, message)


def warn(stage: str, message: str) -> None:
    """Something the user should see even with ``--quiet`` (a skipped bad line, a risky target)."""
    LOGGER.warning("%s: %s", stage, message)
