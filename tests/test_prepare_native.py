"""The native JSONL reader keeps exactly the rows and problems of the per-line parser, whatever the lines hold.

`prepare` reads the dumps block by block with Arrow's JSON reader and hands
every line Arrow cannot vouch for to ``parse_review`` / ``parse_meta``. These
tests feed both readers lines that break the fast path in every known way and
compare rows, values, line numbers, byte offsets and the problem log.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pytest

from distillrecdial_kit.generation import amazon, block_scan, jsonl_columns
from distillrecdial_kit.generation.line_scan import LineScan
from distillrecdial_kit.pipeline.problems import ProblemLog
from tests.conftest import meta, review


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reference(path: Path, spec: jsonl_columns.ColumnSpec) -> tuple[list[tuple], ProblemLog]:
    """The per-line parser alone, over a plain line scan: what the native path must reproduce."""
    log = ProblemLog()
    rows = []
    data = path.read_bytes()
    starts = {1: 0}
    for number, found in enumerate(np.flatnonzero(np.frombuffer(data, np.uint8) == 10).tolist(), start=2):
        starts[number] = found + 1
    for line, raw in LineScan(path):
        row, problem = spec.parse_line(raw, path.name, line)
        if problem is not None:
            examples = spec.note_examples
            log.add(problem, listed=row is None or examples is None or log.counts[problem.reason] < examples)
        if row is not None:
            rows.append((*row, line, starts[line]))
    return rows, log


def native(path: Path, read) -> tuple[list[tuple], ProblemLog]:
    log = ProblemLog()
    table, scan = read(path, log)
    assert scan.sha256 == sha256(path)
    return [tuple(row.values()) for row in table.to_pylist()], log


def as_float32(rows: list[tuple], columns: tuple[int, ...]) -> list[tuple]:
    """The reference's Python floats as the float32 the table stores."""
    out = []
    for row in rows:
        row = list(row)
        for c in columns:
            if row[c] is not None:
                row[c] = float(np.float32(row[c]))
        out.append(tuple(row))
    return out


def nasty_reviews() -> list[bytes]:
    good = [orjson.dumps(review(f"AUSER{n}", f"B0ITEM{n % 7}", timestamp=1_600_000_000_000 + n)) for n in range(40)]
    odd = [
        b"",  # blank
        b"   ",  # whitespace only
        b'{"user_id": "AU1", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000, "text": "NaN"}',
        b'{"user_id": "AU2", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000, "x": NaN}',
        b'{"user_id": "AU3", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000, "x": Infinity}',
        b'{"user_id": "AU4", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000, "x": '
        + b"[" * 1100
        + b"]" * 1100
        + b"}",
        b"\xef\xbb\xbf" + orjson.dumps(review("AU5", "B01")),
        orjson.dumps(review("AU6", "B01")) + orjson.dumps(review("AU7", "B01")),
        b'{"user_id": 17, "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000}',
        b'{"user_id": " AU8 ", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000}',
        b'{"user_id": "AU\xc3\xa9", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000}',
        b'{"user_id": "AU9", "parent_asin": "B01", "rating": "4", "timestamp": 1600000000000}',
        b'{"user_id": "AU10", "parent_asin": "B01", "rating": true, "timestamp": 1600000000000}',
        b'{"user_id": "AU11", "parent_asin": "B01", "rating": 9, "timestamp": 1600000000000}',
        b'{"user_id": "AU12", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000}',
        b'{"user_id": "AU13", "parent_asin": "B01", "rating": 5, "timestamp": 1.6e12}',
        b'{"user_id": "AU14", "parent_asin": "B01", "rating": 5, "timestamp": -3}',
        b'{"user_id": "AU15", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000, "t": "\xff"}',
        b'{"user_id": "AU16", "user_id": "AU17", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000}',
        b'{"user_id": "AU18", "parent_asin": null, "rating": 5, "timestamp": 1600000000000}',
        b'{"user_id": "AU19", "parent_asin": "B01", "rating": 5}',
        b'{"user_id": "AU20", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000}\r',
        b'  {"user_id": "AU21", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000}',
        b'{"user_id": "AU22", "parent_asin": "B01", "rating": 5, "timestamp": 16000000000000000',
        b"[1, 2]",
        b'{"user_id": "", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000}',
        b'{"user_id": "AU23", "parent_asin": "B01", "rating": 5, "timestamp": 99999999999999999999}',
        b'{"user_id": "AU24", "parent_asin": "B01", "rating": 5, "timestamp": 1600000000000, "t": "\\ud800"}',
    ]
    lines = []
    for n, line in enumerate(odd):
        lines += good[n % 40 : n % 40 + 1] * 3 + [line]
    return lines + good


