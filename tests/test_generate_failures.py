"""`generate`'s failure states: a failed start leaves nothing behind, bad options are one line, and a run in
which every prompt failed exits non-zero."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from distillrecdial_kit.pipeline.layout import GENERATOR_FILE
from tests.conftest import run_with_prompts


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "distillrecdial_kit.pipeline.cli", *args], capture_output=True, text=True, timeout=300
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr[-2000:]
    return errors[0]


def test_a_missing_model_is_one_line_and_leaves_no_generator_claim(sample_run, tmp_path):
    run = run_with_prompts(sample_run, tmp_path / "run")
    missing = str(tmp_path / "no-such-model")
    teacher = ("generate", "--run", str(run), "--role", "teacher")
    result = run_cli(*teacher, "--backend", "transformers", "--model", missing)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "could not load model" in line and missing in line
    assert not (run / "raw" / "teacher" / GENERATOR_FILE).exists()
    # The folder is not claimed: a run with other settings goes ahead.
    retry = run_cli(*teacher, "--backend", "template", "--limit", "3")
    assert retry.returncode == 0, retry.stderr[-2000:]
    assert (run / "raw" / "teacher" / GENERATOR_FILE).exists()


def test_a_bad_backend_option_is_one_line(sample_run, tiny_model, tmp_path):
    run = run_with_prompts(sample_run, tmp_path / "run")
    result = run_cli(
        *("generate", "--run", str(run), "--role", "teacher", "--backend", "transformers"),
        *("--model", str(tiny_model), "--backend-arg", "bogus=1", "--limit", "2"),
    )
    assert result.returncode == 2
    assert "bogus" in one_error_line(result)
    assert not (run / "raw" / "teacher" / GENERATOR_FILE).exists()


@pytest.mark.parametrize("extra", [("--backend-arg", "bogus=1"), ("--adapter", "")], ids=["backend-arg", "adapter"])
def test_the_template_backend_refuses_model_options(sample_run, tmp_path, extra):
    run = run_with_prompts(sample_run, tmp_path / "run")
    extra = tuple(value or str(tmp_path) for value in extra)  # an adapter folder that exists
    result = run_cli("generate", "--run", str(run), "--role", "teacher", "--backend", "template", *extra)
    assert result.returncode == 2
    assert "takes no --backend-arg or --adapter" in one_error_line(result)


def test_student_without_a_model_is_refused_unless_template_is_asked_for(sample_run, tmp_path):
    run = run_with_prompts(sample_run, tmp_path / "run")
    refused = run_cli("generate", "--run", str(run), "--role", "student")
    assert refused.returncode == 2
    assert "--role student needs --model" in one_error_line(refused)
    assert not (run / "raw" / "student").exists()
    explicit = run_cli("generate", "--run", str(run), "--role", "student", "--backend", "template", "--limit", "2")
    assert explicit.returncode == 0, explicit.stderr[-2000:]
    assert "2 written" in explicit.stdout


def closed_port() -> int:
    """A localhost port nothing listens on: every request fails with a connection error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_generate_exits_non_zero_when_every_prompt_failed(sample_run, tmp_path):
    run = run_with_prompts(sample_run, tmp_path / "run")
    result = run_cli(
        *("generate", "--run", str(run), "--role", "teacher", "--backend", "openai", "--model", "m", "--limit", "2"),
        *("--backend-arg", f"base_url=http://127.0.0.1:{closed_port()}/v1"),
        *("--backend-arg", "max_retries=0", "--backend-arg", "timeout=5"),
    )
    assert result.returncode == 1
    assert "2 failed (APIConnectionError 2" in result.stdout
    assert "every one of 2 prompts failed" in one_error_line(result)
    records = Path(run / "raw" / "teacher" / "dialogues.jsonl")
    assert not records.exists() or not records.read_bytes().strip()
