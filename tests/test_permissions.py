"""Outputs get the modes a plain ``open()`` / ``mkdir()`` gives: 0644 / 0755 under umask 022, and follow the umask.

Atomic writes go through ``mkstemp`` / ``mkdtemp``, which create private
(0600 / 0700) files and folders; a shared run folder or an uploaded Hub folder
must be readable by others as a normal write would make it (issue 16, item 5).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from benchmarks.sample_run import sample_config
from distillrecdial_kit.generation.prepare import ITEMS_FILE, PROMPTS_FILE
from distillrecdial_kit.generation.prepare import run as prepare
from distillrecdial_kit.pipeline.atomic import atomic_path, staging_dir, write_bytes
from distillrecdial_kit.pipeline.cli import main


@pytest.fixture
def umask():
    """Set the process umask for a test, restoring it afterwards."""
    saved = os.umask(0o022)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(saved)


def modes(root: Path) -> dict[str, tuple[str, int]]:
    """Relative path → (kind, permission bits) for everything under ``root``."""
    found = {}
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        found[str(path.relative_to(root))] = ("dir" if stat.S_ISDIR(mode) else "file", stat.S_IMODE(mode))
    return found


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_atomic_writes_and_staging_folders_follow_the_umask(umask, tmp_path, mask, file_mode, dir_mode):
    umask(mask)
    write_bytes(tmp_path / "a.txt", b"x")
    with atomic_path(tmp_path / "b.parquet") as tmp:
        tmp.write_bytes(b"y")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "b.parquet").stat().st_mode) == file_mode
    assert stat.S_IMODE(staging_dir(tmp_path / "hub").stat().st_mode) == dir_mode


def test_every_output_of_every_stage_is_0644_and_every_folder_0755(umask, sample_run, tmp_path):
    umask(0o022)
    run = tmp_path / "run"
    prepare(sample_config(run))
    assert main(["generate", "--run", str(run), "--role", "teacher"]) == 0
    assert main(["distill", "--run", str(run)]) == 0
    assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template"]) == 0
    found = modes(run)
    for name in (ITEMS_FILE, PROMPTS_FILE, "manifest.json", "hub/README.md", "distill/train.jsonl"):
        assert found[name] == ("file", 0o644), name
    wrong = {name: oct(mode) for name, (kind, mode) in found.items() if mode != (0o755 if kind == "dir" else 0o644)}
    assert wrong == {}, "every file 0644 and every folder 0755 under umask 022"


def test_a_stricter_umask_is_respected(umask, sample_run, tmp_path):
    umask(0o077)
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(sample_run / PROMPTS_FILE, run / PROMPTS_FILE)
    assert main(["generate", "--run", str(run), "--role", "teacher"]) == 0
    wrong = {
        name: oct(mode)
        for name, (kind, mode) in modes(run / "raw").items()
        if mode != (0o700 if kind == "dir" else 0o600)
    }
    assert wrong == {}
