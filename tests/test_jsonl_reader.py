"""The one JSONL reader: every bad line skipped, counted and named; only a torn last line is a torn tail."""

from __future__ import annotations

import os

import orjson
import pytest

from distillrecdial_kit.generation.raw_store import open_shard, raw_reader
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.jsonl import JsonlReader, read_jsonl, require
from distillrecdial_kit.pipeline.lock import LOCKED_EXIT, exclusive_lock
from distillrecdial_kit.pipeline.problems import ProblemLog


def write(path, *lines: bytes) -> None:
    path.write_bytes(b"".join(lines))


def test_bad_lines_anywhere_are_skipped_counted_and_named_by_their_real_line(tmp_path):
    path = tmp_path / "f.jsonl"
    write(
        path,
        b'{"a": 1}\n',
        b"\n",  # blank: not a record, but it keeps its line number
        b"{broken\n",
        b"[1, 2]\n",
        b'{"a": "text"}\n',
        b'{"b": 2}\n',
        b'{"a": true}\n',
        b'{"a": 7}\n',
    )
    problems = ProblemLog()
    reader = JsonlReader(path, "runs/x/f.jsonl", require(a=int), problems)
    assert list(reader.numbered()) == [(1, {"a": 1}), (8, {"a": 7})]
    assert reader.records == 2
    assert [str(p) for p in problems.records] == [
        "runs/x/f.jsonl:3: malformed_json: unexpected character, expected a string key",
        "runs/x/f.jsonl:4: not_an_object",
        "runs/x/f.jsonl:5: bad_type (a)",
        "runs/x/f.jsonl:6: missing_field (a)",
        "runs/x/f.jsonl:7: bad_type (a)",  # a bool is not a number
    ]
    assert problems.summary()["counts"] == {"bad_type": 2, "malformed_json": 1, "missing_field": 1, "not_an_object": 1}


def test_only_an_unterminated_unparsable_last_line_is_torn(tmp_path):
    path = tmp_path / "f.jsonl"
    write(path, b'{"a": 1}\n', b'{"a": 2}')  # complete record, newline lost: read
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]
    write(path, b'{"a": 1}\n', b'{"a": ')  # killed mid-write
    problems = ProblemLog()
    assert read_jsonl(path, problems=problems) == [{"a": 1}]
    assert [p.reason for p in problems.records] == ["torn_last_line"]


def raw(n: int) -> dict:
    return {
        "dialogue_id": f"id{n}",
        "user_id": f"u{n}",
        "persona": "fully_expressive",
        "target_item": "B01",
        "history": [{"item_id": "B02", "rating": 5.0}],
        "prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "response": "[USR] hi",
        "generator": {"model": "m"},
        "turns": [],
        "valid": n % 2 == 0,
        "problems": [] if n % 2 == 0 else ["too_few_turns: 1"],
    }


def line(n: int) -> bytes:
    return orjson.dumps(raw(n)) + b"\n"


def test_open_shard_cuts_a_torn_tail_and_nothing_else(tmp_path):
    shard = tmp_path / "raw" / "teacher" / "shard-00000-of-00001.jsonl"
    shard.parent.mkdir(parents=True)
    write(shard, line(0), b"{garbage\n", line(2), line(3)[:30])
    state = open_shard(shard)
    assert state.done == {"id0", "id2"} and state.torn_bytes == 30
    assert [str(p) for p in state.bad] == [
        "raw/teacher/shard-00000-of-00001.jsonl:2: malformed_json: unexpected character, expected a string key"
    ]
    assert shard.read_bytes() == line(0) + b"{garbage\n" + line(2)
    assert state.totals(1, 0, {"x": 1}) == {"records": 3, "valid": 2, "problems": {"x": 1}, "bad_lines": 1}


def test_open_shard_completes_a_last_record_that_lost_only_its_newline(tmp_path):
    shard = tmp_path / "raw" / "teacher" / "shard-00000-of-00001.jsonl"
    shard.parent.mkdir(parents=True)
    write(shard, line(0), line(1)[:-1])
    state = open_shard(shard)
    assert state.done == {"id0", "id1"} and state.torn_bytes == 0
    assert state.valid == 1 and state.problems == {"too_few_turns": 1}
    assert shard.read_bytes() == line(0) + line(1)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"dialogue_id": None}, "missing_field (dialogue_id)"),
        ({"response": ["x"]}, "bad_type (response)"),
        ({"persona": "nobody"}, "bad_value (persona)"),
        ({"history": [{"item_id": "B0", "rating": "five"}]}, "bad_type (history)"),
        ({"prompt": []}, "bad_type (prompt)"),
    ],
)
def test_raw_records_a_stage_cannot_use_are_skipped_everywhere(tmp_path, change, reason):
    path = tmp_path / "dialogues.jsonl"
    write(path, line(0), orjson.dumps({**raw(1), **change}) + b"\n", line(2))
    problems = ProblemLog()
    assert [r["dialogue_id"] for r in raw_reader(path, problems=problems)] == ["id0", "id2"]
    assert [str(p) for p in problems.records] == [f"dialogues.jsonl:2: {reason}"]


def test_a_held_lock_refuses_with_the_holders_pid_and_is_emptied_on_release(tmp_path):
    path = tmp_path / ".locks" / "x.lock"
    with exclusive_lock(path, "stage x"):
        assert path.read_text() == f"{os.getpid()}\n"
        busy = rf"stage x is busy: another process \(pid {os.getpid()}\)"
        with pytest.raises(StageError, match=busy) as err, exclusive_lock(path, "stage x"):
            pass
        assert err.value.exit_code == LOCKED_EXIT
    assert path.read_text() == ""
    with exclusive_lock(path, "stage x"):
        pass


def test_open_shard_ends_an_unterminated_bad_last_line_so_the_next_record_is_not_glued_to_it(tmp_path):
    shard = tmp_path / "raw" / "teacher" / "shard-00000-of-00001.jsonl"
    shard.parent.mkdir(parents=True)
    write(shard, line(0), b'{"not": "a raw record"}')
    state = open_shard(shard)
    assert state.done == {"id0"} and [p.reason for p in state.bad] == ["missing_field"]
    assert shard.read_bytes() == line(0) + b'{"not": "a raw record"}\n'
