"""`distillrecdial distill`: teacher dialogues → the chat-format SFT set the student learns from.

Each kept example is the teacher's job as a conversation: the persona's system
prompt, the prompt's item facts as the user message, and the whole dialogue in
``[USR]``/``[AI]`` form with ``<id_…>`` tags as the assistant message. Titles
the teacher wrote instead of tags are mapped back to tags (only against that
prompt's own items); dialogues that are still invalid are dropped and counted
by reason. Optional per-persona caps balance the set; a user-disjoint slice is
held out for evaluation. Output: ``RUN/distill/{train,validation}.jsonl``,
loadable with ``load_dataset("RUN/distill")`` and by ``train_student.py``.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.generation import rationale_distill
from distillrecdial_kit.generation.dialogue_parser import (
    ParsedDialogue,
    Turn,
    carried_problems,
    check_dialogue,
    item_ids,
    parse_dialogue,
    user_items,
)
from distillrecdial_kit.generation.personas import PERSONAS
from distillrecdial_kit.generation.raw_store import MERGED_NAME, raw_reader
from distillrecdial_kit.generation.title_tags import Candidate, recover_tags
from distillrecdial_kit.pipeline.atomic import atomic_path, write_text
from distillrecdial_kit.pipeline.console import progress
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.jsonl import label_for
from distillrecdial_kit.pipeline.layout import DISTILL_DIR, ROLES, RunLayout, read_items
from distillrecdial_kit.pipeline.manifest import record_stage
from distillrecdial_kit.pipeline.problems import ProblemLog, describe
from distillrecdial_kit.pipeline.seeded import digest, in_fraction
from distillrecdial_kit.pipeline.stage import config_from

MARKERS = {"user": "[USR]", "assistant": "[AI]"}


@dataclass(frozen=True)
class DistillConfig:
    """Which dialogues become the student's SFT set, and how they are capped and split."""

    run: Path
    role: str = "teacher"
    eval_fraction: float = 0.05
    max_per_persona: int | None = None
    balance: bool = False
    min_turns: int = 4
    max_turns: int = 14
    seed: int = 42
    task: str = "dialogues"  # or "rationales": RUN/rationales → RUN/distill_rationales
    also: tuple[Path, ...] = ()  # further raw dialogues.jsonl files whose valid dialogues join the set


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder with raw/<role>/dialogues.jsonl")
    parser.add_argument("--role", choices=ROLES, default="teacher", help="whose dialogues to learn from")
    parser.add_argument(
        "--also",
        type=Path,
        nargs="+",
        default=[],
        metavar="RAW_JSONL",
        help="further raw dialogues.jsonl files (e.g. a real teacher's, written into another run folder on a "
        "subset of users) whose valid dialogues join the set",
    )
    parser.add_argument("--eval-fraction", type=float, default=0.05, help="users held out for evaluation")
    parser.add_argument("--max-per-persona", type=int, help="keep at most N examples per persona")
    parser.add_argument("--balance", action="store_true", help="cap every persona at the smallest persona's count")
    parser.add_argument("--min-turns", type=int, default=4)
    parser.add_argument("--max-turns", type=int, default=14)
    parser.add_argument("--seed", type=int, default=42, help="seed for capping and the held-out slice")
    parser.add_argument(
        "--task",
        choices=("dialogues", "rationales"),
        default="dialogues",
        help="dialogues (default), or rationales: RUN/rationales → RUN/distill_rationales (SFT set)",
    )


def config_from_args(args: argparse.Namespace) -> DistillConfig:
    return config_from(DistillConfig, args)


def render_dialogue(turns: list[Turn]) -> str:
    """The canonical ``[USR]``/``[AI]`` text the student is trained to write."""
    return "\n".join(f"{MARKERS[t.role]} {t.content}" for t in turns)


def distill_record(
    record: dict[str, Any], catalog: dict[str, Candidate], min_turns: int, max_turns: int
) -> tuple[dict[str, Any] | None, list[str], int]:
    """One raw record → (SFT example or ``None``, the errors that dropped it, titles mapped to tags)."""
    parsed = parse_dialogue(record["response"], carried_problems(record.get("problems", [])))
    candidates = [catalog[i] for i in user_items(record) if i in catalog]
    turns, recovered = [], 0
    for turn in parsed.turns:
        content, ids = recover_tags(turn.content, candidates)
        turns.append(Turn(turn.role, content))
        recovered += len(ids)
    shown = set(item_ids(record["prompt"][-1]["content"]))
    checked = check_dialogue(
        ParsedDialogue(turns, parsed.problems), record["target_item"], shown, min_turns=min_turns, max_turns=max_turns
    )
    if not checked.valid:
        return None, checked.errors, recovered
    system, user = record["prompt"][0], record["prompt"][-1]
    example = {
        "messages": [
            {"role": "system", "content": system["content"]},
            {"role": "user", "content": user["content"]},
            {"role": "assistant", "content": render_dialogue(checked.turns)},
        ],
        "dialogue_id": record["dialogue_id"],
        "user_id": record["user_id"],
        "persona": record["persona"],
        "target_item": record["target_item"],
        "titles_recovered": recovered,
    }
    return example, [], recovered


