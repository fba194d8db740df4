"""Fault injection: every stage SIGKILLed at several points, then rerun, ends byte-identical to a clean run;
two `generate` processes on one shard write each dialogue once.

Kills land at named fault points (``pipeline.faults``: a temporary file
complete but not moved into place, half a record line on disk, a batch just
made durable, the sources parsed, the Hub folder staged), so each run is exact
and fast. The pipeline is the embedded sample with the template writer.
"""

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

from benchmarks.sample_run import SAMPLE
from distillrecdial_kit.generation.prepare import PROMPTS_FILE
from distillrecdial_kit.generation.raw_store import MERGED_NAME, shard_name
from distillrecdial_kit.pipeline.faults import ENV
from distillrecdial_kit.pipeline.lock import LOCKED_EXIT
from distillrecdial_kit.pipeline.manifest import MANIFEST_NAME

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHARD = Path("raw") / "teacher" / shard_name(0, 1)

STAGES = {
    "prepare": [
        "prepare",
        "--reviews",
        str(SAMPLE / "Movies_and_TV.jsonl"),
        "--meta",
        str(SAMPLE / "meta_Movies_and_TV.jsonl"),
        "--tmdb",
        str(SAMPLE / "tmdb_movies.json"),
        "--out",
        "{run}",
    ],
    "generate": ["generate", "--run", "{run}", "--role", "teacher", "--batch-size", "8"],
    "distill": ["distill", "--run", "{run}"],
    "build": ["build", "--run", "{run}", "--roles", "teacher", "--allow-template"],
}

#: Where each stage is killed: atomic writes are numbered in the order the stage makes them.
KILLS = [
    ("prepare", "atomic.before_replace:1"),  # the first parsed source half-cached
    ("prepare", "prepare.after_parse"),  # everything parsed and cached, nothing written
    ("prepare", "atomic.before_replace:8"),  # items.parquet in place, interactions not yet
    ("generate", "shard.mid_record:1"),  # a torn first line
    ("generate", "shard.mid_record:6"),  # a torn line after five durable batches
    ("generate", "shard.after_batch:13"),  # every dialogue written, nothing merged
    ("generate", "atomic.before_replace:2"),  # dialogues.jsonl merged, not moved into place
    ("distill", "atomic.before_replace:1"),  # train.jsonl complete, not in place
    ("distill", "atomic.before_replace:3"),  # both splits in place, card and manifest not
    ("build", "atomic.before_replace:3"),  # the Hub folder half staged
    ("build", "build.before_swap"),  # the Hub folder staged, the old one still there
]

#: Fields of a `generate` entry about the last invocation only (the ``totals`` describe the shard).
INVOCATION_FIELDS = ("already_done", "written", "valid", "problems", "retries", "finish_reasons")


def command(stage: str, run: Path) -> list[str]:
    return [sys.executable, "-m", "distillrecdial_kit.pipeline.cli", *(a.format(run=run) for a in STAGES[stage])]


def launch(stage: str, run: Path, failpoint: str | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if failpoint:
        env[ENV] = failpoint
    return subprocess.Popen(
        command(stage, run), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out + err


def snapshot(run: Path) -> dict[str, bytes]:
    """Every file of the run folder (lock files included: empty once released), the manifest normalised."""
    files = {}
    for path in sorted(run.rglob("*")):
        relative = path.relative_to(run)
        if path.is_dir():
            continue
        data = path.read_bytes()
        if relative.as_posix() == MANIFEST_NAME:
            manifest = orjson.loads(data)
            for name, entry in manifest["stages"].items():
                if name.startswith("generate:"):
                    for field in INVOCATION_FIELDS:
                        entry.pop(field, None)
            data = orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
        files[relative.as_posix()] = data
    return files


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, tuple[Path, dict[str, bytes]]]:
    """An uninterrupted run: per stage, a copy of the folder before it and a snapshot after it."""
    base = tmp_path_factory.mktemp("clean")
    run = base / "run"
    states = {}
    for stage in STAGES:
        before = base / f"before-{stage}"
        if run.exists():
            shutil.copytree(run, before)
        else:
            before.mkdir()
        code, output = finish(launch(stage, run))
        assert code == 0, output
        states[stage] = (before, snapshot(run))
    return states


@pytest.mark.parametrize(("stage", "point"), KILLS, ids=[f"{s}-{p}" for s, p in KILLS])
def test_killed_stage_reruns_to_the_clean_bytes(clean, tmp_path, stage, point):
    before, expected = clean[stage]
    run = tmp_path / "run"
    shutil.copytree(before, run)
    code, output = finish(launch(stage, run, point))
    assert code == -signal.SIGKILL, f"{stage} was not killed at {point}: {output}"
    code, output = finish(launch(stage, run))
    assert code == 0, output
    if stage == "generate" and point.startswith("shard.mid_record"):
        assert "repaired a torn tail" in output
    got = snapshot(run)
    assert sorted(got) == sorted(expected), "no leftovers, nothing missing"
    differ = [name for name in expected if got[name] != expected[name]]
    assert differ == []


def wait_stopped(process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        state = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return
        assert process.poll() is None and time.monotonic() < deadline, "the first generate never reached its pause"
        time.sleep(0.01)


def test_a_second_generate_on_a_held_shard_is_refused_with_the_holders_pid(clean, tmp_path):
    before, _ = clean["generate"]
    run = tmp_path / "run"
    shutil.copytree(before, run)
    first = launch("generate", run, "shard.after_batch:2:stop")  # paused mid-run, holding its lock
    try:
        wait_stopped(first)
        code, output = finish(launch("generate", run), timeout=60)
        assert code == LOCKED_EXIT, output
        assert f"pid {first.pid}" in output and "Traceback" not in output
    finally:
        first.kill()
        first.wait()
    code, output = finish(launch("generate", run))  # the lock died with its holder
    assert code == 0, output
    ids = [orjson.loads(line)["dialogue_id"] for line in (run / SHARD).read_bytes().splitlines()]
    assert len(ids) == len(set(ids)) == len((run / PROMPTS_FILE).read_bytes().splitlines())


def many_prompts(source: Path, run: Path, copies: int) -> int:
    """``source``'s prompts repeated as ``copies`` distinct users each: a run long enough to overlap another."""
    run.mkdir(parents=True)
    prompts = [orjson.loads(line) for line in (source / PROMPTS_FILE).read_bytes().splitlines()]
    with open(run / PROMPTS_FILE, "wb") as handle:
        for copy in range(copies):
            for prompt in prompts:
                twin = dict(prompt, user_id=f"{prompt['user_id']}-{copy}", prompt_id=f"{prompt['prompt_id']}-{copy}")
                handle.write(orjson.dumps(twin) + b"\n")
    return copies * len(prompts)


def test_two_concurrent_generates_on_one_shard_write_each_id_once(clean, tmp_path):
    before, _ = clean["generate"]
    run = tmp_path / "run"
    total = many_prompts(before, run, copies=4)
    args = ["--batch-size", "1"]
    processes = [
        subprocess.Popen(
            [*command("generate", run), *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [finish(p, timeout=240) for p in processes]
    for code, output in results:
        assert code in (0, LOCKED_EXIT), output
        assert "Traceback" not in output
    ids = [orjson.loads(line)["dialogue_id"] for line in (run / SHARD).read_bytes().splitlines()]
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} dialogues written twice"
    code, output = finish(launch("generate", run))
    assert code == 0, output
    ids = [orjson.loads(line)["dialogue_id"] for line in (run / SHARD).read_bytes().splitlines()]
    assert len(ids) == len(set(ids)) == total
    assert len((run / "raw" / "teacher" / MERGED_NAME).read_bytes().splitlines()) == total
