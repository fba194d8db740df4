"""`distillrecdial import-release`: the first DistillRecDial release's files → this project's run folder.

The release ships (a) raw model responses, one JSON line each with ``prompt``
(a Llama-3 chat-template string), ``response`` (``[USR]``/``[AI]`` turns with
``<id_ASIN>`` tags), ``user_id``, ``target_asin`` and ``scenario`` (the persona's
display name), and (b) split files whose ``text`` is the whole chat rendered
with the Llama-3.1 template, items written as titles, each recommended item
prefixed with ``<|reserved_special_token_10|>``, plus ``target``,
``named_items`` and ``scenario``.

(a) becomes ``RUN/raw/<role>/`` records in the `raw` schema, so `build` makes
every config from them (run `prepare` on the same sources first for the
catalog and histories). (b) becomes `sft`-shaped rows in
``RUN/import/sft/<split>.jsonl``, the release's own splits kept.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from distillrecdial_kit.builder.rows import REC_CLOSE, REC_OPEN
from distillrecdial_kit.generation import records
from distillrecdial_kit.generation.dialogue_parser import check_dialogue, item_ids, parse_dialogue
from distillrecdial_kit.generation.line_scan import LineScan
from distillrecdial_kit.generation.personas import PERSONAS
from distillrecdial_kit.generation.raw_store import ShardWriter, merge_shards, shard_name
from distillrecdial_kit.generation.records import GENERATOR_FIELDS, Generator, dialogue_id, turn_dicts
from distillrecdial_kit.pipeline.atomic import atomic_path
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import INTERACTIONS_FILE, ROLES, RunLayout
from distillrecdial_kit.pipeline.manifest import record_stage
from distillrecdial_kit.pipeline.problems import Problem, ProblemLog
from distillrecdial_kit.pipeline.stage import config_from

_BLOCK = re.compile(r"<\|start_header_id\|>(\w+)<\|end_header_id\|>\n?\n?(.*?)<\|eot_id\|>", re.DOTALL)
_RELEASE_MARKER = "<|reserved_special_token_10|>"
_MARKED_TITLE = re.compile(re.escape(_RELEASE_MARKER) + r"\s*([^,.;:!?\n]+?)(?=[,.;:!?\n]|$| and | or )")
_SPLITS = {"train": "train", "valid": "validation", "validation": "validation", "test": "test"}
PERSONA_BY_NAME = {p.name.lower(): p.id for p in PERSONAS} | {p.id: p.id for p in PERSONAS}


def chat_messages(text: str) -> list[dict[str, str]]:
    """Messages of a Llama-3 chat-template string (``<|start_header_id|>role<|end_header_id|>…<|eot_id|>``)."""
    return [{"role": role, "content": content.strip()} for role, content in _BLOCK.findall(text)]


def persona_of(scenario: object) -> str | None:
    return PERSONA_BY_NAME.get(str(scenario).strip().lower()) if scenario is not None else None


def release_record(line: dict[str, Any], role: str, model: str, history: list[dict[str, Any]]) -> dict[str, Any]:
    """One release response → a record in this project's `raw` schema."""
    messages = [m for m in chat_messages(line["prompt"]) if m["role"] in ("system", "user")]
    persona = persona_of(line["scenario"])
    target = str(line["target_asin"])
    generator: Generator = {**dict.fromkeys(GENERATOR_FIELDS), "model": model, "backend": "import", "role": role}
    shown = set(item_ids(messages[-1]["content"])) if messages else set()
    parsed = check_dialogue(parse_dialogue(line["response"]), target, shown | {target})
    return records.raw_record(
        key=dialogue_id(str(line["user_id"]), persona, generator),
        user_id=str(line["user_id"]),
        persona=persona,
        target_item=target,
        history=history,
        prompt=messages,
        response=line["response"],
        generator=generator,
        turns=turn_dicts(parsed),
        problems=parsed.problems,
    )


def _histories(run: Path) -> dict[str, list[dict[str, Any]]]:
    """Each user's history from a `prepare` run over the same sources (empty when there is none)."""
    path = run / INTERACTIONS_FILE
    if not path.exists():
        return {}
    rows = pl.read_parquet(path).filter(pl.col("role") == "history").sort("user_id", "timestamp", "source_line")
    histories: dict[str, list[dict[str, Any]]] = {}
    for user, item, rating in rows.select("user_id", "item_id", "rating").iter_rows():
        histories.setdefault(user, []).append({"item_id": item, "rating": rating})
    return histories


def _release_lines(path: Path, required: tuple[str, ...], problems: ProblemLog) -> list[tuple[int, dict[str, Any]]]:
    lines = []
    for number, raw in LineScan(path, desc=f"import {path.name}", hash_content=False):
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            problems.add(Problem(path.name, number, "malformed_json"))
            continue
        missing = [key for key in required if not isinstance(record, dict) or record.get(key) in (None, "")]
        if missing:
            problems.add(Problem(path.name, number, "missing_field", missing[0]))
        elif persona_of(record["scenario"]) is None:
            problems.add(Problem(path.name, number, "unknown_scenario", "scenario", str(record["scenario"])[:40]))
        else:
            lines.append((number, record))
    return lines


