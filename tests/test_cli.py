"""The `distillrecdial` console command as a user meets it: help, and a full `prepare` with its summary."""

from __future__ import annotations

import shutil
import subprocess
import sys

from benchmarks.sample_run import SAMPLE
from distillrecdial_kit.generation.personas import PERSONAS


def cli(*args: str) -> subprocess.CompletedProcess:
    command = shutil.which("distillrecdial")
    base = [command] if command else [sys.executable, "-m", "distillrecdial_kit.pipeline.cli"]
    return subprocess.run([*base, *args], capture_output=True, text=True, timeout=300)


def test_help_lists_stages_and_prepare_options():
    top = cli("--help")
    assert top.returncode == 0 and "prepare" in top.stdout
    sub = cli("prepare", "--help")
    assert sub.returncode == 0
    for option in ("--reviews", "--meta", "--tmdb", "--out", "--k", "--seed", "--persona-weights", "--from-hub"):
        assert option in sub.stdout


def test_prepare_prints_a_summary_with_users_items_personas_and_drops(tmp_path):
    result = cli(
        "prepare",
        "--reviews",
        str(SAMPLE / "Movies_and_TV.jsonl"),
        "--meta",
        str(SAMPLE / "meta_Movies_and_TV.jsonl"),
        "--tmdb",
        str(SAMPLE / "tmdb_movies.json"),
        "--out",
        str(tmp_path / "run"),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert " users, " in out and " items, " in out and "(k=12)" in out
    assert all(p.id in out for p in PERSONAS)
    assert "no_tmdb_match" in out and "below_k" in out
    assert (tmp_path / "run" / "manifest.json").exists()


def test_bad_option_values_are_rejected_without_traceback(tmp_path):
    result = cli(
        "prepare",
        "--reviews",
        "r",
        "--meta",
        "m",
        "--tmdb",
        "t",
        "--out",
        str(tmp_path),
        "--persona-weights",
        "nobody=1",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bad persona weight" in result.stderr


def test_every_stage_takes_quiet_and_verbose():
    from distillrecdial_kit.pipeline.cli import build_parser

    stages = build_parser()._subparsers._group_actions[0].choices
    for name, parser in stages.items():
        text = parser.format_help()
        assert "--quiet" in text and "--verbose" in text, name


def test_quiet_leaves_only_the_summary_and_verbose_adds_notes(tmp_path):
    sources = ("--reviews", str(SAMPLE / "Movies_and_TV.jsonl"), "--meta", str(SAMPLE / "meta_Movies_and_TV.jsonl"))
    sources += ("--tmdb", str(SAMPLE / "tmdb_movies.json"))
    quiet = cli("prepare", *sources, "--out", str(tmp_path / "quiet"), "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "" and quiet.stdout.startswith("prepare: 103 users, 116 items")
    generated = cli("generate", "--run", str(tmp_path / "quiet"), "--role", "teacher", "-q")
    assert generated.returncode == 0 and generated.stderr == ""
    assert generated.stdout.startswith("generate (teacher, template): 103 prompts")
    normal = cli("prepare", *sources, "--out", str(tmp_path / "normal"))
    assert "prepare: " in normal.stderr  # the stage's notes, which --quiet hides
    assert normal.stdout == quiet.stdout.replace(str(tmp_path / "quiet"), str(tmp_path / "normal"))


def test_a_quiet_stage_does_not_silence_the_next_one_in_the_same_process(tmp_path, capfd):
    from distillrecdial_kit.pipeline.cli import main

    sources = ["--reviews", str(SAMPLE / "Movies_and_TV.jsonl"), "--meta", str(SAMPLE / "meta_Movies_and_TV.jsonl")]
    sources += ["--tmdb", str(SAMPLE / "tmdb_movies.json")]
    assert main(["prepare", *sources, "--out", str(tmp_path / "a"), "-q"]) == 0
    assert capfd.readouterr().err == ""
    assert main(["prepare", *sources, "--out", str(tmp_path / "b")]) == 0
    assert "prepare: " in capfd.readouterr().err
