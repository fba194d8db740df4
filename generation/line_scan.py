"""Streaming line reader for multi-GB JSONL dumps: one pass, hashed, with progress.

The Amazon Reviews 2023 Movies_and_TV dump is ~17M lines. Reading it as
binary chunks and splitting on newlines keeps memory flat, lets the same pass
compute the file's SHA-256 for the manifest, and gives exact 1-based line
numbers for error messages.

Sources may be gzip-compressed (``.gz``, as the upstream dumps are
distributed): they are decompressed on the fly, and the hash is the one of the
file as it is on disk. Other compressions are refused by name, never read as
garbage.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from distillrecdial_kit.pipeline.console import progress
from distillrecdial_kit.pipeline.errors import StageError

CHUNK_BYTES = 1 << 23

#: Leading bytes of compressed files we do not read, and what to call them.
_REFUSED = (
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"PK\x03\x04", "zip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
)
_GZIP = b"\x1f\x8b"


def compression(path: Path) -> str | None:
    """``"gzip"`` for a gzip file, ``None`` for a plain one; a :class:`StageError` for other compressions."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(_GZIP):
        return "gzip"
    for magic, name in _REFUSED:
        if head.startswith(magic):
            raise StageError(
                f"{path.name} is {name}-compressed; only plain and gzip (.gz) files are read: decompress it first"
            )
    return None


class _Tap:
    """A read-only file wrapper that feeds every byte read to a hash and a progress bar."""

    def __init__(self, handle: BinaryIO, digest, bar) -> None:
        self._handle, self._digest, self._bar = handle, digest, bar

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        if self._digest is not None:
            self._digest.update(chunk)
        self._bar.update(len(chunk))
        return chunk


def read_source_bytes(path: Path) -> bytes:
    """The whole (decompressed) content of a source file."""
    if compression(path) != "gzip":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read()
    except (EOFError, OSError, zlib.error) as err:
        raise StageError(f"{path.name}: the gzip data is damaged ({err})") from None


def _read(handle, path: Path, line_no: int, gzipped: bool) -> bytes:
    if not gzipped:
        return handle.read(CHUNK_BYTES)
    try:
        return handle.read(CHUNK_BYTES)
    except (EOFError, OSError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise StageError(f"{path.name}: the gzip data is damaged after line {line_no:,} ({err})") from None


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
        gzipped = compression(self.path) == "gzip"
        line_no = 0
        tail = b""
        with (
            open(self.path, "rb") as raw_handle,
            progress(
                total=total, unit="B", unit_scale=True, desc=self.desc, disable=self.desc is None, leave=False
            ) as bar,
        ):
            tap = _Tap(raw_handle, self._digest, bar)
            handle = gzip.GzipFile(fileobj=tap, mode="rb") if gzipped else tap
            while chunk := _read(handle, self.path, line_no, gzipped):
                pieces = (tail + chunk).split(b"\n")
                tail = pieces.pop()
                for raw in pieces:
                    line_no += 1
                    if raw.strip():
                        yield line_no, raw
            if tail.strip():
                line_no += 1
                yield line_no, tail
            if gzipped:
                while tap.read(CHUNK_BYTES):  # bytes after the last gzip member still belong to the file's hash
                    pass
        self.lines = line_no
        if self._digest is not None:
            self.sha256 = self._digest.hexdigest()
