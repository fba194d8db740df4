"""The rule-based baseline writes valid dialogues for every persona that recommend the target and cite only
the items its prompt showed."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from distillrecdial_kit.generation.backends import ModelSpec, Sampling
from distillrecdial_kit.generation.backends.template import TemplateBackend, write_dialogue
from distillrecdial_kit.generation.dialogue_parser import check_dialogue, item_ids, parse_dialogue, shown_items
from distillrecdial_kit.generation.personas import PERSONAS
from distillrecdial_kit.generation.prepare import PROMPTS_FILE
from distillrecdial_kit.generation.prompts import item_tag


@pytest.fixture(scope="module")
def prompts(sample_run):
    return [orjson.loads(line) for line in (sample_run / PROMPTS_FILE).read_bytes().splitlines()]


@pytest.fixture(scope="module")
def dialogues(prompts):
    texts = TemplateBackend(ModelSpec()).generate(prompts, Sampling(seed=42))
    assert all(isinstance(t, str) for t in texts)
    return list(zip(prompts, texts, strict=True))


def test_every_persona_gets_valid_dialogues_that_recommend_the_target(dialogues):
    per_persona = Counter()
    for prompt, text in dialogues:
        parsed = check_dialogue(parse_dialogue(text), prompt["target_item"], shown_items(prompt))
        assert parsed.problems == [], (prompt["persona"], parsed.problems, text)
        assert 4 <= len(parsed.turns) <= 14
        assert parsed.turns[0].role == "user"
        assert any(item_tag(prompt["target_item"]) in t.content for t in parsed.turns if t.role == "assistant")
        per_persona[prompt["persona"]] += 1
    assert set(per_persona) == {p.id for p in PERSONAS}


def test_only_items_shown_in_the_prompt_are_cited(dialogues):
    for prompt, text in dialogues:
        cited = set(item_ids(text))
        assert cited <= shown_items(prompt)
        if prompt["persona"].startswith("cold_start"):
            assert cited == {prompt["target_item"]}
        else:
            assert cited - {prompt["target_item"]}, "history personas refer to the user's history"


def test_persona_openings_follow_their_policy(dialogues):
    for prompt, text in dialogues:
        first = text.splitlines()[0]
        target = prompt["inputs"]["target"]
        if prompt["persona"] == "fully_expressive":
            assert "<id_" in first, "an expert cites what they watched"
        if prompt["persona"] == "history_hint_seeker":
            assert "<id_" in first, "the hint contrasts with a watched movie"
        if prompt["persona"] == "cold_start_browser":
            assert not any(w.lower() in first.lower() for w in target.get("keywords", []) if len(w) > 3)


def test_same_seed_same_text_other_seed_other_text(prompts):
    first = [write_dialogue(p, seed=1) for p in prompts]
    assert first == [write_dialogue(p, seed=1) for p in prompts]
    other = [write_dialogue(p, seed=2) for p in prompts]
    assert sum(a != b for a, b in zip(first, other, strict=True)) > len(prompts) // 2


def test_phrasing_varies_across_dialogues(dialogues):
    openings = Counter(text.splitlines()[0] for _, text in dialogues)
    assert len(openings) > len(dialogues) // 3


def test_template_dialogues_stop_normally_and_truncated_survives_reparsing(prompts, dialogues):
    """`truncated` comes from the backend, not the text, so build and distill must carry it over from the record."""
    from distillrecdial_kit.builder.validate import validate_record
    from distillrecdial_kit.generation.backends import Completion, finish_reason
    from distillrecdial_kit.generation.distill import distill_record
    from distillrecdial_kit.generation.records import make_record

    generator = {"role": "teacher", "backend": "template", "model": "m", "adapter": None}
    prompt, text = dialogues[0]
    assert finish_reason(text) == "stop"
    record = make_record(prompt, text, generator, "k")
    assert record["valid"] and "truncated" not in record["problems"]
    assert distill_record(record, {}, 4, 14)[0] is not None

    cut = make_record(prompt, Completion(str(text), "length"), generator, "k")
    assert not cut["valid"] and cut["problems"] == ["truncated"] and cut["response"] == text
    assert type(cut["response"]) is str, "the raw record holds plain text"
    assert "truncated" in validate_record(cut, {}).errors
    example, errors, _ = distill_record(cut, {}, 4, 14)
    assert example is None and errors == ["truncated"]
