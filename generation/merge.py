"""`distillrecdial merge`: join the shard files of a sharded `generate` run.

Copy every machine's ``raw/<role>/shard-*.jsonl`` into one run folder, then
merge: the result is ``raw/<role>/dialogues.jsonl`` in prompt order, with
duplicate dialogue ids rejected and prompts still missing counted. ``--prompts walks``
merges a sharded `generate --prompts walks` run in ``raw/walks/<role>/``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from distillrecdial_kit.generation.generate import PROMPT_KINDS, ROLES, load_prompts
from distillrecdial_kit.generation.raw_store import MERGED_NAME, merge_shards, prompt_order, read_records
from distillrecdial_kit.generation.walk_stage import load_walk_prompts
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import RunLayout
from distillrecdial_kit.pipeline.manifest import record_stage
from distillrecdial_kit.pipeline.problems import ProblemLog


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder")
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--prompts", choices=PROMPT_KINDS, default="dialogues", help="which generate run to merge")


def run(args: argparse.Namespace) -> int:
    walks = args.prompts == "walks"
    role_dir = RunLayout(args.run).raw_dir(args.role, "walks" if walks else "dialogues")
    if not list(role_dir.glob("shard-*-of-*.jsonl")):
        raise StageError(f"no shard files in {role_dir}; run `distillrecdial generate` first")
    skipped = ProblemLog()  # bad lines of prompts.jsonl and of the shard files: skipped, counted, named
    order = prompt_order(load_walk_prompts(args.run) if walks else load_prompts(args.run, skipped))
    result = merge_shards(role_dir, order)
    skipped.extend(result.skipped)
    done = {(r["user_id"], r["persona"]) for r in read_records(role_dir / MERGED_NAME)}
    missing = len(set(order) - done)
    entry = {
        "shards": result.shards,
        "records": result.records,
        "duplicates_rejected": len(result.duplicates),
        "prompts_missing": missing,
        "skipped_lines": skipped.summary(),
    }
    record_stage(args.run, f"merge:{'walks:' if walks else ''}{args.role}", entry)
    print(
        f"merge ({args.role}): {len(result.shards)} shards → {result.records:,} dialogues in {role_dir / MERGED_NAME}; "
        f"{len(result.duplicates):,} duplicate ids rejected; {missing:,} prompts still without a dialogue; "
        f"bad lines skipped: {skipped.brief()}"
    )
    return 0
