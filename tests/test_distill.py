"""`distill`: teacher raw records → the SFT set; titles mapped back to tags; each drop reason counted."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from datasets import load_dataset

from distillrecdial_kit.generation.dialogue_parser import check_dialogue, parse_dialogue
from distillrecdial_kit.generation.distill import cap_personas, distill_record, load_catalog
from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records
from distillrecdial_kit.pipeline.cli import main


@pytest.fixture(scope="module")
def raw(teacher_run) -> list[dict]:
    return list(read_records(teacher_run / "raw" / "teacher" / MERGED_NAME))


def jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_sft_set_holds_every_valid_dialogue_in_chat_format(teacher_run, raw, tmp_path, capsys):
    teacher_run = shutil.copytree(teacher_run, tmp_path / "run")
    assert main(["distill", "--run", str(teacher_run)]) == 0
    assert "dropped: none" in capsys.readouterr().out
    train, validation = (
        jsonl(teacher_run / "distill" / "train.jsonl"),
        jsonl(teacher_run / "distill" / "validation.jsonl"),
    )
    assert len(train) + len(validation) == len(raw) and validation
    assert not {e["user_id"] for e in train} & {e["user_id"] for e in validation}
    by_id = {r["dialogue_id"]: r for r in raw}
    for example in train + validation:
        system, user, assistant = example["messages"]
        record = by_id[example["dialogue_id"]]
        assert (system["role"], user["role"], assistant["role"]) == ("system", "user", "assistant")
        assert system["content"] == record["prompt"][0]["content"] and user["content"] == record["prompt"][1]["content"]
        parsed = check_dialogue(
            parse_dialogue(assistant["content"]),
            example["target_item"],
            {example["target_item"]} | {h["item_id"] for h in record["history"]},
        )
        assert parsed.problems == [] and assistant["content"].startswith("[USR] ")
    loaded = load_dataset(str(teacher_run / "distill"))
    assert set(loaded) == {"train", "validation"} and loaded["train"].num_rows == len(train)
    assert loaded["train"][0]["messages"][2]["role"] == "assistant"


def test_titles_written_by_the_teacher_become_tags(teacher_run, raw):
    catalog = load_catalog(teacher_run)
    record = next(r for r in raw if r["persona"] == "cold_start_browser")
    title = catalog[record["target_item"]].title
    written = {**record, "response": record["response"].replace(f"<id_{record['target_item']}>", f'"{title}"')}
    assert f"<id_{record['target_item']}>" not in written["response"]
    example, errors, recovered = distill_record(written, catalog, 4, 14)
    assert errors == [] and recovered >= 1
    assert f"<id_{record['target_item']}>" in example["messages"][2]["content"]
    assert title not in example["messages"][2]["content"]


def with_response(record: dict, text: str) -> dict:
    return {**record, "response": text}


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ("I'm sorry, I can't write that.", "no_turns"),
        ("[AI] Hello!\n[USR] Hi.\n[AI] Try <id_{t}>.\n[USR] Thanks.", "starts_with_assistant"),
        ("[USR] Hi.\n[AI] Try <id_{t}>.", "too_few_turns"),
        ("\n".join(["[USR] More?", "[AI] Try <id_{t}>."] * 8), "too_many_turns"),
        ("[USR] Hi.\n[AI] What mood?\n[USR] Sad.\n[AI] Try something else.", "target_not_recommended"),
        ("[USR] Hi.\n[AI] Try <id_B0NOTSHOWN>.\n[USR] Other?\n[AI] Or <id_{t}>.", "unknown_item"),
        ("[USR] Hi.\n[AI]\n[USR] Hello?\n[AI] Try <id_{t}>.\n[USR] Ok.", "empty_turn"),
    ],
)
def test_each_drop_reason(teacher_run, raw, response, reason):
    record = next(r for r in raw if r["persona"] == "cold_start_task")
    example, errors, _ = distill_record(
        with_response(record, response.replace("{t}", record["target_item"])), load_catalog(teacher_run), 4, 14
    )
    assert example is None
    assert errors[0].split(":")[0] == reason


def test_duplicates_and_persona_caps_are_dropped_and_counted(teacher_run, raw, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(teacher_run, run, ignore=shutil.ignore_patterns("distill"))
    merged = run / "raw" / "teacher" / MERGED_NAME
    merged.write_bytes(merged.read_bytes() + merged.read_bytes().splitlines(keepends=True)[0])
    assert main(["distill", "--run", str(run), "--max-per-persona", "10", "--eval-fraction", "0"]) == 0
    entry = orjson.loads((run / "manifest.json").read_bytes())["stages"]["distill"]
    assert entry["dropped"]["duplicate"] == 1
    assert entry["dropped"]["persona_cap"] == len(raw) - 50
    assert entry["per_persona"] == dict.fromkeys(entry["per_persona"], 10) and entry["validation"] == 0


def test_balance_caps_at_the_smallest_persona_deterministically(raw):
    examples = [{"dialogue_id": r["dialogue_id"], "persona": r["persona"]} for r in raw]
    smallest = min(sum(e["persona"] == p for e in examples) for p in {e["persona"] for e in examples})
    kept, dropped = cap_personas(examples, seed=1, max_per_persona=None, balance=True)
    assert dropped == len(examples) - 5 * smallest
    again, _ = cap_personas(list(reversed(examples)), seed=1, max_per_persona=None, balance=True)
    assert {e["dialogue_id"] for e in again} == {e["dialogue_id"] for e in kept}, "independent of input order"


def test_missing_teacher_dialogues_is_a_clear_error(sample_run, tmp_path, capsys):
    assert main(["distill", "--run", str(tmp_path)]) == 2
    assert "raw/teacher/dialogues.jsonl not found" in capsys.readouterr().err
