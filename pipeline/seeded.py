"""Deterministic choices: stable digests of keys, and exact quotas.

Every id, shuffle and per-record random stream in the pipeline comes from here, so a run is the same on any
machine, in any input order and in any Python process (the built-in ``hash`` is salted per process). The parts
of a key are joined with the unit separator ``\\x1f`` (``sep=":"`` for the two older keys, persona assignment and
selection, kept so that their outputs do not change).
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import blake2b, sha256

import numpy as np

SEP = "\x1f"


def digest(*parts: object, sep: str = SEP) -> bytes:
    """SHA-256 of the parts joined by ``sep``."""
    return sha256(sep.join(str(part) for part in parts).encode()).digest()


def stable_id(*parts: object, length: int = 16) -> str:
    """A hex id of ``length`` characters from the parts (ids of prompts, dialogues, walks, rationales)."""
    return sha256(SEP.join(str(part) for part in parts).encode()).hexdigest()[:length]


def stable_int(*parts: object, nbytes: int = 8, sep: str = SEP) -> int:
    """The first ``nbytes`` of :func:`digest` as a big-endian integer (a seed for a per-record random stream)."""
    return int.from_bytes(digest(*parts, sep=sep)[:nbytes], "big")


def in_fraction(seed: int, key: str, fraction: float) -> bool:
    """Whether ``key`` falls in a seeded ``fraction`` of all keys (a held-out slice stable under reruns)."""
    return stable_int(seed, key) / 2**64 < fraction


def uniforms(seed: int, keys: Sequence[str]) -> np.ndarray:
    """One uniform number in [0, 1) per key, from SHA-256 of ``seed:key`` (53 bits, machine- and order-free)."""
    values = (stable_int(seed, key, sep=":") >> 11 for key in keys)
    return np.fromiter(values, dtype=np.float64, count=len(keys)) / 2.0**53


def order_key(key: object) -> bytes:
    """A short, fast sort key (BLAKE2b, 8 bytes) for sampling a fixed subset of many keys."""
    return blake2b(str(key).encode("utf-8"), digest_size=8).digest()


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` that sum to ``total`` exactly.

    Each part gets the integer part of its share, and the units left over go to the largest remainders; ties
    favour earlier parts, so the split depends only on the weights' order.
    """
    raw = [total * w for w in weights]
    counts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts
