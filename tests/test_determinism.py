"""Same inputs + same seed ⇒ byte-identical artefacts; the seed only moves personas."""

from __future__ import annotations

import orjson
import polars as pl

from benchmarks.sample_run import sample_config
from distillrecdial_kit.generation.prepare import INTERACTIONS_FILE, ITEMS_FILE, PROBLEMS_FILE, PROMPTS_FILE
from distillrecdial_kit.generation.prepare import run as prepare
from distillrecdial_kit.pipeline.manifest import MANIFEST_NAME

ARTEFACTS = (ITEMS_FILE, INTERACTIONS_FILE, PROMPTS_FILE, PROBLEMS_FILE, MANIFEST_NAME)


def test_two_runs_are_byte_identical(sample_run, tmp_path):
    prepare(sample_config(tmp_path / "again"))
    for name in ARTEFACTS:
        assert (tmp_path / "again" / name).read_bytes() == (sample_run / name).read_bytes(), name


def test_another_seed_changes_personas_only(sample_run, tmp_path):
    prepare(sample_config(tmp_path / "seed7", seed=7))
    assert (tmp_path / "seed7" / ITEMS_FILE).read_bytes() == (sample_run / ITEMS_FILE).read_bytes()
    # Review texts are kept only where a persona shows them, so only they may move with the personas.
    texts = ["review_title", "review_text"]
    after_seed = pl.read_parquet(tmp_path / "seed7" / INTERACTIONS_FILE).drop(texts)
    assert after_seed.equals(pl.read_parquet(sample_run / INTERACTIONS_FILE).drop(texts))

    def personas(run):
        return {p["user_id"]: p["persona"] for p in map(orjson.loads, (run / PROMPTS_FILE).read_bytes().splitlines())}

    before, after = personas(sample_run), personas(tmp_path / "seed7")
    assert before.keys() == after.keys() and before != after
