"""A killed `prepare` resumes: the rerun reuses the parsed sources and ends with the same bytes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.sample_run import sample_config
from benchmarks.synthetic_sources import write_sources
from distillrecdial_kit.generation.prepare import INTERACTIONS_FILE, ITEMS_FILE, PROBLEMS_FILE, PROMPTS_FILE
from distillrecdial_kit.generation.prepare import run as prepare
from distillrecdial_kit.pipeline.manifest import MANIFEST_NAME

ARTEFACTS = (ITEMS_FILE, INTERACTIONS_FILE, PROMPTS_FILE, PROBLEMS_FILE, MANIFEST_NAME)


def prepare_command(src: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "distillrecdial_kit.pipeline.cli",
        "prepare",
        "--reviews",
        str(src / "Movies_and_TV.jsonl"),
        "--meta",
        str(src / "meta_Movies_and_TV.jsonl"),
        "--tmdb",
        str(src / "tmdb_movies.json"),
        "--out",
        str(out),
        "--k",
        "5",
    ]


def test_rerun_of_a_finished_run_is_idempotent_and_uses_the_cache(sample_run, tmp_path, capfd):
    out = tmp_path / "run"
    prepare(sample_config(out))
    capfd.readouterr()
    prepare(sample_config(out))
    assert capfd.readouterr().err.count("(cached)") == 3
    for name in ARTEFACTS:
        assert (out / name).read_bytes() == (sample_run / name).read_bytes(), name
    assert not list(out.glob(".*.tmp"))


def test_sigkill_after_parsing_then_rerun_gives_the_clean_result(tmp_path):
    src = tmp_path / "src"
    write_sources(src, 150_000, seed=3, bad_rate=0.001)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    subprocess.run(prepare_command(src, clean), check=True, capture_output=True, timeout=300)

    process = subprocess.Popen(prepare_command(src, killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((killed / ".cache" / "prepare").glob("reviews-*.json")):
        assert process.poll() is None and time.monotonic() < deadline, "prepare ended before it could be killed"
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert not (killed / PROMPTS_FILE).exists()

    rerun = subprocess.run(prepare_command(src, killed), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "reviews: " in rerun.stderr and "(cached)" in rerun.stderr.split("reviews: ", 1)[1].splitlines()[0]
    for name in ARTEFACTS:
        assert (killed / name).read_bytes() == (clean / name).read_bytes(), name