@pytest.fixture(params=[1 << 25, 700], ids=["one-block", "many-blocks"])
def block_bytes(request, monkeypatch):
    """The real block size, and blocks of a few lines (many native blocks, halving down to single lines)."""
    monkeypatch.setattr(block_scan, "BLOCK_BYTES", request.param)
    monkeypatch.setattr(jsonl_columns, "_SMALLEST_SPLIT", min(request.param, 1 << 16))
    return request.param


@pytest.mark.parametrize("ending", [b"\n", b""], ids=["newline-at-end", "no-newline-at-end"])
def test_reviews_native_equals_per_line(tmp_path, block_bytes, ending):
    path = tmp_path / "Movies_and_TV.jsonl"
    path.write_bytes(b"\n".join(nasty_reviews()) + ending)
    expected_rows, expected_log = reference(path, amazon.REVIEW_COLUMNS)
    rows, log = native(path, amazon.read_reviews)
    assert rows == as_float32(expected_rows, (2,))
    assert log.records == expected_log.records and log.counts == expected_log.counts
    assert {"malformed_json", "missing_field", "bad_value", "timestamp_in_seconds"} <= set(log.counts)


def test_a_clean_dump_never_goes_line_by_line_and_a_bad_line_costs_only_its_piece(tmp_path, monkeypatch):
    calls = []
    per_line = jsonl_columns._per_line
    monkeypatch.setattr(jsonl_columns, "_per_line", lambda block, c: calls.append(block) or per_line(block, c))
    records = [orjson.dumps(review(f"AUSER{n}", f"B0ITEM{n % 97}", text="x" * (n % 300))) for n in range(3000)]
    path = tmp_path / "Movies_and_TV.jsonl"
    path.write_bytes(b"\n".join(records) + b"\n")
    rows, _ = native(path, amazon.read_reviews)
    assert len(rows) == 3000 and calls == []
    monkeypatch.setattr(jsonl_columns, "_SMALLEST_SPLIT", 4096)
    records[1234] = records[1234][:40]
    path.write_bytes(b"\n".join(records) + b"\n")
    rows, log = native(path, amazon.read_reviews)
    assert len(rows) == 2999 and [(p.line, p.reason) for p in log.records] == [(1235, "malformed_json")]
    assert len(calls) == 1 and len(calls[0].data) <= 4096 and calls[0].first_line <= 1235


def test_meta_native_equals_per_line(tmp_path, block_bytes):
    metas = [orjson.dumps(meta(f"B0ITEM{n}", f"Movie {n}")) for n in range(30)]
    odd = [
        orjson.dumps(meta("B0X1", None)),
        orjson.dumps(meta("B0X2", "")),
        orjson.dumps(meta("B0X3", "  ab ")),
        orjson.dumps(meta("B0X4", "Amélie")),
        orjson.dumps(meta("B0X5", "!!")),
        orjson.dumps({**meta("B0X6", "Ok"), "average_rating": 7.5}),
        orjson.dumps({**meta("B0X7", "Ok"), "rating_number": -1}),
        orjson.dumps({**meta("B0X8", "Ok"), "average_rating": "4.5"}),
        orjson.dumps({**meta("B0X9", "Ok"), "title": 12}),
        orjson.dumps({**meta("B0X10", "Ok"), "store": None}),
        b'{"parent_asin": "B0X11", "title": "Half',
        orjson.dumps({**meta("B0X12", "Ok"), "parent_asin": None}),
    ]
    lines = []
    for n, line in enumerate(odd):
        lines += [*metas[2 * n : 2 * n + 2], line]
    path = tmp_path / "meta_Movies_and_TV.jsonl"
    path.write_bytes(b"\n".join(lines + metas) + b"\n")
    expected_rows, expected_log = reference(path, amazon.META_COLUMNS)
    rows, log = native(path, amazon.read_meta)
    assert rows == as_float32(expected_rows, (3,))
    assert log.records == expected_log.records
    lengths = {row[0]: row[5] for row in rows}
    assert lengths["B0X1"] is None and lengths["B0X2"] == 0 and lengths["B0X3"] == 5 and lengths["B0X4"] == 6


