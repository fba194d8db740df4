"""A stage imports only its own libraries: `prepare` does not wait for datasets, spaCy or torch to load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
from distillrecdial_kit.pipeline.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(m for m in ("datasets", "spacy", "torch", "matplotlib") if m in sys.modules)))
"""


def loaded_by(*argv: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return set(result.stdout.splitlines()[-1].split())  # the probe's line comes after the help


def test_a_stage_imports_only_what_it_needs():
    assert loaded_by("prepare", "--help") == set()
    assert loaded_by("distill", "--help") == set()
    assert "datasets" in loaded_by("build", "--help")
