"""Streaming line reader for multi-GB JSONL dumps: one pass, hashed, with progress.

The Amazon Reviews 2023 Movies_and_TV dump is ~17M lines. Reading it as
binary chunks and splitting on newlines keeps memory flat, lets the same pass
compute the file's SHA-256 for the manifest, and gives exact 1-based line
numbers for error messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from pipeline.console import progress

CHUNK_BYTES = 1 << 23


class LineScan:
    """Iterate ``(line_number, raw_line)`` over a file; ``sha256`` is set once exhausted.

    Blank lines are skipped (but still counted, so numbers match ``sed -n Np``).
    """

    def __init__(self, path: Path, desc: str | None = None, hash_content: bool = True) -> None:
        self.path = path
        self.desc = desc
        self._digest = hashlib.sha256() if hash_content else None
        self.sha256: str | None = None
        self.lines = 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        total = self.path.stat().st_size
        quiet = self.desc is None
        line_no = 0
        tail = b""
        with (
            open(self.path, "rb") as handle,
            progress(total=total, unit="B", unit_scale=True, desc=self.desc, disable=quiet, leave=False) as bar,
        ):
            while chunk := handle.read(CHUNK_BYTES):
                if self._digest is not None:
                    self._digest.update(chunk)
                bar.update(len(chunk))
                pieces = (tail + chunk).split(b"\n")
                tail = pieces.pop()
                for raw in pieces:
                    line_no += 1
                    if raw.strip():
                        yield line_no, raw
            if tail.strip():
                line_no += 1
                yield line_no, tail
        self.lines = line_no
        if self._digest is not None:
            self.sha256 = self._digest.hexdigest()