def cap_personas(
    examples: list[dict[str, Any]], seed: int, max_per_persona: int | None, balance: bool
) -> tuple[list[dict[str, Any]], int]:
    """Keep at most the cap per persona, chosen by a seeded hash of the dialogue id; return kept and dropped."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for example in examples:
        groups[example["persona"]].append(example)
    cap = max_per_persona
    if balance and groups:
        smallest = min(len(g) for g in groups.values())
        cap = smallest if cap is None else min(cap, smallest)
    if cap is None:
        return examples, 0
    keep = {
        e["dialogue_id"]
        for group in groups.values()
        for e in sorted(group, key=lambda e: digest(seed, e["dialogue_id"]))[:cap]
    }
    kept = [e for e in examples if e["dialogue_id"] in keep]
    return kept, len(examples) - len(kept)


def load_catalog(run: Path) -> dict[str, Candidate]:
    """The catalog's titles and years, for mapping titles in a dialogue back to their item tags."""
    items = read_items(run, columns=["item_id", "title", "year"])
    return {i: Candidate(i, t, y) for i, t, y in items.iter_rows()}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row) + b"\n")


def _card(entry: dict[str, Any]) -> str:
    rows = "\n".join(f"| {p} | {entry['per_persona'].get(p, 0)} |" for p in (x.id for x in PERSONAS))
    drops = ", ".join(f"{k} {v}" for k, v in entry["dropped"].items()) or "none"
    return (
        "---\nlicense: cc-by-nc-4.0\ntags:\n- distillrecdial\n- conversational-recommendation\n---\n"
        "# DistillRecDial SFT set (distilled from the teacher)\n\n"
        f"Written by `distillrecdial distill` from `raw/{entry['role']}/{MERGED_NAME}`"
        + "".join(f" and `{path}`" for path in entry.get("also", []))
        + ". Each row's `messages` is "
        "the persona's system prompt, the item facts (user) and the teacher's whole dialogue with `<id_…>` tags "
        '(assistant). Load it with `datasets.load_dataset("<this folder>")`.\n\n'
        f"- train: {entry['train']} examples, validation: {entry['validation']} (users held out)\n"
        f"- read: {entry['read']}, dropped: {drops}\n"
        f"- titles mapped back to tags: {entry['titles_recovered']}\n\n"
        f"| persona | examples |\n|---|---|\n{rows}\n"
    )


def _distill(args: DistillConfig) -> dict[str, Any]:
    source = RunLayout(args.run).raw_dialogues(args.role)
    if not source.exists():
        raise StageError(f"{source} not found; run `distillrecdial generate --run {args.run} --role {args.role}` first")
    if not 0 <= args.eval_fraction < 1:
        raise StageError("--eval-fraction must be in [0, 1)")
    catalog = load_catalog(args.run)
    dropped: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    seen: set[str] = set()
    read = recovered_total = 0
    skipped = ProblemLog()  # bad lines of the source: skipped, counted and named, never the end of reading
    extra = [Path(path) for path in args.also]
    for path in extra:
        if not path.exists():
            raise StageError(f"{path} not found (--also)")
    records = (record for path in (source, *extra) for record in raw_reader(path, args.run, skipped))
    for record in progress(records, desc="distill", unit="dlg"):
        read += 1
        if record["dialogue_id"] in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(record["dialogue_id"])
        example, errors, recovered = distill_record(record, catalog, args.min_turns, args.max_turns)
        recovered_total += recovered
        if example is None:
            dropped[errors[0].split(":")[0]] += 1
        else:
            examples.append(example)
    examples, capped = cap_personas(examples, args.seed, args.max_per_persona, args.balance)
    if capped:
        dropped["persona_cap"] += capped
    train = [e for e in examples if not in_fraction(args.seed, e["user_id"], args.eval_fraction)]
    validation = [e for e in examples if in_fraction(args.seed, e["user_id"], args.eval_fraction)]
    if not train:
        raise StageError(f"no valid dialogues to distill from {source} (dropped: {dict(dropped)})", exit_code=1)

    out = args.run / DISTILL_DIR
    _write_jsonl(out / "train.jsonl", train)
    _write_jsonl(out / "validation.jsonl", validation)
    entry = {
        "role": args.role,
        "read": read,
        "train": len(train),
        "validation": len(validation),
        "dropped": dict(sorted(dropped.items())),
        "skipped_lines": skipped.summary(),
        "titles_recovered": recovered_total,
        **({"also": [label_for(p, args.run) for p in extra]} if extra else {}),
        "per_persona": dict(sorted(Counter(e["persona"] for e in examples).items())),
        "parameters": {
            "eval_fraction": args.eval_fraction,
            "max_per_persona": args.max_per_persona,
            "balance": args.balance,
            "min_turns": args.min_turns,
            "max_turns": args.max_turns,
            "seed": args.seed,
        },
    }
    write_text(out / "README.md", _card(entry))
    record_stage(args.run, "distill", entry)
    return entry


def run(config: DistillConfig) -> dict[str, Any]:
    """Distill the run's dialogues (or, with ``task="rationales"``, its rationales) into an SFT set."""
    if config.task == "rationales":
        return rationale_distill.run(config)
    return _distill(config)


def summary_lines(entry: dict[str, Any]) -> list[str]:
    if entry.get("task") == "rationales":
        return rationale_distill.summary_lines(entry)
    drops = ", ".join(f"{k} {v:,}" for k, v in entry["dropped"].items()) or "none"
    skipped = entry["skipped_lines"]["counts"]
    return [
        f"distill: {entry['read']:,} {entry['role']} dialogues → {entry['train']:,} train + "
        f"{entry['validation']:,} validation examples in {DISTILL_DIR}/; dropped: {drops}; "
        f"{entry['titles_recovered']:,} titles mapped back to tags"
        + (f"; bad lines skipped: {describe(entry['skipped_lines'])}" if skipped else "")
    ]