def import_raw_responses(files: list[Path], run: Path, role: str, model: str, problems: ProblemLog) -> int:
    """Write the responses as one shard of ``RUN/raw/<role>/`` and merge it; return records written."""
    histories = _histories(run)
    role_dir = RunLayout(run).raw_dir(role)
    shard = role_dir / shard_name(0, 1)
    shard.unlink(missing_ok=True)  # an import is rewritten whole: its input is a finished file
    written = 0
    seen: set[str] = set()
    with ShardWriter(shard) as writer:
        for path in files:
            records = []
            for number, line in _release_lines(
                path, ("prompt", "response", "user_id", "target_asin", "scenario"), problems
            ):
                record = release_record(line, role, model, histories.get(str(line["user_id"]), []))
                if record["dialogue_id"] in seen:
                    problems.add(Problem(path.name, number, "duplicate_record", "user_id+scenario"))
                    continue
                seen.add(record["dialogue_id"])
                records.append(record)
            written += writer.write(records)
    merge_shards(role_dir)
    return written


def sft_row(line: dict[str, Any]) -> dict[str, Any]:
    """One release split line → an `sft`-shaped row (recommendations re-marked ``<rec>…</rec>``)."""
    messages = []
    for message in chat_messages(line["text"]):
        content = _MARKED_TITLE.sub(lambda m: f"{REC_OPEN}{m.group(1).strip()}{REC_CLOSE}", message["content"])
        messages.append({"role": message["role"], "content": content.replace(_RELEASE_MARKER, "").strip()})
    target = line["target"][0] if isinstance(line["target"], list) else line["target"]
    return {
        "messages": messages,
        "persona": persona_of(line["scenario"]),
        "target_item": str(target).removeprefix("<id_").removesuffix(">"),
        "named_items": [str(i).removeprefix("<id_").removesuffix(">") for i in line.get("named_items") or []],
    }


def split_of(path: Path) -> str:
    for key, split in _SPLITS.items():
        if path.stem.endswith(f"_{key}") or path.stem == key:
            return split
    raise StageError(f"{path}: cannot tell the split from the file name (expected *_train, *_valid or *_test)")


def import_split_files(files: list[Path], out: Path, problems: ProblemLog) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for path in files:
        split = split_of(path)
        rows = [sft_row(line) for _, line in _release_lines(path, ("text", "target", "scenario"), problems)]
        with atomic_path(out / f"{split}.jsonl") as tmp, open(tmp, "wb") as handle:
            for row in rows:
                handle.write(orjson.dumps(row) + b"\n")
        counts[split] += len(rows)
    return dict(counts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder to import into")
    parser.add_argument("--raw-responses", nargs="*", type=Path, default=[], help="release raw response JSONL files")
    parser.add_argument("--role", choices=ROLES, default="student", help="whose responses they are (default student)")
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="generator name recorded in provenance",
    )
    parser.add_argument(
        "--splits", nargs="*", type=Path, default=[], help="release split files (*_train/valid/test.jsonl)"
    )


DEFAULT_MODEL = "meta-llama/Llama-3.1-8B-Instruct (DistillRecDial release student)"


@dataclass(frozen=True)
class ImportReleaseConfig:
    """What `import-release` needs: the run folder and the release's files."""

    run: Path
    raw_responses: tuple[Path, ...] = ()
    splits: tuple[Path, ...] = ()
    role: str = "student"
    #: generator name recorded in provenance
    model: str = DEFAULT_MODEL


def config_from_args(args: argparse.Namespace) -> ImportReleaseConfig:
    return config_from(ImportReleaseConfig, args)


def run(config: ImportReleaseConfig) -> dict[str, Any]:
    """Import the files; return the summary (also the manifest entry, plus ``sft_dir``)."""
    files = [*config.raw_responses, *config.splits]
    if not files:
        raise StageError("nothing to import: give --raw-responses and/or --splits")
    for path in files:
        if not path.is_file():
            raise StageError(f"file not found: {path}")
    problems = ProblemLog()
    raw = list(config.raw_responses)
    written = import_raw_responses(raw, config.run, config.role, config.model, problems) if raw else 0
    sft_dir = config.run / "import" / "sft"
    splits = import_split_files(list(config.splits), sft_dir, problems) if config.splits else {}
    entry = {"raw_records": written, "role": config.role, "sft_rows": splits, "problems": problems.summary()}
    record_stage(config.run, "import-release", entry)
    return {**entry, "sft_dir": str(sft_dir)}


def summary_lines(summary: dict[str, Any]) -> list[str]:
    written, role, splits = summary["raw_records"], summary["role"], summary["sft_rows"]
    bad = ", ".join(f"{k} {v}" for k, v in summary["problems"]["counts"].items()) or "none"
    return [
        f"import-release: {written:,} raw {role} records"
        + (f" → raw/{role}/dialogues.jsonl" if written else "")
        + (f"; sft rows {splits} → {summary['sft_dir']}" if splits else "")
        + f"; bad lines: {bad}"
    ]
