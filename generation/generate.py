"""`distillrecdial generate`: prompts → raw dialogue records, by a teacher or a student.

Work is split into shards by a hash of each prompt, so N machines can each run
``--num-shards N --shard-index i`` over a copy of the run folder; each appends
to its own ``RUN/raw/<role>/shard-i-of-N.jsonl``. A rerun skips the dialogues
already written (a torn last line from a kill is dropped and redone), and
prompts whose generation failed are retried. With one shard, or with
`distillrecdial merge`, the shards are joined into ``dialogues.jsonl``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillrecdial_kit.generation import ray_executor
from distillrecdial_kit.generation.backends import ModelSpec, Sampling, add_model_arguments, finish_reason
from distillrecdial_kit.generation.few_shot import add_examples
from distillrecdial_kit.generation.generator import (
    VERSIONED,
    check_generator,
    generator_info,
    load_backend,
    parse_backend_args,
    record_generator,
)
from distillrecdial_kit.generation.raw_store import (
    MERGED_NAME,
    ShardWriter,
    merge_shards,
    open_shard,
    prompt_order,
    read_records,
    shard_name,
    shard_of,
)
from distillrecdial_kit.generation.records import dialogue_id, make_record
from distillrecdial_kit.generation.walk_check import make_walk_record, walk_dialogue_id
from distillrecdial_kit.pipeline.console import note, progress, warn
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.jsonl import label_for
from distillrecdial_kit.pipeline.layout import (
    PROMPT_KINDS,
    ROLES,
    SELECTION_FILE,
    RunLayout,
    read_prompts,
    read_selection,
    read_user_ids,
    read_walk_prompts,
)
from distillrecdial_kit.pipeline.lock import generate_lock
from distillrecdial_kit.pipeline.manifest import package_versions, record_stage, sha256_file
from distillrecdial_kit.pipeline.problems import ProblemLog
from distillrecdial_kit.pipeline.stage import config_from


@dataclass(frozen=True)
class GenerateConfig:
    """One `generate` run: who writes (role), with what (backend, model, sampling), which shard, where."""

    run: Path
    role: str
    prompts: str = "dialogues"
    few_shot: Path | None = None  # a raw dialogues.jsonl whose valid dialogues are shown as worked examples
    backend: str | None = None  # default: template without a model, vllm with one
    model: str | None = None
    revision: str | None = None
    adapter: str | None = None
    backend_options: dict[str, Any] = field(default_factory=dict)
    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 1024
    seed: int = 42
    batch_size: int = 64
    num_shards: int = 1
    shard_index: int = 0
    limit: int | None = None
    users: Path | None = None  # only the prompts of the users named in this JSONL file (rows with a user_id)
    executor: str = "local"
    ray_address: str | None = None
    ray_replicas: int | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder holding prompts.jsonl")
    parser.add_argument("--role", required=True, choices=ROLES, help="who writes: the teacher or the student")
    parser.add_argument(
        "--prompts",
        choices=PROMPT_KINDS,
        default="dialogues",
        help="dialogues: RUN/prompts.jsonl → raw/<role>/; walks: RUN/walks/prompts.jsonl (from `distillrecdial "
        "walks`) → raw/walks/<role>/",
    )
    parser.add_argument(
        "--few-shot",
        type=Path,
        metavar="RAW_JSONL",
        help="show each prompt one valid dialogue of another user with its persona from this raw dialogues.jsonl "
        "(e.g. the template teacher's), as an earlier exchange: lets a small model pick up the format",
    )
    parser.add_argument(
        "--users",
        type=Path,
        metavar="JSONL",
        help="only the prompts of the users in this JSONL file's user_id fields, e.g. RUN/distill/validation.jsonl "
        "(the users distill held out of training: a student's held-out test)",
    )
    add_model_arguments(
        parser,
        unit="prompts",
        temperature=0.7,
        max_new_tokens=1024,
        adapter_help="LoRA adapter folder (the student), applied on top of --model",
    )
    ray_executor.add_arguments(parser)


def config_from_args(args: argparse.Namespace) -> GenerateConfig:
    return config_from(GenerateConfig, args, backend_options=parse_backend_args(args.backend_arg))


def _generate(config: GenerateConfig) -> dict[str, Any]:
    backend_name = config.backend or ("vllm" if config.model else "template")
    spec = ModelSpec(config.model, config.revision, config.adapter, dict(config.backend_options))
    if backend_name != "template" and not config.model:
        raise StageError(f"--backend {backend_name} needs --model")
    if config.role == "student" and not config.model and config.backend != "template":
        # Rule-based rows published as "student" data would misstate what made them.
        raise StageError(
            "--role student needs --model (the student's base model, with --adapter for its LoRA); "
            "pass --backend template explicitly for the rule-based stand-in"
        )
    if config.adapter and not Path(config.adapter).exists() and backend_name != "openai":
        raise StageError(f"adapter folder not found: {config.adapter}")
    sampling = Sampling(config.temperature, config.top_p, config.max_new_tokens, config.seed)
    walk_mode = config.prompts == "walks"
    skipped = ProblemLog()  # bad lines of prompts.jsonl and of the shard file
    prompts = read_walk_prompts(config.run, skipped) if walk_mode else read_prompts(config.run, skipped)
    role_dir = RunLayout(config.run).raw_dir(config.role, "walks" if walk_mode else "dialogues")
    new_id, new_record = (walk_dialogue_id, make_walk_record) if walk_mode else (dialogue_id, make_record)
    few_shot = config.few_shot
    if few_shot:
        prompts, shown = add_examples(prompts, read_records(few_shot, config.run, skipped))
        note("generate", f"{shown:,} of {len(prompts):,} prompts show a worked example from {few_shot}")

    if backend_name == "template":
        if spec.options or config.adapter:
            raise StageError("--backend template takes no --backend-arg or --adapter: it runs no model")
        spec = ModelSpec(model="distillrecdial-template-v1")
    generator = generator_info(backend_name, config.role, spec, sampling)
    if few_shot:
        # other examples, other dialogues: a folder holds one setting (named inside the run, never a local path)
        generator["few_shot"] = f"{label_for(Path(few_shot), config.run)} (sha256 {sha256_file(Path(few_shot))[:16]})"
    if spec.options.get("dialogue_grammar"):
        generator["dialogue_grammar"] = True  # the form was constrained: the records say so
    check_generator(role_dir, generator)
    generator["versions"] = package_versions(VERSIONED)

    selected = None if walk_mode else read_selection(config.run)
    if selected is not None:
        prompts = [p for p in prompts if p["prompt_id"] in selected]
    order = prompt_order(prompts)  # the merged file's order, whichever users this call writes for
    users = None if config.users is None else read_user_ids(config.users, skipped)
    if users is not None:
        prompts = [p for p in prompts if p["user_id"] in users]
    mine = [p for p in prompts if shard_of(p["prompt_id"], config.num_shards) == config.shard_index]
    if config.limit is not None:
        mine = mine[: config.limit]
    shard_path = role_dir / shard_name(config.shard_index, config.num_shards)
    state = open_shard(shard_path)
    skipped.extend(state.bad)
    ids = {p["prompt_id"]: new_id(p["user_id"], p["persona"], generator) for p in mine}
    todo = [p for p in mine if ids[p["prompt_id"]] not in state.done]
    note(
        "generate",
        f"{len(mine):,} prompts in shard {config.shard_index}/{config.num_shards}, "
        f"{len(mine) - len(todo):,} already done"
        + (f", repaired a torn tail of {state.torn_bytes} bytes" if state.torn_bytes else ""),
    )
    if skipped:
        warn("generate", f"bad lines skipped: {skipped.brief()}")

    written, valid, retries = 0, 0, 0
    failures: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    finishes: Counter[str] = Counter()  # why generation stopped (stop / length), for the manifest
    executor: dict[str, Any] = {"name": config.executor}
    if todo and executor["name"] == "ray":
        job = ray_executor.RayJob("generate", backend_name, spec, sampling, generator, load_backend, new_record)
        outcome = ray_executor.generate_on_ray(
            ray_executor.RayOptions(config.ray_address, config.ray_replicas),
            job,
            todo,
            ids,
            shard_path,
            lambda: record_generator(role_dir, generator),
            config.batch_size,
            config.role,
        )
        written, valid, failures, problems, executor = (
            outcome.written,
            outcome.valid,
            outcome.failures,
            outcome.problems,
            outcome.executor,
        )
        finishes, retries = outcome.finishes, outcome.retries
    elif todo:
        backend = load_backend(backend_name, spec)
        record_generator(role_dir, generator)
        try:
            with (
                ShardWriter(shard_path) as writer,
                progress(total=len(todo), desc=f"generate {config.role}", unit="dlg") as bar,
            ):
                for start in range(0, len(todo), config.batch_size):
                    batch = todo[start : start + config.batch_size]
                    records = []
                    for prompt, result in zip(batch, backend.generate(batch, sampling), strict=True):
                        if isinstance(result, Exception):
                            failures[type(result).__name__] += 1
                            continue
                        finishes[finish_reason(result)] += 1
                        record = new_record(prompt, result, generator, ids[prompt["prompt_id"]])
                        valid += record["valid"]
                        problems.update(p.split(":")[0] for p in record["problems"])
                        records.append(record)
                    written += writer.write(records)
                    bar.update(len(batch))
        finally:
            retries = getattr(backend, "retries", 0)
            backend.close()

    merged = None
    if config.num_shards == 1:
        merged = merge_shards(role_dir, order)
    return {
        "backend": backend_name,
        "generator": {k: v for k, v in generator.items() if k != "versions"},
        "shard": [config.shard_index, config.num_shards],
        "executor": executor,
        "selection": None if selected is None else {"file": SELECTION_FILE, "prompts": len(selected)},
        "users": None if users is None else {"file": label_for(config.users, config.run), "users": len(users)},
        "prompts": len(mine),
        "already_done": len(mine) - len(todo),
        "written": written,
        "valid": valid,
        "failed": dict(failures),
        "problems": dict(sorted(problems.items())),
        "finish_reasons": dict(sorted(finishes.items())),
        "merged": merged.records if merged else None,
        "retries": retries,
        "folder": str(role_dir.relative_to(config.run)),
        "totals": state.totals(written, valid, problems),  # the shard file now: cumulative across resumes
        "skipped_lines": skipped.summary(),
    }


def run(config: GenerateConfig) -> dict[str, Any]:
    """Generate this run/role/shard's missing dialogues, holding its lock (a second process is refused, named)."""
    if not 0 <= config.shard_index < config.num_shards:
        raise StageError(f"--shard-index must be in [0, {config.num_shards})")
    for name, value, allowed in (
        ("role", config.role, ROLES),
        ("prompts", config.prompts, PROMPT_KINDS),
        ("executor", config.executor, ray_executor.EXECUTORS),
    ):
        if value not in allowed:
            raise StageError(f"--{name} {value!r}: choose one of {', '.join(allowed)}")
    if config.batch_size < 1:
        raise StageError("--batch-size must be at least 1")
    if config.few_shot is not None and not Path(config.few_shot).is_file():
        raise StageError(f"{config.few_shot} not found (--few-shot)")
    if config.prompts == "walks" and (config.few_shot or config.backend_options.get("dialogue_grammar")):
        raise StageError("--few-shot and dialogue_grammar shape plain dialogues; walk prompts take neither")
    walks = config.prompts == "walks"
    role = f"walks-{config.role}" if walks else config.role
    with generate_lock(config.run, role, config.shard_index, config.num_shards):
        entry = _generate(config)
    kind = "walks:" if walks else ""
    record_stage(config.run, f"generate:{kind}{config.role}:shard-{config.shard_index}-of-{config.num_shards}", entry)
    return entry


