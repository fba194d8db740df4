"""Read a (possibly gzipped) JSONL dump as large blocks of whole lines, hashed off the main thread.

A native JSON reader wants megabytes at a time, not one line: `BlockScan`
yields blocks that always end on a newline, each with the number of the line
it starts on and its byte offset in the (decompressed) stream, so a caller
can still name the exact line of a bad record and find a line again later.
The file's SHA-256 (of the bytes on disk, as the manifest records it) is
computed in a background thread while the caller parses: hashlib releases the
GIL, so on two cores hashing costs almost no wall time.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from distillrecdial_kit.generation.line_scan import compression
from distillrecdial_kit.pipeline.console import progress
from distillrecdial_kit.pipeline.errors import StageError

BLOCK_BYTES = 1 << 25


@dataclass(frozen=True)
class Block:
    """Whole lines of a file: ``data`` starts at 1-based line ``first_line``, at byte ``offset``."""

    first_line: int
    offset: int
    data: bytes


class _HashingReader:
    """A file wrapper that hands every chunk read to a one-thread hasher and a progress bar."""

    def __init__(self, handle, digest, pool: ThreadPoolExecutor | None, bar) -> None:
        self._handle, self._digest, self._pool, self._bar = handle, digest, pool, bar
        self._pending: Future | None = None

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        if self._pool is not None and chunk:
            if self._pending is not None:  # at most one chunk waits: memory stays bounded
                self._pending.result()
            self._pending = self._pool.submit(self._digest.update, chunk)
        self._bar.update(len(chunk))
        return chunk

    def finish(self) -> None:
        if self._pending is not None:
            self._pending.result()


class BlockScan:
    """Iterate :class:`Block` over ``path``; ``sha256`` and ``lines`` are set once exhausted."""

    def __init__(self, path: Path, desc: str | None = None, hash_content: bool = True) -> None:
        self.path = path
        self.desc = desc
        self.hash_content = hash_content
        self.sha256: str | None = None
        self.lines = 0

    def __iter__(self) -> Iterator[Block]:
        gzipped = compression(self.path) == "gzip"
        digest = hashlib.sha256()
        line_no, offset, tail = 1, 0, b""
        with (
            open(self.path, "rb") as raw,
            ThreadPoolExecutor(1, thread_name_prefix="sha256") if self.hash_content else nullcontext() as pool,
            progress(
                total=self.path.stat().st_size,
                unit="B",
                unit_scale=True,
                desc=self.desc,
                disable=self.desc is None,
                leave=False,
            ) as bar,
        ):
            tap = _HashingReader(raw, digest, pool, bar)
            handle = gzip.GzipFile(fileobj=tap, mode="rb") if gzipped else tap
            while chunk := self._read(handle, line_no, gzipped):
                data = tail + chunk
                cut = data.rfind(b"\n") + 1
                if cut == 0:
                    tail = data
                    continue
                block, tail = data[:cut], data[cut:]
                yield Block(line_no, offset, block)
                line_no += block.count(b"\n")
                offset += cut
            if tail:
                yield Block(line_no, offset, tail)
                line_no += 1
            if gzipped:
                while tap.read(BLOCK_BYTES):  # bytes after the last gzip member still belong to the file's hash
                    pass
            tap.finish()
        self.lines = line_no - 1
        if self.hash_content:
            self.sha256 = digest.hexdigest()

    def _read(self, handle, line_no: int, gzipped: bool) -> bytes:
        try:
            return handle.read(BLOCK_BYTES)
        except (EOFError, OSError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
            if not gzipped:
                raise
            raise StageError(f"{self.path.name}: the gzip data is damaged after line {line_no - 1:,} ({err})") from None
