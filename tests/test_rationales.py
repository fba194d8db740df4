"""`distillrecdial rationales` with the template writer on the sample: schema, resume, and every use of the records.

Everything runs for real (prepare, rationales, generate, build, distill, ``load_dataset`` on the built folder).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import orjson
import polars as pl
import pytest
from datasets import load_dataset

from benchmarks.sample_run import sample_config
from distillrecdial_kit.builder.features import FEATURES
from distillrecdial_kit.generation.prepare import run as prepare
from distillrecdial_kit.generation.rationale_store import MERGED_FILE, RATIONALES_DIR, item_profiles, load_rationales
from distillrecdial_kit.pipeline.cli import main

RATIONALES_FIELDS = [*FEATURES["rationales"], *(f"generator.{k}" for k in FEATURES["rationales"]["generator"])]
RECORD_KEYS = {
    "rationale_id",
    "user_id",
    "item_id",
    "review_line",
    "rating",
    "user_prefers",
    "item_is",
    "generator",
    "problems",
    "prompt",
    "response",
}


@pytest.fixture(scope="module")
def rationale_run(tmp_path_factory) -> Path:
    """The sample prepared, then `rationales --backend template` over the reviews the prompts show."""
    run = tmp_path_factory.mktemp("rationales") / "run"
    prepare(sample_config(run))
    assert main(["rationales", "--run", str(run), "--backend", "template", "-q"]) == 0
    return run


def shown_pairs(run: Path) -> set[tuple[str, str]]:
    pairs = set()
    for line in (run / "prompts.jsonl").read_bytes().splitlines():
        prompt = orjson.loads(line)
        for facts in [prompt["inputs"]["target"], *prompt["inputs"]["history"]]:
            if "review" in facts:
                pairs.add((prompt["user_id"], facts["item_id"]))
    return pairs


def test_every_shown_review_gets_a_labelled_record_in_the_schema(rationale_run):
    records = load_rationales(rationale_run)
    assert {(r["user_id"], r["item_id"]) for r in records} == shown_pairs(rationale_run)
    interactions = pl.read_parquet(rationale_run / "interactions.parquet")
    pairs = zip(interactions["user_id"], interactions["item_id"], strict=True)
    lines = dict(zip(pairs, interactions["source_line"], strict=True))
    for record in records:
        assert set(record) == RECORD_KEYS
        assert record["review_line"] == lines[(record["user_id"], record["item_id"])]
        assert record["generator"]["backend"] == "template"
        assert record["generator"]["model"] == "distillrecdial-rationale-template-v1+en_core_web_sm-3.8.0"
        assert record["problems"] == []
        assert record["user_prefers"].startswith("The user ") and record["item_is"]
    assert len({r["rationale_id"] for r in records}) == len(records)


def test_killed_run_resumes_without_loss_or_duplicates(rationale_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(rationale_run, run)
    folder = run / RATIONALES_DIR
    shard = next(folder.glob("shard-*.jsonl"))
    whole = shard.read_bytes()
    lines = whole.splitlines(keepends=True)
    shard.write_bytes(b"".join(lines[:50]) + lines[50][:40])  # killed mid-write of record 51
    (folder / MERGED_FILE).unlink()
    assert main(["rationales", "--run", str(run), "-q"]) == 0
    again = shard.read_bytes().splitlines()
    assert len(again) == len(lines)
    assert sorted(again) == sorted(whole.splitlines())  # same records, byte for byte, none twice
    assert (folder / MERGED_FILE).read_bytes() == (rationale_run / RATIONALES_DIR / MERGED_FILE).read_bytes()


def test_a_damaged_line_before_the_end_is_skipped_named_and_redone(rationale_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(rationale_run, run)
    shard = next((run / RATIONALES_DIR).glob("shard-*.jsonl"))
    lines = shard.read_bytes().splitlines(keepends=True)
    damaged = b"".join(lines[:10]) + b'{"rationale_id": "x", "user_\n' + b"".join(lines[11:])
    shard.write_bytes(damaged)
    (run / RATIONALES_DIR / MERGED_FILE).unlink()
    assert main(["rationales", "--run", str(run), "-q"]) == 0
    label = f"{RATIONALES_DIR}/{shard.name}:11"
    assert f"{label}: malformed_json" in capsys.readouterr().err  # named even with -q
    after = shard.read_bytes()
    assert after.startswith(damaged)  # nothing cut: every record after the bad line is kept
    assert after[len(damaged) :] == lines[10]  # only the damaged record is written again
    entry = orjson.loads((run / "manifest.json").read_bytes())["stages"]["rationales:shard-0-of-1"]
    assert entry["written"] == 1 and entry["already_done"] == len(lines) - 1
    assert entry["skipped_lines"]["counts"] == {"malformed_json": 1}
    assert entry["skipped_lines"]["examples"]["malformed_json"][0].startswith(label)
    assert (run / RATIONALES_DIR / MERGED_FILE).read_bytes() == (
        rationale_run / RATIONALES_DIR / MERGED_FILE
    ).read_bytes()


def test_sharded_runs_merge_to_the_same_records(rationale_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(rationale_run, run, ignore=shutil.ignore_patterns(RATIONALES_DIR))
    for index in ("0", "1", "2"):
        assert main(["rationales", "--run", str(run), "--num-shards", "3", "--shard-index", index, "-q"]) == 0
    assert len(list((run / RATIONALES_DIR).glob("shard-*-of-00003.jsonl"))) == 3
    assert main(["rationales", "--run", str(run), "--merge", "-q"]) == 0
    merged = (run / RATIONALES_DIR / MERGED_FILE).read_bytes()
    assert merged == (rationale_run / RATIONALES_DIR / MERGED_FILE).read_bytes()


def test_other_generator_settings_are_refused_in_the_same_folder(rationale_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(rationale_run, run)
    assert main(["rationales", "--run", str(run), "--temperature", "0.9"]) != 0
    assert "other settings" in capsys.readouterr().err


def test_all_covers_every_review_with_text(rationale_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(rationale_run, run)
    reviews = sample_config(run).reviews
    assert main(["rationales", "--run", str(run), "--all", "--reviews", str(reviews), "-q"]) == 0
    records = load_rationales(run)
    interactions = pl.read_parquet(run / "interactions.parquet")
    assert len(records) == interactions.height  # the sample's reviews all have text
    assert shown_pairs(run) <= {(r["user_id"], r["item_id"]) for r in records}


def test_all_refuses_a_review_dump_prepare_did_not_read(rationale_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(rationale_run, run)
    other = tmp_path / "other.jsonl"
    other.write_bytes(Path(sample_config(run).reviews).read_bytes()[:1000])
    assert main(["rationales", "--run", str(run), "--all", "--reviews", str(other)]) != 0
    assert "is not the file prepare read" in capsys.readouterr().err


def test_with_rationales_puts_preferences_in_review_reading_prompts_only(rationale_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(rationale_run, run)
    before = {p["prompt_id"]: p for p in map(orjson.loads, (run / "prompts.jsonl").read_bytes().splitlines())}
    prepare(dataclasses.replace(sample_config(run), with_rationales=True))
    after = {p["prompt_id"]: p for p in map(orjson.loads, (run / "prompts.jsonl").read_bytes().splitlines())}
    prefers = {(r["user_id"], r["item_id"]): r["user_prefers"] for r in load_rationales(run)}
    changed = 0
    for key, prompt in after.items():
        text = prompt["prompt"][1]["content"]
        if prompt["persona"] != "fully_expressive":
            assert prompt == before[key]
            continue
        target = prompt["inputs"]["target"]
        assert prefers[(prompt["user_id"], target["item_id"])] in text
        assert "The user's review (" not in text  # no raw review text left
        changed += prompt != before[key]
    assert changed > 0
    inputs = orjson.loads((run / "manifest.json").read_bytes())["stages"]["prepare"]["inputs"]
    assert inputs["rationales"]["name"] == MERGED_FILE and len(inputs["rationales"]["sha256"]) == 64
    assert pl.read_parquet(run / "interactions.parquet")["review_text"].drop_nulls().len() > 0  # raw text kept


def test_built_rationales_config_joins_items_and_raw(rationale_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(rationale_run, run)
    assert main(["generate", "--run", str(run), "--role", "teacher", "-q"]) == 0
    assert main(["build", "--run", str(run), "--allow-template", "-q"]) == 0
    rationales = load_dataset(str(run / "hub"), "rationales")
    items = load_dataset(str(run / "hub"), "items")["train"]
    raw = load_dataset(str(run / "hub"), "raw")
    assert list(rationales) == ["train"]
    rows = rationales["train"]
    assert rows.num_rows == len(load_rationales(run))
    assert set(rows["item_id"]) <= set(items["item_id"])
    raw_users = {u for split in raw.values() for u in split["user_id"]}
    assert set(rows["user_id"]) <= raw_users
    assert rows.features["generator"]["backend"].dtype == "string"
    by_item = dict(zip(items["item_id"], items["item_rationales"], strict=True))
    profiles = item_profiles(run)
    for item_id, texts in by_item.items():
        assert len(texts) == len(set(texts)) <= 3
        assert (item_id in profiles) == bool(texts)
    assert any(by_item.values())
    card = (run / "hub" / "README.md").read_text()
    assert "config_name: rationales" in card
    described = card.split("### `rationales`", 1)[1].split("\n### ", 1)[0]
    for field in RATIONALES_FIELDS:
        assert f"`{field}`" in described, field


def test_distill_rationales_writes_a_loadable_sft_set(rationale_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(rationale_run, run)
    assert main(["distill", "--run", str(run), "--task", "rationales", "--eval-fraction", "0.3", "-q"]) == 0
    data = load_dataset("json", data_dir=str(run / "distill_rationales"))
    assert data["train"].num_rows + data["validation"].num_rows == len(load_rationales(run))
    example = data["train"][0]["messages"]
    assert [m["role"] for m in example] == ["system", "user", "assistant"]
    assert example[2]["content"].startswith("USER PREFERS: ") and "\nITEM IS: " in example[2]["content"]
    train_users = set(data["train"]["user_id"])
    assert train_users.isdisjoint(data["validation"]["user_id"])


def test_a_run_without_rationales_builds_without_the_config(rationale_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(rationale_run, run, ignore=shutil.ignore_patterns(RATIONALES_DIR))
    assert main(["generate", "--run", str(run), "--role", "teacher", "-q"]) == 0
    assert main(["build", "--run", str(run), "--allow-template", "-q"]) == 0
    assert not (run / "hub" / "data" / "rationales").exists()
    assert "config_name: rationales" not in (run / "hub" / "README.md").read_text()
    items = load_dataset(str(run / "hub"), "items")["train"]
    assert items.num_rows > 0 and not any(items["item_rationales"])


def test_a_run_where_every_review_failed_exits_1_and_writes_nothing(rationale_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(rationale_run, run, ignore=shutil.ignore_patterns(RATIONALES_DIR))
    dead = "base_url=http://127.0.0.1:9/v1"  # the discard port: nothing answers
    argv = ["rationales", "--run", str(run), "--backend", "openai", "--model", "m", "--limit", "3", "-q"]
    argv += ["--backend-arg", dead, "--backend-arg", "max_retries=0", "--backend-arg", "timeout=2"]
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "0 written" in out and "3 failed" in out
    assert "every one of 3 reviews failed" in err
    entry = orjson.loads((run / "manifest.json").read_bytes())["stages"]["rationales:shard-0-of-1"]
    assert entry["written"] == 0 and sum(entry["failed"].values()) == 3 and entry["executor"] == {"name": "local"}
