"""A few columns of a multi-GB JSONL dump, read by Arrow's native JSON reader, tolerant of bad lines.

Why: a Python loop over 17M lines (``orjson.loads`` + field checks per line)
was most of `prepare`'s time. Here each block of whole lines is parsed by
``pyarrow.json`` with an explicit schema, and only what the native reader
cannot vouch for goes through the exact per-line Python parser:

* a block, when Arrow rejects it (a malformed line, a field of another type,
  a repeated key), when it is not valid UTF-8, when a line does not start with
  ``{`` (blank lines, arrays, a byte-order mark) or when the row count differs
  from the line count (two objects on one line) — cut in 16 pieces tried again,
  down to 64 KiB, so one bad line costs a few dozen lines, not the block;
* single rows the caller's ``clean`` test does not accept (missing, padded or
  out-of-range values: they need the per-line rules and their problem records),
  and lines Arrow accepts but ``orjson`` would not (``NaN``/``Infinity``
  literals, very deep nesting).

So the kept rows, their values and the problems (with their order) are those
of the per-line parser alone; the native path only makes the common case fast.
Every row carries its 1-based ``line`` and the byte ``offset`` of that line,
so a later pass can fetch the line again without scanning the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from distillrecdial_kit.generation.block_scan import Block, BlockScan
from distillrecdial_kit.pipeline.problems import Problem, ProblemLog

#: Arrow's parser accepts these literals in any field, ``orjson`` (the reference parser) does not.
_NON_JSON_LITERALS = re.compile(rb"NaN|Infinity")
#: A line with this many ``[`` / ``{`` may nest deeper than ``orjson`` accepts: the per-line parser decides.
_DEEP = 512
_NATIVE_BLOCK = 1 << 20
#: A failing block is cut in this many pieces, each tried again, down to this size; then its lines go one by one.
_PIECES = 16
_SMALLEST_SPLIT = 1 << 16

LineParser = Callable[[bytes, str, int], tuple[tuple | None, Problem | None]]


@dataclass(frozen=True)
class ColumnSpec:
    """What to read from each line, and how the fast path hands rows over to the per-line parser.

    ``json_schema`` names the JSON fields with their expected Arrow types;
    ``clean(table)`` says which natively parsed rows need no per-line rule;
    ``convert(table)`` turns those rows into the output columns (``schema``
    minus ``line`` and ``offset``); ``parse_line`` is the exact parser, giving
    the same columns as a tuple, or the problem. ``note_examples``: problems on
    a *kept* row are notes, of which only that many are listed (``None``: all).
    """

    json_schema: pa.Schema
    schema: pa.Schema
    clean: Callable[[pa.Table], pa.Array]
    convert: Callable[[pa.Table], list[pa.Array]]
    parse_line: LineParser
    note_examples: int | None = None


def visible_ends(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """True where a string is non-empty and starts and ends with visible ASCII (``strip()`` keeps it as is).

    Reads the first and last byte of each value straight from Arrow's buffers: a regular expression per value
    took a second per 2M reviews. A byte in ``!``..``~`` is a whole ASCII character, never part of a longer
    UTF-8 one, so checking bytes is checking characters. Null is False.
    """
    if isinstance(column, pa.ChunkedArray):
        return pa.chunked_array([_visible_ends(chunk) for chunk in column.chunks], pa.bool_())
    return _visible_ends(column)


def _visible_ends(array: pa.Array) -> pa.Array:
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        raise TypeError(f"visible_ends needs strings, not {array.type}")
    _, offsets_buffer, data_buffer = array.buffers()
    width = np.int64 if pa.types.is_large_string(array.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    first = np.zeros(len(array), dtype=np.uint8)
    last = np.zeros(len(array), dtype=np.uint8)
    first[filled] = data[starts[filled]]
    last[filled] = data[ends[filled] - 1]
    visible = filled & (first >= 0x21) & (first <= 0x7E) & (last >= 0x21) & (last <= 0x7E)
    if array.null_count:
        visible &= array.is_valid().to_numpy(zero_copy_only=False)
    return pa.array(visible, pa.bool_())


def _valid_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


class _Collector:
    """Rows of one block in line order, native and per-line, plus the problems in line order."""

    def __init__(self, spec: ColumnSpec, name: str, problems: ProblemLog) -> None:
        self.spec, self.name, self.problems = spec, name, problems
        self.rows: list[tuple] = []

    def parse(self, raw: bytes, line: int, offset: int) -> None:
        row, problem = self.spec.parse_line(raw, self.name, line)
        if problem is not None:
            examples = self.spec.note_examples
            listed = row is None or examples is None or self.problems.counts[problem.reason] < examples
            self.problems.add(problem, listed=listed)
        if row is not None:
            self.rows.append((*row, line, offset))

    def table(self) -> pa.Table:
        columns = list(zip(*self.rows, strict=True)) if self.rows else [[] for _ in self.spec.schema]
        return pa.Table.from_arrays(
            [pa.array(list(c), f.type) for c, f in zip(columns, self.spec.schema, strict=True)], schema=self.spec.schema
        )


def _per_line(block: Block, collector: _Collector) -> None:
    """The exact path: every line of the block through the per-line parser (blank lines skipped but counted)."""
    position = 0
    pieces = block.data.split(b"\n")
    if block.data.endswith(b"\n"):
        pieces.pop()
    for index, raw in enumerate(pieces):
        if raw.strip():
            collector.parse(raw, block.first_line + index, block.offset + position)
        position += len(raw) + 1


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found, at = [], data.find(needle)
    while at >= 0:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


def _suspect_lines(data: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Lines Arrow may accept but ``orjson`` may not: with ``NaN``/``Infinity`` (even in a string), or nested deep."""
    suspect = np.zeros(len(starts), dtype=bool)
    hits = _find_all(data, b"NaN") + _find_all(data, b"Infinity")
    if hits:
        suspect[np.searchsorted(ends, hits)] = True
    for index in np.flatnonzero(ends - starts >= 2 * _DEEP).tolist():  # shorter lines cannot nest _DEEP levels
        start, end = int(starts[index]), int(ends[index])
        if data.count(b"[", start, end) + data.count(b"{", start, end) >= _DEEP:
            suspect[index] = True
    return suspect


