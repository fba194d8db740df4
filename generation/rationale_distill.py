"""``distill --task rationales``: usable rationale records → a chat SFT set that trains a small rationale writer.

RDRec distils the teacher's rationales into a smaller model; here each example
is the rationale request (system + user message, as the teacher saw it) and the
canonical two-line answer rebuilt from the parsed parts, so the student learns
the clean format rather than the teacher's stray prose. Users are held out as
in the dialogue set. Output: ``RUN/distill_rationales/{train,validation}.jsonl``
(``train_student.py --dataset_name RUN/distill_rationales``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.generation.dialogue_parser import errors
from distillrecdial_kit.generation.rationale_format import format_rationale
from distillrecdial_kit.generation.rationale_store import MERGED_FILE, RATIONALES_DIR, load_rationales
from distillrecdial_kit.pipeline.atomic import atomic_path
from distillrecdial_kit.pipeline.console import progress
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import DISTILL_RATIONALES_DIR as OUT_DIR
from distillrecdial_kit.pipeline.manifest import record_stage
from distillrecdial_kit.pipeline.seeded import in_fraction


def sft_example(record: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """One record → (SFT example, None), or (None, why it was dropped)."""
    bad = errors(record["problems"])
    if bad:
        return None, bad[0].split(":")[0]
    if not record.get("prompt"):
        return None, "no_prompt"
    messages = [
        *record["prompt"],
        {"role": "assistant", "content": format_rationale(record["user_prefers"], record["item_is"])},
    ]
    return {
        "messages": messages,
        "rationale_id": record["rationale_id"],
        "user_id": record["user_id"],
        "item_id": record["item_id"],
    }, None


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        for row in rows:
            handle.write(orjson.dumps(row) + b"\n")


def run(args: Any) -> dict[str, Any]:
    """`distill --task rationales` (``args``: the stage's DistillConfig): the rationale records → SFT set."""
    source = args.run / RATIONALES_DIR / MERGED_FILE
    if not source.exists():
        raise StageError(f"{source} not found; run `distillrecdial rationales --run {args.run}` first")
    if not 0 <= args.eval_fraction < 1:
        raise StageError("--eval-fraction must be in [0, 1)")
    dropped: Counter[str] = Counter()
    train: list[dict[str, Any]] = []
    validation: list[dict[str, Any]] = []
    records = load_rationales(args.run)
    for record in progress(records, desc="distill rationales", unit="review"):
        example, reason = sft_example(record)
        if example is None:
            dropped[reason or "unknown"] += 1
        elif in_fraction(args.seed, example["user_id"], args.eval_fraction):
            validation.append(example)
        else:
            train.append(example)
    if not train:
        raise StageError(f"no usable rationales to distill (dropped: {dict(dropped)})", exit_code=1)
    out = args.run / OUT_DIR
    _write_jsonl(out / "train.jsonl", train)
    _write_jsonl(out / "validation.jsonl", validation)
    entry = {
        "task": "rationales",
        "read": len(records),
        "train": len(train),
        "validation": len(validation),
        "dropped": dict(sorted(dropped.items())),
        "parameters": {"eval_fraction": args.eval_fraction, "seed": args.seed},
    }
    record_stage(args.run, "distill:rationales", entry)
    return entry


def summary_lines(entry: dict[str, Any]) -> list[str]:
    drops = ", ".join(f"{k} {v:,}" for k, v in entry["dropped"].items()) or "none"
    return [
        f"distill (rationales): {entry['read']:,} rationale records → {entry['train']:,} train + "
        f"{entry['validation']:,} validation examples in {OUT_DIR}/; dropped: {drops}"
    ]
