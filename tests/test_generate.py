"""The `generate` stage with the template backend: raw schema, resume, shards and merge, kills."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from benchmarks.synthetic_sources import write_sources
from distillrecdial_kit.generation.prepare import PROMPTS_FILE, PrepareConfig
from distillrecdial_kit.generation.prepare import run as prepare
from distillrecdial_kit.generation.raw_store import MERGED_NAME, open_shard, read_records
from distillrecdial_kit.pipeline.cli import main, run_stage
from distillrecdial_kit.pipeline.layout import GENERATOR_FILE
from tests.conftest import assert_raw_record, run_with_prompts


def gen_args(run: Path, *extra: str) -> list[str]:
    return ["generate", "--run", str(run), "--role", "teacher", *extra]


@pytest.fixture
def run(sample_run, tmp_path) -> Path:
    """A fresh copy of the prepared sample (only what generate reads)."""
    return run_with_prompts(sample_run, tmp_path / "run")


def records(path: Path) -> list[dict]:
    return list(read_records(path))


def test_template_run_writes_raw_records_for_every_prompt(run):
    entry = run_stage(gen_args(run))
    prompts = [orjson.loads(x) for x in (run / PROMPTS_FILE).read_bytes().splitlines()]
    merged = records(run / "raw" / "teacher" / MERGED_NAME)
    assert entry["written"] == entry["valid"] == len(prompts) == len(merged)
    assert [(r["user_id"], r["persona"]) for r in merged] == [(p["user_id"], p["persona"]) for p in prompts]
    for record in merged:
        assert_raw_record(record)
        assert record["generator"]["backend"] == "template" and record["generator"]["role"] == "teacher"
    assert len({r["dialogue_id"] for r in merged}) == len(merged)


def test_rerun_does_nothing_new_and_changed_settings_are_refused(run, capsys):
    run_stage(gen_args(run))
    before = (run / "raw" / "teacher" / MERGED_NAME).read_bytes()
    entry = run_stage(gen_args(run))
    assert entry["written"] == 0 and entry["already_done"] == entry["prompts"]
    assert (run / "raw" / "teacher" / MERGED_NAME).read_bytes() == before
    assert main(["generate", "--run", str(run), "--role", "teacher", "--temperature", "0.2"]) == 2
    assert "temperature differ" in capsys.readouterr().err
    assert (run / "raw" / "teacher" / GENERATOR_FILE).exists()


def test_users_file_keeps_only_those_users_and_a_later_call_adds_the_rest_in_prompt_order(run, tmp_path, capsys):
    """`--users distill/validation.jsonl` is how a student writes for the held-out users only."""
    prompts = [orjson.loads(x) for x in (run / PROMPTS_FILE).read_bytes().splitlines()]
    chosen = sorted({p["user_id"] for p in prompts})[:3]
    users = tmp_path / "validation.jsonl"
    users.write_bytes(b"".join(orjson.dumps({"user_id": u, "messages": []}) + b"\n" for u in chosen) + b"{bad\n")
    entry = run_stage(gen_args(run, "--users", str(users)))
    written = records(run / "raw" / "teacher" / MERGED_NAME)
    assert {r["user_id"] for r in written} == set(chosen)
    assert entry["written"] == len([p for p in prompts if p["user_id"] in chosen]) == len(written)
    assert entry["users"] == {"file": "validation.jsonl", "users": 3}  # outside the run: no local path
    assert entry["skipped_lines"]["counts"]  # the bad line is named, not a traceback
    run_stage(gen_args(run))  # everyone else: the merged file follows the prompts file's order
    merged = records(run / "raw" / "teacher" / MERGED_NAME)
    assert [(r["user_id"], r["persona"]) for r in merged] == [(p["user_id"], p["persona"]) for p in prompts]
    assert main(gen_args(run, "--users", str(tmp_path / "missing.jsonl"))) == 2
    assert "missing.jsonl: no such file" in capsys.readouterr().err


def test_three_shards_merge_to_the_single_run_and_duplicates_are_rejected(run, tmp_path, capsys):
    single = tmp_path / "single"
    shutil.copytree(run, single)
    run_stage(gen_args(single))
    for index in range(3):
        run_stage(gen_args(run, "--num-shards", "3", "--shard-index", str(index)))
    shard_sizes = [len(records(p)) for p in sorted((run / "raw" / "teacher").glob("shard-*"))]
    assert len(shard_sizes) == 3 and all(shard_sizes)
    # Simulate a shard copied twice onto the merging machine: one record repeated in another shard.
    first = (run / "raw" / "teacher" / "shard-00000-of-00003.jsonl").read_bytes().splitlines(keepends=True)[0]
    with open(run / "raw" / "teacher" / "shard-00001-of-00003.jsonl", "ab") as handle:
        handle.write(first)
    assert main(["merge", "--run", str(run), "--role", "teacher"]) == 0
    assert "1 duplicate ids rejected; 0 prompts still without a dialogue" in capsys.readouterr().out
    assert (run / "raw" / "teacher" / MERGED_NAME).read_bytes() == (
        single / "raw" / "teacher" / MERGED_NAME
    ).read_bytes()


def test_a_torn_last_line_is_dropped_and_redone(run):
    run_stage(gen_args(run, "--limit", "5"))
    shard = run / "raw" / "teacher" / "shard-00000-of-00001.jsonl"
    lines = shard.read_bytes().splitlines(keepends=True)
    shard.write_bytes(b"".join(lines[:3]) + lines[3][:40])  # killed mid-write of record 4
    state = open_shard(shard)
    assert len(state.done) == 3 and state.torn_bytes == 40
    entry = run_stage(gen_args(run, "--limit", "5"))
    assert entry["written"] == 2 and entry["already_done"] == 3
    assert shard.read_bytes() == b"".join(lines)


def test_sigkill_midway_then_rerun_does_every_prompt_exactly_once(tmp_path):
    src = tmp_path / "src"
    write_sources(src, 60_000, seed=5)
    run = tmp_path / "run"
    prepare(
        PrepareConfig(
            str(src / "Movies_and_TV.jsonl"),
            str(src / "meta_Movies_and_TV.jsonl"),
            str(src / "tmdb_movies.json"),
            run,
            k=3,
        )
    )
    n_prompts = len((run / PROMPTS_FILE).read_bytes().splitlines())
    command = [
        sys.executable,
        "-m",
        "distillrecdial_kit.pipeline.cli",
        "generate",
        "--run",
        str(run),
        "--role",
        "teacher",
        "--batch-size",
        "1",
    ]
    shard = run / "raw" / "teacher" / "shard-00000-of-00001.jsonl"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (shard.exists() and shard.stat().st_size > 200_000):
        assert process.poll() is None and time.monotonic() < deadline, "generate ended before it could be killed"
        time.sleep(0.002)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = len(open_shard(shard).done)
    assert 0 < partial < n_prompts

    assert subprocess.run(command, capture_output=True, timeout=300).returncode == 0
    ids = [r["dialogue_id"] for r in records(shard)]
    assert len(ids) == len(set(ids)) == n_prompts
    assert len(records(run / "raw" / "teacher" / MERGED_NAME)) == n_prompts


def test_missing_prompts_and_bad_shard_index_are_clear_errors(tmp_path, capsys):
    assert main(["generate", "--run", str(tmp_path), "--role", "teacher"]) == 2
    assert "prompts.jsonl not found" in capsys.readouterr().err
    assert (
        main(["generate", "--run", str(tmp_path), "--role", "teacher", "--num-shards", "2", "--shard-index", "2"]) == 2
    )
    assert main(["generate", "--run", str(tmp_path), "--role", "student", "--backend", "vllm"]) == 2
    assert "needs --model" in capsys.readouterr().err


def test_one_failing_prompt_fails_alone():
    from distillrecdial_kit.generation.backends import isolate_failures

    def run(batch):
        if any(p["user_id"] == "bad" for p in batch):
            raise ValueError("prompt too long")
        return [f"ok {p['user_id']}" for p in batch]

    results = isolate_failures(run, [{"user_id": "a"}, {"user_id": "bad"}, {"user_id": "c"}])
    assert results[0] == "ok a" and results[2] == "ok c"
    assert isinstance(results[1], ValueError)
