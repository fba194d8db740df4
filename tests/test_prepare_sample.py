"""`prepare` on the embedded sample: the k-core, targets and histories, and each persona's facts."""

from __future__ import annotations

import orjson
import polars as pl
import pytest

from distillrecdial_kit.generation.personas import PERSONA_BY_ID, PERSONAS
from distillrecdial_kit.generation.prepare import INTERACTIONS_FILE, ITEMS_FILE, PROMPTS_FILE
from distillrecdial_kit.generation.prompts import FACT_LABELS, item_tag
from distillrecdial_kit.pipeline.manifest import read_manifest

K = 12


@pytest.fixture(scope="module")
def run(sample_run):
    prompts = [orjson.loads(line) for line in (sample_run / PROMPTS_FILE).read_bytes().splitlines()]
    items = {row["item_id"]: row for row in pl.read_parquet(sample_run / ITEMS_FILE).iter_rows(named=True)}
    interactions = pl.read_parquet(sample_run / INTERACTIONS_FILE)
    return prompts, items, interactions, read_manifest(sample_run)["stages"]["prepare"]


def present(value) -> bool:
    return value not in (None, "", [])


def test_sample_kcore_is_a_fixed_point_of_the_promised_size(run):
    prompts, items, interactions, entry = run
    per_user = interactions.group_by("user_id").len()["len"]
    per_item = interactions.group_by("item_id").len()["len"]
    assert per_user.min() >= K and per_item.min() >= K
    assert per_user.len() >= 60 and per_item.len() >= 100
    assert set(items) == set(interactions["item_id"])
    assert entry["counts"]["users"] == per_user.len() == len(prompts)
    assert entry["counts"]["items"] == per_item.len()
    assert interactions.select("user_id", "item_id").is_duplicated().sum() == 0


def test_target_is_the_latest_interaction_and_history_the_nine_before(run):
    prompts, _, interactions, _ = run
    ordered = interactions.sort("user_id", "timestamp", "source_line")
    by_user = {user: rows for (user,), rows in ordered.group_by("user_id", maintain_order=True)}
    for prompt in prompts:
        rows = by_user[prompt["user_id"]]
        assert prompt["target_item"] == rows["item_id"][-1]
        expected = [{"item_id": i, "rating": r} for i, r in rows.select("item_id", "rating").tail(10).head(-1).rows()]
        assert prompt["history"] == expected
        assert rows.filter(pl.col("role") == "target")["item_id"].to_list() == [prompt["target_item"]]
        assert rows.filter(pl.col("role") == "history").height == len(expected) <= 9
    assert (interactions["liked"] == (interactions["rating"] > 3)).all()


def test_personas_are_uniform_over_users(run):
    prompts, *_ = run
    counts = {p.id: sum(1 for x in prompts if x["persona"] == p.id) for p in PERSONAS}
    assert max(counts.values()) - min(counts.values()) <= 1


def target_section(message: str) -> str:
    return message.split("\nViewing history")[0]


def test_each_persona_prompt_shows_exactly_its_target_facts(run):
    prompts, items, interactions, _ = run
    reviews = {(u, i): t for u, i, t in interactions.select("user_id", "item_id", "review_text").rows()}
    for prompt in prompts:
        persona = PERSONA_BY_ID[prompt["persona"]]
        target = items[prompt["target_item"]]
        section = target_section(prompt["prompt"][1]["content"])
        assert item_tag(target["item_id"]) in section
        shown = {name for name, label in FACT_LABELS.items() if f"\n- {label}:" in section}
        assert shown == {f for f in persona.target_facts if f in FACT_LABELS and present(target[f])}, persona.id
        for fact in ("actors", "directors"):
            for name in target[fact]:
                assert (name in section) == (fact in persona.target_facts), (persona.id, fact, name)
        for fact in ("overview", "visual_caption", "collection"):
            if present(target[fact]):
                assert (target[fact] in section) == (fact in persona.target_facts), (persona.id, fact)
        review = reviews[(prompt["user_id"], target["item_id"])]
        assert ("The user's review" in section) == ("review" in persona.target_facts)
        if "review" in persona.target_facts and review:
            assert review in section
        expected_keys = {"item_id"} | {f for f in persona.target_facts if f in FACT_LABELS and present(target[f])}
        if "review" in persona.target_facts and review:
            expected_keys.add("review")
        assert set(prompt["inputs"]["target"]) == expected_keys


def test_each_persona_prompt_shows_exactly_its_history_facts(run):
    prompts, items, _, _ = run
    for prompt in prompts:
        persona = PERSONA_BY_ID[prompt["persona"]]
        message = prompt["prompt"][1]["content"]
        history_part = message.split("\nViewing history", 1)[1]
        for entry in prompt["history"]:
            item = items[entry["item_id"]]
            assert (item_tag(item["item_id"]) in message) == persona.sees_history
            if not persona.sees_history:
                target = items[prompt["target_item"]]
                for name in set(item["actors"] + item["directors"]) - set(target["actors"] + target["directors"]):
                    assert name not in message
        if not persona.sees_history:
            assert prompt["inputs"]["history"] == []
            continue
        assert [h["item_id"] for h in prompt["inputs"]["history"]] == [h["item_id"] for h in prompt["history"]]
        for shown, entry in zip(prompt["inputs"]["history"], prompt["history"], strict=True):
            item = items[entry["item_id"]]
            expected = {f for f in persona.history_facts if f in FACT_LABELS and present(item[f])}
            assert {f for f in shown if f in FACT_LABELS} == expected
            assert shown["liked"] == (entry["rating"] > 3)
            assert ("liked (" if shown["liked"] else "disliked (") in history_part
        labels = {label for name, label in FACT_LABELS.items() if f"- {label}:" in history_part}
        assert labels <= {FACT_LABELS[f] for f in persona.history_facts if f in FACT_LABELS}


def test_actors_and_directors_reach_the_prompts_that_may_show_them(run):
    prompts, *_ = run
    for persona in ("cold_start_task", "fully_expressive"):
        messages = [p["prompt"][1]["content"] for p in prompts if p["persona"] == persona]
        assert messages and all("\n- Actors: " in m and "\n- Directors: " in m for m in messages)


def test_system_prompt_is_shared_within_a_persona(run):
    prompts, *_ = run
    systems = {}
    for prompt in prompts:
        systems.setdefault(prompt["persona"], set()).add(prompt["prompt"][0]["content"])
    assert all(len(s) == 1 for s in systems.values()) and len(systems) == len(PERSONAS)


def test_a_large_tmdb_list_parsed_in_a_second_process_gives_the_same_files(sample_run, tmp_path, monkeypatch):
    """The TMDB list goes to a second process above a size (the sample's is below): same bytes either way."""
    from benchmarks.sample_run import sample_config
    from distillrecdial_kit.generation import prepare
    from distillrecdial_kit.pipeline.background import Background, cpus

    started = []

    class Recorded(Background):
        def __enter__(self):
            started.append(self.parallel)
            return super().__enter__()

    monkeypatch.setattr(prepare, "TMDB_PROCESS_BYTES", 0)
    monkeypatch.setattr(prepare, "Background", Recorded)
    out = tmp_path / "run"
    prepare.run(sample_config(out))
    assert started == [cpus() > 1]  # with a second CPU, the parse really ran in another process
    for name in (ITEMS_FILE, INTERACTIONS_FILE, PROMPTS_FILE, "problems.prepare.jsonl"):
        assert (out / name).read_bytes() == (sample_run / name).read_bytes(), name
    assert read_manifest(out)["stages"]["prepare"]["counts"] == read_manifest(sample_run)["stages"]["prepare"]["counts"]
