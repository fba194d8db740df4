"""Fine-tune the DistillRecDial student: LoRA SFT with TRL + PEFT on teacher dialogues.

The arguments are TRL's own (`ScriptArguments`, `SFTConfig`, `ModelConfig`), so every
TRL / transformers / PEFT flag works, and the script runs unchanged under `accelerate launch`.
The dataset is anything with a `messages` column: the `distill` stage's folder, a local
parquet / jsonl file or folder, or a Hub dataset such as the published `sft` config.

One GPU (reference: Llama-3.1-8B-Instruct student on one 80 GB GPU):

    python train_student.py \
        --model_name_or_path meta-llama/Llama-3.1-8B-Instruct \
        --dataset_name runs/full/distill \
        --use_peft --lora_r 64 --lora_alpha 128 --lora_target_modules all-linear \
        --learning_rate 1e-4 --num_train_epochs 2 --lr_scheduler_type cosine --warmup_ratio 0.03 \
        --per_device_train_batch_size 4 --gradient_accumulation_steps 8 --max_length 4096 \
        --gradient_checkpointing --bf16 --eval_strategy epoch \
        --output_dir runs/full/student

Several GPUs (see configs/README.md for FSDP and DeepSpeed):

    accelerate launch --config_file configs/fsdp.yaml train_student.py [same flags]

Fine-tune another model on the published dataset:

    python train_student.py --dataset_name planeB/DistillRecDial --dataset_config sft \
        --model_name_or_path Qwen/Qwen3-4B --use_peft --output_dir qwen3-distillrecdial
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trl import ModelConfig, ScriptArguments, SFTConfig, TrlParser


@dataclass
class StudentArguments(ScriptArguments):
    """TRL's script arguments plus what a DistillRecDial student run adds."""

    merge_adapter: bool = field(
        default=False,
        metadata={"help": "Also save the base model with the LoRA adapter merged in, under `output_dir/merged`."},
    )


def load_sft_dataset(name: str, config: str | None, streaming: bool = False) -> Any:
    """A `DatasetDict` from a local folder or file (json/jsonl/parquet) or a Hub dataset, keeping `messages` only."""
    from datasets import DatasetDict, load_dataset

    path = Path(name)
    if path.is_file():
        builder = "parquet" if path.suffix == ".parquet" else "json"
        dataset = load_dataset(builder, data_files={"train": str(path)}, streaming=streaming)
    else:
        dataset = load_dataset(name, name=config, streaming=streaming)
    if not isinstance(dataset, DatasetDict) and not hasattr(dataset, "keys"):
        raise ValueError(f"{name}: expected a dataset with splits")
    for split, part in dataset.items():
        columns = part.column_names or []
        if "messages" not in columns:
            raise ValueError(f"{name} [{split}]: no `messages` column (found: {', '.join(columns)})")
        dataset[split] = part.select_columns(["messages"])
    return dataset


#: The student's model card; ``DatasetCard``-style: metadata from ``ModelCardData``, then this body.
MODEL_CARD = """---
{{ card_data }}
---

# DistillRecDial student: {{ title }}

{{ summary }}

## Quick start

```python
{{ quick_start }}
```
{{ section }}
Trained with [TRL](https://github.com/huggingface/trl) `SFTTrainer`{{ peft_note }}
by `train_student.py` of the DistillRecDial pipeline; data from
[DistillRecDial](https://huggingface.co/datasets/planeB/DistillRecDial) (Martina et al., RecSys 2025). The dialogues it
writes are synthetic; check them with `distillrecdial build`, which validates every one.

### Framework versions

{% for name, version in versions %}- {{ name }}: {{ version }}
{% endfor %}"""


def _hub_id(name: str | None) -> str | None:
    """``name`` when it is a Hub repo id (``owner/name``), ``None`` for a local path or nothing."""
    from distillrecdial_kit.dataset_card.provenance import is_local_path

    return name if name and "/" in name and not is_local_path(name) else None


