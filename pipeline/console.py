"""What a stage says on the console: notes and progress bars on stderr, its one-line summary on stdout.

``--quiet`` leaves only the summary and errors; ``--verbose`` adds the libraries' own logs. Stages write
their notes through :func:`note` and :func:`warn` so one switch governs them all.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from tqdm.auto import tqdm

LOGGER = logging.getLogger("distillrecdial")

QUIET, NORMAL, VERBOSE = -1, 0, 1
_bars = True


def configure(verbosity: int = NORMAL) -> None:
    """Set how much every stage and the libraries it drives print; call once, before the stage runs."""
    if not LOGGER.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        LOGGER.addHandler(handler)
        LOGGER.propagate = False
    global _bars
    LOGGER.setLevel({QUIET: logging.WARNING, NORMAL: logging.INFO}.get(verbosity, logging.DEBUG))
    _bars = verbosity > QUIET
    if verbosity <= QUIET:
        # For child processes and libraries imported from now on (tqdm reads TQDM_* when it is imported).
        os.environ["TQDM_DISABLE"] = "1"
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    elif verbosity >= VERBOSE:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "info")
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "INFO")


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
