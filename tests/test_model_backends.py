"""The vllm and transformers backends run for real on CPU with the tiny local model, base and with LoRA."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records
from distillrecdial_kit.pipeline.cli import run_stage
from tests.conftest import assert_raw_record, run_with_prompts

# One engine for the whole session: base and adapter runs share these settings (vLLM's CPU attention needs
# eager mode here; float32 because the tiny model is saved in it).
VLLM_ARGS = [
    "enforce_eager=true",
    "max_model_len=4096",
    'dtype="float32"',
    "enable_lora=true",
    "max_lora_rank=8",
    "seed=0",
]


@pytest.fixture
def run(sample_run, tmp_path) -> Path:
    return run_with_prompts(sample_run, tmp_path / "run")


def generate(
    run: Path,
    role: str,
    backend: str,
    model: Path,
    adapter: Path | None,
    options: list[str],
    max_new_tokens: int = 24,
    entries: list[dict] | None = None,
) -> list[dict]:
    argv = [
        "generate",
        "--run",
        str(run),
        "--role",
        role,
        "--backend",
        backend,
        "--model",
        str(model),
        "--temperature",
        "0",
        "--max-new-tokens",
        str(max_new_tokens),
        "--limit",
        "6",
        "--batch-size",
        "4",
    ]
    argv += ["--adapter", str(adapter)] if adapter else []
    for option in options:
        argv += ["--backend-arg", option]
    entry = run_stage(argv)
    assert entry["written"] == 6 and not entry["failed"]
    if entries is not None:
        entries.append(entry)
    return list(read_records(run / "raw" / role / MERGED_NAME))


@pytest.mark.parametrize("backend", ["vllm", "transformers"])
def test_base_and_lora_runs_land_in_the_raw_schema(backend, run, tiny_model, tiny_adapter):
    options = VLLM_ARGS if backend == "vllm" else []
    base = generate(run, "teacher", backend, tiny_model, None, options)
    student = generate(run, "student", backend, tiny_model, tiny_adapter, options)
    for record in base + student:
        assert_raw_record(record)
        assert record["generator"]["backend"] == backend
        assert record["generator"]["model"] == str(tiny_model)
    assert all(r["generator"]["adapter"] is None for r in base)
    assert all(r["generator"]["adapter"] == str(tiny_adapter) for r in student)
    assert {r["dialogue_id"] for r in base}.isdisjoint(r["dialogue_id"] for r in student)
    # The tiny model is untrained, so its text is not a dialogue: the record says so instead of failing.
    assert all(not r["valid"] and "no_turns" in r["problems"] for r in base)
    # Greedy decoding: the adapter must change what the model writes.
    assert [r["response"] for r in base] != [r["response"] for r in student]


@pytest.mark.parametrize("backend", ["vllm", "transformers"])
def test_a_dialogue_cut_by_max_new_tokens_is_truncated_and_invalid(backend, run, tiny_model, tiny_adapter):
    """The untrained model never ends its turn within 4 tokens: the backend says "length", the record `truncated`."""
    options = VLLM_ARGS if backend == "vllm" else []
    entries: list[dict] = []
    records = generate(run, "teacher", backend, tiny_model, None, options, max_new_tokens=4, entries=entries)
    assert entries[0]["finish_reasons"] == {"length": 6}
    assert entries[0]["problems"]["truncated"] == 6
    for record in records:
        assert_raw_record(record)
        assert not record["valid"] and record["problems"][0] == "truncated"


def test_vllm_sampled_output_does_not_depend_on_batching(run, tiny_model):
    """Each prompt carries its own seed, so a sampled dialogue is the same in any batch or shard."""
    responses = []
    for batch_size in ("32", "5"):
        folder = run_with_prompts(run, run / f"batch-{batch_size}")
        argv = [
            "generate",
            "--run",
            str(folder),
            "--role",
            "teacher",
            "--model",
            str(tiny_model),
            "--temperature",
            "0.9",
            "--max-new-tokens",
            "12",
            "--limit",
            "32",
            "--batch-size",
            batch_size,
        ]
        for option in VLLM_ARGS:
            argv += ["--backend-arg", option]
        assert run_stage(argv)["written"] == 32
        responses.append([r["response"] for r in read_records(folder / "raw" / "teacher" / MERGED_NAME)])
    assert responses[0] == responses[1]
    assert len(set(responses[0])) > 1
