"""`distillrecdial merge`: join the shard files of a sharded `generate` run.

Copy every machine's ``raw/<role>/shard-*.jsonl`` into one run folder, then
merge: the result is ``raw/<role>/dialogues.jsonl`` in prompt order, with
duplicate dialogue ids rejected and prompts still missing counted. ``--prompts walks``
merges a sharded `generate --prompts walks` run in ``raw/walks/<role>/``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillrecdial_kit.generation.raw_store import MERGED_NAME, merge_shards, prompt_order, read_records
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import PROMPT_KINDS, ROLES, RunLayout, read_prompts, read_walk_prompts
from distillrecdial_kit.pipeline.manifest import record_stage
from distillrecdial_kit.pipeline.problems import ProblemLog, describe
from distillrecdial_kit.pipeline.stage import config_from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--prompts", choices=PROMPT_KINDS, default="dialogues", help="which generate run to merge")


@dataclass(frozen=True)
class MergeConfig:
    run: Path
    role: str
    prompts: str = "dialogues"


def config_from_args(args: argparse.Namespace) -> MergeConfig:
    return config_from(MergeConfig, args)


def run(args: MergeConfig) -> dict[str, Any]:
    """Join the shard files into ``dialogues.jsonl`` in prompt order; return the summary (manifest entry)."""
    for name, value, allowed in (("role", args.role, ROLES), ("prompts", args.prompts, PROMPT_KINDS)):
        if value not in allowed:
            raise StageError(f"--{name} {value!r}: choose one of {', '.join(allowed)}")
    walks = args.prompts == "walks"
    role_dir = RunLayout(args.run).raw_dir(args.role, "walks" if walks else "dialogues")
    if not list(role_dir.glob("shard-*-of-*.jsonl")):
        raise StageError(f"no shard files in {role_dir}; run `distillrecdial generate` first")
    skipped = ProblemLog()  # bad lines of prompts.jsonl and of the shard files: skipped, counted, named
    order = prompt_order(read_walk_prompts(args.run, skipped) if walks else read_prompts(args.run, skipped))
    result = merge_shards(role_dir, order)
    skipped.extend(result.skipped)
    done = {(r["user_id"], r["persona"]) for r in read_records(role_dir / MERGED_NAME)}
    missing = len(set(order) - done)
    entry = {
        "role": args.role,
        "folder": str(role_dir.relative_to(args.run)),
        "shards": result.shards,
        "records": result.records,
        "duplicates_rejected": len(result.duplicates),
        "prompts_missing": missing,
        "skipped_lines": skipped.summary(),
    }
    record_stage(args.run, f"merge:{'walks:' if walks else ''}{args.role}", entry)
    return entry


def summary_lines(entry: dict[str, Any]) -> list[str]:
    return [
        f"merge ({entry['role']}): {len(entry['shards'])} shards → {entry['records']:,} dialogues in "
        f"{entry['folder']}/{MERGED_NAME}; {entry['duplicates_rejected']:,} duplicate ids rejected; "
        f"{entry['prompts_missing']:,} prompts still without a dialogue; "
        f"bad lines skipped: {describe(entry['skipped_lines'])}"
    ]