def _native(block: Block, spec: ColumnSpec, name: str, problems: ProblemLog) -> pa.Table | None:
    """The block's rows by the native reader, or ``None`` when the whole block must go line by line."""
    data = block.data
    if data[:1] != b"{" or not _valid_utf8(data):
        return None
    try:
        parsed = pj.read_json(
            pa.BufferReader(data),
            read_options=pj.ReadOptions(block_size=_NATIVE_BLOCK),
            parse_options=pj.ParseOptions(explicit_schema=spec.json_schema, unexpected_field_behavior="ignore"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    buffer = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buffer == 10)
    if not data.endswith(b"\n"):
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    if parsed.num_rows != len(starts) or not (buffer[starts] == ord("{")).all():
        return None
    suspect = _suspect_lines(data, starts, ends)
    keep = spec.clean(parsed).to_numpy(zero_copy_only=False) & ~suspect
    lines = block.first_line + np.arange(len(starts), dtype=np.int64)
    offsets = block.offset + starts.astype(np.int64)
    fast = parsed.filter(pa.array(keep))
    fast_table = pa.Table.from_arrays(
        [*spec.convert(fast), pa.array(lines[keep]), pa.array(offsets[keep])], schema=spec.schema
    )
    redo = np.flatnonzero(~keep)
    if redo.size == 0:
        return fast_table
    collector = _Collector(spec, name, problems)
    for index in redo.tolist():
        collector.parse(data[starts[index] : ends[index]], int(lines[index]), int(offsets[index]))
    return pa.concat_tables([fast_table, collector.table()]).sort_by("line")


def _read_block(block: Block, spec: ColumnSpec, name: str, problems: ProblemLog, tables: list[pa.Table]) -> None:
    """Natively if possible; else in 16 pieces, each tried again, so one bad line costs a small piece, not 32 MiB."""
    table = _native(block, spec, name, problems)
    if table is not None:
        tables.append(table)
        return
    data = block.data
    step = max(len(data) // _PIECES, 1)
    if len(data) <= _SMALLEST_SPLIT or data.find(b"\n", step) in (-1, len(data) - 1):  # small, or one line
        collector = _Collector(spec, name, problems)
        _per_line(block, collector)
        tables.append(collector.table())
        return
    line, begin = block.first_line, 0
    while begin < len(data):
        end = data.find(b"\n", begin + step) + 1 or len(data)
        _read_block(Block(line, block.offset + begin, data[begin:end]), spec, name, problems, tables)
        line += data.count(b"\n", begin, end)
        begin = end


def read_columns(path: Path, spec: ColumnSpec, problems: ProblemLog, desc: str | None) -> tuple[pa.Table, BlockScan]:
    """All usable lines of ``path`` as a table of ``spec.schema``; the scan holds the file's SHA-256."""
    scan = BlockScan(path, desc=desc)
    name = path.name
    tables: list[pa.Table] = []
    for block in scan:
        _read_block(block, spec, name, problems, tables)
    if not tables:
        return spec.schema.empty_table(), scan
    return pa.concat_tables(tables), scan