def _dataset_text(script_args: StudentArguments) -> str:
    name = script_args.dataset_name or ""
    config = f" (config `{script_args.dataset_config}`)" if script_args.dataset_config else ""
    if _hub_id(name):
        return f"[{name}](https://huggingface.co/datasets/{name}){config}"
    return f"a local dataset (`{Path(name).name}` folder or file){config}"


def _model_text(name: str | None) -> str:
    hub = _hub_id(name)
    return f"[{hub}](https://huggingface.co/{hub})" if hub else "a local model"


def model_card(script_args: StudentArguments, training_args: SFTConfig, model_args: ModelConfig) -> str:
    """The student's README: ``base_model`` / ``datasets`` metadata only for Hub ids, never a local path."""
    import importlib.metadata

    from huggingface_hub import ModelCard, ModelCardData

    base = _hub_id(model_args.model_name_or_path)
    dataset = _hub_id(script_args.dataset_name)
    peft = bool(model_args.use_peft)
    card_data = ModelCardData(
        base_model=base,
        datasets=[dataset] if dataset else None,
        library_name="peft" if peft else "transformers",
        pipeline_tag="text-generation",
        tags=["distillrecdial", "conversational-recommendation", "crs", "trl", "sft", *(["lora"] if peft else [])],
    )
    what = "A LoRA adapter for" if peft else "A fine-tuned version of"
    summary = (
        f"{what} {_model_text(model_args.model_name_or_path)}, trained on {_dataset_text(script_args)} to write "
        "DistillRecDial conversational-recommendation dialogues."
    )
    where = f"{training_args.hub_model_id or 'PATH/TO/' + Path(training_args.output_dir).name}"
    if peft:
        quick_start = (
            "from peft import AutoPeftModelForCausalLM\nfrom transformers import AutoTokenizer\n\n"
            f'model = AutoPeftModelForCausalLM.from_pretrained("{where}")\n'
            f'tokenizer = AutoTokenizer.from_pretrained("{where}")'
        )
    else:
        quick_start = f'from transformers import pipeline\n\ngenerator = pipeline("text-generation", model="{where}")'
    versions = []
    for package in ("trl", "transformers", "peft", "datasets", "torch"):
        try:
            versions.append((package, importlib.metadata.version(package)))
        except importlib.metadata.PackageNotFoundError:
            continue
    card = ModelCard.from_template(
        card_data,
        template_str=MODEL_CARD,
        title=base or "local base model",
        summary=summary,
        quick_start=quick_start,
        section=model_card_section(script_args, training_args, model_args),
        peft_note=" and [PEFT](https://github.com/huggingface/peft) LoRA" if peft else "",
        versions=versions,
    )
    return str(card)


def model_card_section(script_args: StudentArguments, training_args: SFTConfig, model_args: ModelConfig) -> str:
    """What a reader of the adapter needs: the data, the base model and the hyperparameters that matter."""
    rows = {
        "base model": _hub_id(model_args.model_name_or_path) or "a local model",
        "dataset": _dataset_text(script_args),
        "LoRA": (
            f"r={model_args.lora_r}, alpha={model_args.lora_alpha}, dropout={model_args.lora_dropout}, "
            f"targets={model_args.lora_target_modules or 'model default'}"
            if model_args.use_peft
            else "no (full fine-tuning)"
        ),
        "learning rate": f"{training_args.learning_rate} ({getattr(training_args.lr_scheduler_type, 'value', '')})",
        "epochs / max steps": f"{training_args.num_train_epochs} / {training_args.max_steps}",
        "batch": (
            f"{training_args.per_device_train_batch_size} per device × "
            f"{training_args.gradient_accumulation_steps} accumulation"
        ),
        "max length": training_args.max_length,
        "loss on": "assistant turns only" if training_args.assistant_only_loss else "the whole sequence",
        "seed": training_args.seed,
    }
    table = "\n".join(f"| {key} | {value} |" for key, value in rows.items())
    return (
        "\n## DistillRecDial student\n\n"
        "A LoRA student trained to write DistillRecDial conversational-recommendation dialogues: given a persona's "
        "system prompt and a user's item facts, it writes a whole `[USR]`/`[AI]` dialogue with `<id_ASIN>` item "
        "tags, as the teacher did.\n\n"
        f"| setting | value |\n|---|---|\n{table}\n"
    )


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX), read from /proc/cpuinfo (Linux)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return True  # unknown: say nothing
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available() or (hasattr(torch, "xpu") and torch.xpu.is_available())


