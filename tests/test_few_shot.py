"""What `make demo-llm` adds for a small real teacher: a worked example ahead of each prompt (`generate
--few-shot`), the dialogue grammar its decoding can be held to, and `distill --also` joining its dialogues."""

from __future__ import annotations

import hashlib
import re
import shutil

import orjson

from distillrecdial_kit.generation.dialogue_parser import check_dialogue, dialogue_regex, parse_dialogue
from distillrecdial_kit.generation.few_shot import add_examples
from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records
from distillrecdial_kit.pipeline.cli import main, run_stage
from tests.conftest import run_with_prompts


def test_each_prompt_is_shown_a_valid_dialogue_of_another_user_with_its_persona(teacher_run):
    prompts = [orjson.loads(line) for line in (teacher_run / "prompts.jsonl").read_bytes().splitlines()]
    records = list(read_records(teacher_run / "raw" / "teacher" / MERGED_NAME))
    by_user = {r["user_id"]: r for r in records}
    shown, count = add_examples(prompts, records)
    assert count == len(prompts)
    for before, after in zip(prompts, shown, strict=True):
        system, example_user, example_reply, user = after["prompt"]
        assert (system, user) == (before["prompt"][0], before["prompt"][-1]) and after["inputs"] == before["inputs"]
        example = next(r for r in records if r["response"] == example_reply["content"])
        assert example["persona"] == before["persona"] and example["user_id"] != before["user_id"]
        assert example_user["content"] == by_user[example["user_id"]]["prompt"][-1]["content"]
    assert shown == add_examples(prompts, records)[0], "the choice is stable"
    assert len({p["prompt"][2]["content"] for p in shown}) > 5, "examples vary across prompts"
    # Invalid dialogues are never examples; a persona with none leaves its prompts as they were.
    invalid = [{**r, "valid": False} for r in records]
    assert add_examples(prompts, invalid) == (prompts, 0)


def test_generate_few_shot_stores_the_shown_prompt_and_says_so(teacher_run, sample_run, tmp_path, capsys):
    run = run_with_prompts(sample_run, tmp_path / "run")
    examples = teacher_run / "raw" / "teacher" / MERGED_NAME
    argv = ["generate", "--run", str(run), "--role", "teacher", "--few-shot", str(examples), "--limit", "3"]
    entry = run_stage(argv)
    # The example file is named as the run sees it: inside the run relative to it, else by its name (no local path).
    # with the file's SHA-256, so another teacher's dialogues.jsonl is another setting
    named = f"{MERGED_NAME} (sha256 {hashlib.sha256(examples.read_bytes()).hexdigest()[:16]})"
    assert entry["written"] == 3 and entry["generator"]["few_shot"] == named
    for record in read_records(run / "raw" / "teacher" / MERGED_NAME):
        assert [m["role"] for m in record["prompt"]] == ["system", "user", "assistant", "user"]
        assert record["generator"]["few_shot"] == named
    # Another example file is another setting: the folder refuses to mix them.
    assert main([*argv[:-4], "--limit", "3"]) == 2
    assert "few_shot differ" in capsys.readouterr().err


def test_the_dialogue_grammar_admits_valid_dialogues_and_only_the_shown_items():
    pattern = re.compile(dialogue_regex(["B0TARGET01", "B0HIST0001"]))
    text = (
        "[USR] Something tense tonight?\n[AI] Do you like mysteries?\n[USR] Yes, the twistier the better.\n"
        "[AI] Any era?\n[USR] Classic is fine.\n[AI] Try <id_B0TARGET01>, a classic twist.\n"
    )
    assert pattern.fullmatch(text)
    parsed = check_dialogue(parse_dialogue(text), "B0TARGET01", {"B0TARGET01", "B0HIST0001"})
    assert parsed.valid, parsed.problems
    assert pattern.fullmatch(text + "[USR] Thanks!\n[AI] Enjoy it.\n")
    assert not pattern.fullmatch(text.replace("B0TARGET01", "B0ELSEWHERE"))  # an item the prompt never showed
    assert not pattern.fullmatch(text.replace("[AI] Any era?\n", ""))  # turns must alternate
    assert not pattern.fullmatch(text.replace("Classic", "Classic <id_B0HIST0001>"))  # one tag, in its turn


def test_distill_also_joins_another_teachers_valid_dialogues(teacher_run, tmp_path, capsys):
    run = shutil.copytree(teacher_run, tmp_path / "run")
    records = list(read_records(run / "raw" / "teacher" / MERGED_NAME))
    other = tmp_path / "llm" / MERGED_NAME
    other.parent.mkdir()
    llm = [
        {**r, "dialogue_id": f"llm{i:017d}", "generator": {**r["generator"], "model": "m"}}
        for i, r in enumerate(records)
    ]
    llm[0] = {**llm[0], "response": "[USR] hi", "valid": False}  # an invalid one is dropped, not learnt
    other.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in llm[:5]))
    assert main(["distill", "--run", str(run), "--also", str(other)]) == 0
    capsys.readouterr()
    rows = [
        orjson.loads(line)
        for name in ("train", "validation")
        for line in (run / "distill" / f"{name}.jsonl").read_bytes().splitlines()
    ]
    assert len(rows) == len(records) + 4
    assert {r["dialogue_id"] for r in rows} >= {r["dialogue_id"] for r in llm[1:5]}
    # named without the local path (outside the run folder: by its file name)
    card = (run / "distill" / "README.md").read_text()
    assert f"`{MERGED_NAME}`" in card and str(tmp_path) not in card
