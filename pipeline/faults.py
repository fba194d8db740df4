"""Named fault points, for the fault-injection tests: a stage can be killed at an exact step.

``DISTILLRECDIAL_FAILPOINT=NAME[:N][:ACTION]`` makes the N-th (default: first)
pass through :func:`failpoint` ``NAME`` in this process SIGKILL itself
(``kill``, the default) or SIGSTOP itself (``stop``: it holds its locks until
the test kills or continues it). Unset — always, outside the tests — a fault
point costs one comparison.

Points: ``atomic.before_replace`` (a temporary file is complete, not yet moved
into place), ``shard.mid_record`` (half a record line is on disk),
``shard.after_batch`` (a batch is durable), ``prepare.after_parse`` (the
sources are parsed and cached, nothing written yet), ``build.before_swap``
(the new Hub folder is staged, the old one still in place).
"""

from __future__ import annotations

import os
import signal

ENV = "DISTILLRECDIAL_FAILPOINT"


def _parse(spec: str | None) -> tuple[str, int, signal.Signals] | None:
    if not spec:
        return None
    name, _, rest = spec.partition(":")
    count, _, action = rest.partition(":")
    signals = {"kill": signal.SIGKILL, "stop": signal.SIGSTOP}
    if not (count or "1").isdigit() or (action or "kill") not in signals:
        return None  # a malformed spec arms nothing (a test expecting the kill then fails, not every command)
    return name, int(count or 1), signals[action or "kill"]


_ARMED = _parse(os.environ.get(ENV))
_hits = 0


def armed(name: str) -> bool:
    """Whether the environment armed fault point ``name`` (to set up a state only a kill can leave)."""
    return _ARMED is not None and _ARMED[0] == name


def failpoint(name: str) -> None:
    """Kill or stop this process here if the environment armed ``name`` for this pass."""
    global _hits
    if _ARMED is None or _ARMED[0] != name:
        return
    _hits += 1
    if _hits == _ARMED[1]:
        os.kill(os.getpid(), _ARMED[2])