def main(script_args: StudentArguments, training_args: SFTConfig, model_args: ModelConfig) -> Any:
    """Train, save the adapter (and optionally the merged model) with a model card; return the trainer."""
    from trl import SFTTrainer, get_peft_config, get_quantization_config

    from distillrecdial_kit.generation.models import resolve_model

    # A known local alias (smollm2-135m-instruct) loads from its materialised folder; the card keeps the alias.
    # Resolved first, so a model that was never materialised fails before any data is read.
    model = resolve_model(model_args.model_name_or_path)
    training_args.model_init_kwargs = {
        "revision": model_args.model_revision,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
        **(training_args.model_init_kwargs or {}),
    }

    if training_args.bf16 and (training_args.use_cpu or not _has_gpu()) and not cpu_has_native_bf16():
        # TRL turns bf16 on by default; on a CPU without bf16 instructions every matmul is emulated.
        print(
            "train_student.py: warning: --bf16 on a CPU without native bf16 (no avx512_bf16 / amx_bf16) is "
            "emulated and many times slower than float32; pass --bf16 false",
            file=sys.stderr,
        )
    dataset = load_sft_dataset(script_args.dataset_name, script_args.dataset_config, script_args.dataset_streaming)
    eval_split = script_args.dataset_test_split if script_args.dataset_test_split in dataset else "validation"
    trainer = SFTTrainer(
        model=model,
        args=training_args,
        train_dataset=dataset[script_args.dataset_train_split],
        eval_dataset=dataset[eval_split] if training_args.eval_strategy != "no" and eval_split in dataset else None,
        peft_config=get_peft_config(model_args),
        quantization_config=get_quantization_config(model_args),  # QLoRA with --load_in_4bit
    )
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)

    def write_card() -> None:
        card = Path(training_args.output_dir) / "README.md"
        card.write_text(model_card(script_args, training_args, model_args), encoding="utf-8")

    trainer.save_model(training_args.output_dir)

    if trainer.accelerator.is_main_process:
        write_card()
        if script_args.merge_adapter and model_args.use_peft:
            merged_dir = Path(training_args.output_dir) / "merged"
            trainer.model.merge_and_unload().save_pretrained(merged_dir)
            trainer.processing_class.save_pretrained(merged_dir)
        trainer.accelerator.print(f"saved the student to {training_args.output_dir}")

    if training_args.push_to_hub:
        # transformers' push_to_hub rewrites README.md through create_model_card: make that write this card.
        trainer.create_model_card = lambda *args, **kwargs: write_card()
        trainer.push_to_hub()
    return trainer


def make_parser() -> TrlParser:
    parser = TrlParser((StudentArguments, SFTConfig, ModelConfig))
    # The student learns to write the dialogue, not to repeat the prompt's facts.
    parser.set_defaults(assistant_only_loss=True)
    return parser


if __name__ == "__main__":
    script_args, training_args, model_args = make_parser().parse_args_and_config()
    if script_args.dataset_name is None:
        sys.exit("train_student.py: error: --dataset_name is required (e.g. RUN/distill)")
    from distillrecdial_kit.pipeline.errors import StageError

    try:
        main(script_args, training_args, model_args)
    except StageError as err:  # e.g. a model alias that was never materialised: one line, not a traceback
        sys.exit(f"train_student.py: error: {err}")