def test_gzip_blocks_give_the_plain_rows_and_the_hash_of_the_file_on_disk(tmp_path, block_bytes):
    plain = tmp_path / "Movies_and_TV.jsonl"
    plain.write_bytes(b"\n".join(nasty_reviews()) + b"\n")
    zipped = tmp_path / "Movies_and_TV.jsonl.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes(), mtime=0))
    rows, log = native(plain, amazon.read_reviews)
    rows_gz, log_gz = native(zipped, amazon.read_reviews)
    assert [r[:-1] for r in rows_gz] == [r[:-1] for r in rows]  # offsets are in the decompressed stream
    assert [r[-1] for r in rows_gz] == [r[-1] for r in rows]
    assert [(p.line, p.reason) for p in log_gz.records] == [(p.line, p.reason) for p in log.records]
    scan = block_scan.BlockScan(zipped)
    for _ in scan:
        pass
    assert scan.sha256 == sha256(zipped)


def test_review_texts_by_offset_equal_a_scan(tmp_path):
    path = tmp_path / "Movies_and_TV.jsonl"
    records = [review(f"AUSER{n}", "B0ITEM1", title=f"T{n}", text=f"Text <br />{n} &amp; more") for n in range(50)]
    path.write_bytes(b"\n\n".join(orjson.dumps(r) for r in records) + b"\n")
    log = ProblemLog()
    table, _ = amazon.read_reviews(path, log)
    wanted = table.filter(pa.array([n % 3 == 0 for n in range(table.num_rows)]))
    lines, offsets = wanted["line"].to_pylist(), wanted["offset"].to_pylist()
    by_offset = amazon.read_review_texts(path, lines, offsets)
    by_scan = amazon.read_review_texts(path, lines)
    assert by_offset == by_scan and len(by_offset) == 17
    assert by_offset[lines[1]] == ("T3", "Text\n3 & more")


def test_a_long_bad_line_alone_in_its_block_is_read_line_by_line(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonl_columns, "_SMALLEST_SPLIT", 1024)
    path = tmp_path / "Movies_and_TV.jsonl"
    path.write_bytes(b'{"user_id": "AU1", "text": "' + b"x" * 5000 + b"\n" + orjson.dumps(review("AU2", "B01")) + b"\n")
    rows, log = native(path, amazon.read_reviews)
    assert [r[0] for r in rows] == ["AU2"] and [(p.line, p.reason) for p in log.records] == [(1, "malformed_json")]


def test_visible_ends_reads_bytes_as_strip_would_see_the_text():
    """The buffer-level test equals its definition (non-empty, first and last character in ``!``..``~``)."""
    values = ["a", "ab", " a", "a ", "\ta", "a\n", "", None, "é", "aé", "éa", "a\x7f", "\x7fa", "~!", "a b", "\x00"]
    values += ["A" * 40, "x\u00a0", "\u3000y", "z\U0001f600", "~"]
    expected = [v is not None and v != "" and "!" <= v[0] <= "~" and "!" <= v[-1] <= "~" for v in values]
    for kind in (pa.string(), pa.large_string()):
        array = pa.array(values, kind)
        assert jsonl_columns.visible_ends(array).to_pylist() == expected
        assert jsonl_columns.visible_ends(array.slice(3, 9)).to_pylist() == expected[3:12]  # a view, not at 0
        chunked = pa.chunked_array([array.slice(0, 5), array.slice(5)])
        assert jsonl_columns.visible_ends(chunked).to_pylist() == expected
    assert jsonl_columns.visible_ends(pa.array(["", ""], pa.string())).to_pylist() == [False, False]  # no data bytes
