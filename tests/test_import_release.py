"""The first release's files convert into this project's raw records (then every config) and sft rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
from datasets import load_dataset

from distillrecdial_kit.builder.import_release import ImportReleaseConfig, chat_messages, sft_row
from distillrecdial_kit.builder.import_release import run as run_import
from distillrecdial_kit.generation.personas import PERSONA_BY_ID
from distillrecdial_kit.generation.prepare import INTERACTIONS_FILE, ITEMS_FILE, PROMPTS_FILE
from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records
from distillrecdial_kit.pipeline.cli import main
from tests.conftest import RAW_TYPES


def llama3(messages: list[dict]) -> str:
    """The Llama-3 chat template's rendering, as the release stored its prompts and texts."""
    body = "".join(f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content']}<|eot_id|>" for m in messages)
    return "<|begin_of_text|>" + body


def release_lines(distilled_run: Path) -> list[dict]:
    """Release-format response lines made from the sample's teacher dialogues."""
    lines = []
    for record in read_records(distilled_run / "raw" / "teacher" / MERGED_NAME):
        lines.append(
            {
                "prompt": llama3(record["prompt"]),
                "response": record["response"],
                "user_id": record["user_id"],
                "target_asin": record["target_item"],
                "scenario": PERSONA_BY_ID[record["persona"]].name,
            }
        )
    return lines


def test_raw_responses_become_raw_records_that_build(sample_run, distilled_run, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    for name in (PROMPTS_FILE, ITEMS_FILE, INTERACTIONS_FILE):
        shutil.copy(sample_run / name, run / name)
    lines = release_lines(distilled_run)
    source = tmp_path / "generated_conv_Movies_and_TV_core12_items10_8B.jsonl"
    source.write_bytes(
        b"".join(orjson.dumps(x) + b"\n" for x in lines) + b'{"prompt": "cut\n' + b'{"scenario": "Alien"}\n'
    )

    assert main(["import-release", "--run", str(run), "--raw-responses", str(source)]) == 0
    assert "bad lines: malformed_json 1, missing_field 1" in capsys.readouterr().out
    records = list(read_records(run / "raw" / "student" / MERGED_NAME))
    assert len(records) == len(lines)
    teacher = {r["user_id"]: r for r in read_records(distilled_run / "raw" / "teacher" / MERGED_NAME)}
    for record in records:
        assert set(record) == set(RAW_TYPES)
        original = teacher[record["user_id"]]
        assert record["prompt"] == original["prompt"] and record["persona"] == original["persona"]
        assert record["history"] == original["history"], "histories come from the prepare run"
        assert record["valid"] and record["generator"]["backend"] == "import"

    assert main(["build", "--run", str(run)]) == 0
    sft = load_dataset(str(run / "hub"), "sft")
    assert sum(split.num_rows for split in sft.values()) == len(lines)


def test_split_files_become_sft_rows_with_marked_recommendations(tmp_path, capsys):
    text = llama3(
        [
            {"role": "system", "content": "You are a friendly recommender."},
            {"role": "user", "content": "Something about the mob?"},
            {"role": "assistant", "content": "Try <|reserved_special_token_10|> The Godfather, a crime epic."},
            {"role": "user", "content": "Seen it."},
            {"role": "assistant", "content": "Then <|reserved_special_token_10|> Goodfellas."},
        ]
    )
    line = {
        "text": text,
        "target": ["<id_B0GOODF001>"],
        "named_items": ["<id_B0GODF0001>", "<id_B0GOODF001>"],
        "scenario": "Cold-Start Task-Oriented",
    }
    row = sft_row(line)
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert row["messages"][2]["content"] == "Try <rec>The Godfather</rec>, a crime epic."
    assert row["messages"][4]["content"] == "Then <rec>Goodfellas</rec>."
    assert row["persona"] == "cold_start_task" and row["target_item"] == "B0GOODF001"
    assert row["named_items"] == ["B0GODF0001", "B0GOODF001"]

    split_file = tmp_path / "Movies_and_TV_llama3.1_reserved_special_token_10_valid.jsonl"
    split_file.write_bytes(orjson.dumps(line) + b"\n")
    run = tmp_path / "run"
    assert main(["import-release", "--run", str(run), "--splits", str(split_file)]) == 0
    rows = [orjson.loads(x) for x in (run / "import" / "sft" / "validation.jsonl").read_bytes().splitlines()]
    assert rows == [row]

    again = run_import(ImportReleaseConfig(run=tmp_path / "typed", splits=(split_file,)))
    assert again["sft_rows"] == {"validation": 1} and again["raw_records"] == 0
    assert (tmp_path / "typed" / "import" / "sft" / "validation.jsonl").read_bytes() == (
        run / "import" / "sft" / "validation.jsonl"
    ).read_bytes()


def test_chat_messages_and_clear_errors(tmp_path, capsys):
    assert chat_messages(llama3([{"role": "user", "content": " hi "}])) == [{"role": "user", "content": "hi"}]
    assert main(["import-release", "--run", str(tmp_path)]) == 2
    assert "nothing to import" in capsys.readouterr().err
    assert main(["import-release", "--run", str(tmp_path), "--splits", str(tmp_path / "x_train.jsonl")]) == 2
