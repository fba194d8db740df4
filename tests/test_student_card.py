"""train_student.py's model card, written from the parsed command line (no training needed to check it)."""

from __future__ import annotations

import pytest
from huggingface_hub import ModelCard

from distillrecdial_kit.train_student import make_parser, model_card


def card_for(*argv: str) -> ModelCard:
    script_args, training_args, model_args = make_parser().parse_args_into_dataclasses(
        ["--use_peft", "--lora_r", "8", "--lora_alpha", "16", "--report_to", "none", "--use_cpu", *argv]
    )
    return ModelCard(model_card(script_args, training_args, model_args))


def test_hub_ids_become_base_model_and_dataset_metadata(tmp_path):
    card = card_for(
        "--model_name_or_path",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--dataset_name",
        "planeB/DistillRecDial",
        "--dataset_config",
        "sft",
        "--output_dir",
        str(tmp_path / "student"),
    )
    assert card.data.base_model == "meta-llama/Llama-3.1-8B-Instruct"
    assert card.data.datasets == ["planeB/DistillRecDial"] and card.data.library_name == "peft"
    assert "# DistillRecDial student: meta-llama/Llama-3.1-8B-Instruct" in card.text
    assert "(https://huggingface.co/datasets/planeB/DistillRecDial) (config `sft`)" in card.text
    assert "| LoRA | r=8, alpha=16" in card.text and "None" not in card.text.split("\n")[1]


@pytest.mark.parametrize("model", ["/tmp/run/tiny-llama", "./tiny-llama", "runs/demo/tiny-llama"])
def test_local_paths_stay_out_of_links_and_metadata(tmp_path, model):
    dataset = str(tmp_path / "run" / "distill")
    card = card_for("--model_name_or_path", model, "--dataset_name", dataset, "--output_dir", str(tmp_path / "s"))
    assert card.data.base_model is None and card.data.datasets is None
    text = str(card)
    assert "Model Card for None" not in text and "[None]" not in text
    assert "huggingface.co/datasets//" not in text and "huggingface.co//" not in text
    assert model not in text and dataset not in text and str(tmp_path) not in text
    assert "a local model" in text and "a local dataset (`distill` folder or file)" in text