def failure(entry: dict[str, Any]) -> str | None:
    """The run failed when every prompt it tried failed (the summary line says why); a rerun retries them."""
    failed = sum(entry["failed"].values())
    return f"every one of {failed:,} prompts failed" if failed and not entry["written"] else None


def summary_lines(entry: dict[str, Any]) -> list[str]:
    failed = sum(entry["failed"].values())
    chosen = f" (selected in {SELECTION_FILE})" if entry["selection"] else ""
    line = (
        f"generate ({entry['generator']['role']}, {entry['backend']}): {entry['prompts']:,} prompts{chosen} → "
        f"{entry['written']:,} written "
        f"({entry['valid']:,} valid), {entry['already_done']:,} already done, {failed:,} failed"
    )
    if failed:
        line += " (" + ", ".join(f"{k} {n}" for k, n in entry["failed"].items()) + "; rerun to retry them)"
    if entry["problems"]:
        line += "; problems: " + ", ".join(f"{k} {n}" for k, n in entry["problems"].items())
    if entry["merged"] is not None:
        line += f"; {entry['merged']:,} dialogues in {entry['folder']}/{MERGED_NAME}"
    if entry["executor"].get("cluster"):
        size = entry["executor"]["cluster"]
        line += f"; on Ray ({entry['executor']['replicas']} replicas, {size['cpus']} CPUs, {size['gpus']} GPUs)"
    return [line]
