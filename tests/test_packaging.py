"""`pip install .` in a fresh virtual environment gives a `distillrecdial` whose every stage answers `--help`.

Slow (it installs the base dependencies from the package index into a new venv), so marked; CI runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from distillrecdial_kit.pipeline.cli import build_parser
from tests.conftest import ROOT


@pytest.mark.slow
def test_a_plain_install_gives_a_working_cli_for_every_stage(tmp_path: Path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # A copy of the sources, so the build leaves nothing in the checkout.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "build", "*.egg-info"))
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-input", "--no-compile", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    command = env_dir / "bin" / "distillrecdial"
    # Installed without byte-code (`--no-compile`, the slow part of an install); the first `--help` compiles what a
    # stage imports, and the next ones reuse it, even where the caller's environment sets PYTHONDONTWRITEBYTECODE.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    top = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=120, env=env)
    assert top.returncode == 0, top.stderr[-3000:]
    stages = build_parser()._subparsers._group_actions[0].choices
    for stage in stages:
        result = subprocess.run([str(command), stage, "--help"], capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, (stage, result.stderr[-2000:])
        assert "--quiet" in result.stdout, stage
    # The installed code is the package's, not this checkout's, and it lives under one import name: nothing generic
    # (`pipeline`, `builder`, `generation`) is importable from the environment to shadow another package.
    probe = (
        "import importlib.util, json, distillrecdial_kit.pipeline.cli as cli;"
        "names = ['pipeline', 'generation', 'builder', 'dataset_card', 'evaluation', 'train_student',"
        " 'distillrecdial'];"
        "print(json.dumps([cli.__file__, [n for n in names if importlib.util.find_spec(n)]]))"
    )
    where = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert where.returncode == 0, where.stderr[-2000:]
    cli_file, generic = json.loads(where.stdout)
    assert str(env_dir) in cli_file
    assert generic == []
    assert sys.prefix != str(env_dir)
