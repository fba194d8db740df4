"""`train_student.py` for real on CPU: TRL SFT + PEFT LoRA on the distilled set, then the student generates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records
from distillrecdial_kit.pipeline.cli import run_stage
from tests.conftest import ROOT, assert_raw_record, run_with_prompts
from tests.test_model_backends import VLLM_ARGS

SCRIPT = str(ROOT / "train_student.py")
LORA = ["--use_peft", "--lora_r", "8", "--lora_alpha", "16", "--lora_target_modules", "all-linear"]
CPU = ["--report_to", "none", "--save_strategy", "no", "--use_cpu", "--disable_tqdm", "true"]
#: Training in float32: this CPU may lack bf16 instructions, and emulated bf16 (TRL's default) is several times slower.
FLOAT32 = ["--bf16", "false"]


def test_help_lists_trl_transformers_and_peft_flags():
    result = subprocess.run([sys.executable, SCRIPT, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for flag in (
        "--dataset_name",
        "--model_name_or_path",
        "--use_peft",
        "--lora_r",
        "--lora_alpha",
        "--lora_target_modules",
        "--learning_rate",
        "--num_train_epochs",
        "--gradient_checkpointing",
        "--bf16",
        "--assistant_only_loss",
        "--merge_adapter",
        "--output_dir",
        "--deepspeed",
        "--fsdp",
    ):
        assert flag in result.stdout, flag


@pytest.mark.parametrize("bf16", [None, "false"])
def test_bf16_on_a_cpu_without_bf16_instructions_is_warned_about(bf16, tmp_path, monkeypatch, capsys):
    """TRL turns bf16 on by default; emulated on such a CPU, a SmolLM2 step took 8 min instead of 40 s."""
    from distillrecdial_kit import train_student

    monkeypatch.setattr(train_student, "cpu_has_native_bf16", lambda: False)
    argv = ["--model_name_or_path", str(tmp_path), "--dataset_name", str(tmp_path / "none")]
    argv += ["--output_dir", str(tmp_path), *CPU] + (["--bf16", bf16] if bf16 else [])
    parsed = train_student.make_parser().parse_args_into_dataclasses(argv)
    with pytest.raises(Exception, match="none"):  # stops at the missing dataset, after the check
        train_student.main(*parsed)
    warned = "--bf16 on a CPU without native bf16" in capsys.readouterr().err
    assert warned == (bf16 is None)


@pytest.fixture(scope="module")
def student(distilled_run, tiny_model) -> Path:
    """A few real training steps on the distilled set, run as a user runs it (a subprocess), merged too."""
    out = distilled_run / "student"
    command = [
        sys.executable,
        SCRIPT,
        "--model_name_or_path",
        str(tiny_model),
        "--dataset_name",
        str(distilled_run / "distill"),
        *LORA,
        "--max_steps",
        "2",
        "--per_device_train_batch_size",
        "2",
        "--learning_rate",
        "1e-3",
        "--output_dir",
        str(out),
        "--merge_adapter",
        *CPU,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_training_saves_adapter_merged_model_and_card(student, distilled_run, tiny_model):
    assert (student / "adapter_config.json").exists() and (student / "adapter_model.safetensors").exists()
    config = orjson.loads((student / "adapter_config.json").read_bytes())
    assert config["r"] == 8 and config["base_model_name_or_path"] == str(tiny_model)
    card = (student / "README.md").read_text()
    assert "DistillRecDial student" in card and "a local dataset (`distill` folder or file)" in card
    assert "| LoRA | r=8, alpha=16" in card and "assistant turns only" in card
    assert (student / "merged" / "config.json").exists() and (student / "merged" / "model.safetensors").exists()


@pytest.mark.parametrize("backend", ["vllm", "transformers"])
def test_the_trained_adapter_drives_student_generation(backend, student, distilled_run, tiny_model, tmp_path):
    run = run_with_prompts(distilled_run, tmp_path / "run")
    argv = [
        "generate",
        "--run",
        str(run),
        "--role",
        "student",
        "--backend",
        backend,
        "--model",
        str(tiny_model),
        "--adapter",
        str(student),
        "--temperature",
        "0",
        "--max-new-tokens",
        "16",
        "--limit",
        "4",
    ]
    for option in VLLM_ARGS if backend == "vllm" else []:
        argv += ["--backend-arg", option]
    entry = run_stage(argv)
    assert entry["written"] == 4 and not entry["failed"]
    records = list(read_records(run / "raw" / "student" / MERGED_NAME))
    assert len(records) == 4
    for record in records:
        assert_raw_record(record)
        assert record["generator"]["adapter"] == str(student) and record["generator"]["role"] == "student"
        assert record["generator"]["backend"] == backend


def assistant_token_accuracy(model, tokenizer, messages: list[dict[str, str]]) -> float:
    """Teacher-forced share of the assistant's tokens that are the model's top prediction.

    Unlike greedy decoding, one near-tie token does not derail everything after it, so the measure does not
    hinge on the last bit of a CPU's float rounding.
    """
    import torch

    encoded = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True, return_tensors="pt"
    )
    ids = encoded["input_ids"]
    mask = torch.as_tensor(encoded["assistant_masks"]).reshape(ids.shape)[0, 1:].bool()
    with torch.inference_mode():
        logits = model(input_ids=ids).logits
    predicted = logits[0, :-1].argmax(-1)
    return (predicted[mask] == ids[0, 1:][mask]).float().mean().item()


def test_overfitting_eight_examples_memorises_them(distilled_run, tiny_model, tmp_path):
    """The learning check: on 8 short examples the loss falls by at least 1 nat, token accuracy passes 90%,
    and the saved adapter, loaded again, predicts the memorised assistant turns that the base model cannot.

    The final norm is trained with the adapter (``--lora_modules_to_save norm``): at width 64 the frozen,
    tied output layer is too flat for LoRA alone to memorise the turns in 100 steps. Memorisation is read
    teacher-forced rather than by greedy decoding, which flips with the float rounding of the CPU it runs on.
    """
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from distillrecdial_kit.train_student import main, make_parser

    examples = []
    # Every 12th example: all five personas, so the eight prompts (and openings) are told apart.
    for line in (distilled_run / "distill" / "train.jsonl").read_bytes().splitlines()[::12][:8]:
        messages = orjson.loads(line)["messages"]
        facts = "\n".join(messages[1]["content"].splitlines()[2:5])  # the target's tag and first facts
        opening = messages[2]["content"].splitlines()[0]  # the dialogue's first [USR] turn
        examples.append({"messages": [{"role": "user", "content": facts}, {"role": "assistant", "content": opening}]})
    data = tmp_path / "overfit.jsonl"
    data.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in examples))

    out = tmp_path / "overfit-student"
    args = [
        *("--model_name_or_path", str(tiny_model), "--dataset_name", str(data), "--output_dir", str(out)),
        *(*LORA, "--lora_modules_to_save", "norm", "--learning_rate", "1e-2", "--lr_scheduler_type", "constant"),
        *("--max_steps", "100", "--per_device_train_batch_size", "8", "--logging_steps", "10", "--seed", "0"),
        *CPU,
        *FLOAT32,
    ]
    trainer = main(*make_parser().parse_args_and_config(args=args))
    logs = [h for h in trainer.state.log_history if "loss" in h]
    assert logs[0]["loss"] - logs[-1]["loss"] >= 1.0, logs
    assert logs[-1]["mean_token_accuracy"] >= 0.9, logs

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    student = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), out).eval()
    learned = [assistant_token_accuracy(student, tokenizer, e["messages"]) for e in examples]
    with student.disable_adapter():
        base = [assistant_token_accuracy(student, tokenizer, e["messages"]) for e in examples]
    assert sum(learned) / len(learned) >= 0.9 and min(learned) >= 0.7, learned
    assert sum(base) / len(base) <= 0.3, base  # the base model could not: the adapter learned it
