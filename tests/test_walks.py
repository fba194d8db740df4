"""`walks`: the item graph, seeded walks that follow real edges to the target, walk dialogues and their checks.

Everything runs for real: the graph is built with scipy from catalogs, the
sample run's walks come from its own k-core, dialogues from the template
writer, and the `walks` config from `build` loaded back with `load_dataset`.
"""

from __future__ import annotations

import logging
import logging.handlers
import shutil
from pathlib import Path

import orjson
import polars as pl
import pytest
from datasets import load_dataset

from distillrecdial_kit.builder.features import FEATURES
from distillrecdial_kit.builder.splits import SPLITS
from distillrecdial_kit.generation.backends.walk_template import write_walk_dialogue
from distillrecdial_kit.generation.dialogue_parser import parse_dialogue
from distillrecdial_kit.generation.item_graph import RELATIONS, GraphOptions, build_graph, shared_values
from distillrecdial_kit.generation.prepare import INTERACTIONS_FILE, ITEMS_FILE, PROMPTS_FILE
from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records
from distillrecdial_kit.generation.walk_check import check_walk_dialogue
from distillrecdial_kit.generation.walk_prompts import build_walk_prompt
from distillrecdial_kit.generation.walk_stage import read_users
from distillrecdial_kit.generation.walks import NO_LIKED_START, NO_PATH, UserStart, WalkOptions, sample_walks
from distillrecdial_kit.pipeline import console
from distillrecdial_kit.pipeline.cli import main, run_stage


def catalog_frame(rows: list[dict]) -> pl.DataFrame:
    base = {"collection": None, "directors": [], "actors": [], "keywords": [], "genres": [], "title": "t"}
    return pl.DataFrame([{**base, **row} for row in rows])


#: A chain A -collection- B, A -director- C -actor- D -keyword- E -co-interaction- F, plus a loner G.
CHAIN = catalog_frame(
    [
        {"item_id": "A", "collection": "Saga", "directors": ["Dee"]},
        {"item_id": "B", "collection": "Saga"},
        {"item_id": "C", "directors": ["Dee"], "actors": ["Xan"]},
        {"item_id": "D", "actors": ["Xan"], "keywords": ["heist"]},
        {"item_id": "E", "keywords": ["heist"]},
        {"item_id": "F"},
        {"item_id": "G", "keywords": ["alone"]},
    ]
)
CHAIN_LIKES = pl.DataFrame({"user_id": ["u1", "u1", "u2", "u2"], "item_id": ["E", "F", "E", "F"]})


def test_the_graph_joins_items_by_each_relation_with_weights():
    graph = build_graph(CHAIN, CHAIN_LIKES)
    expected = {
        ("A", "B", "same_collection"),
        ("A", "C", "same_director"),
        ("C", "D", "shared_actor"),
        ("D", "E", "shared_keyword"),
        ("E", "F", "co_interaction"),
    }
    for source, target, relation in expected:
        assert graph.has_edge(source, target, relation) and graph.has_edge(target, source, relation)
    edges = {
        (graph.item_ids[s], graph.item_ids[int(t)], RELATIONS[int(r)])
        for s in range(graph.n_items)
        for t, r in zip(*graph.edges_from(s)[:2], strict=True)
    }
    assert edges == expected | {(b, a, r) for a, b, r in expected}, "no other edge, no self loop"
    cols, _, weights = graph.edges_from(graph.index["E"])
    assert weights[list(cols).index(graph.index["F"])] == 2, "two users liked both"


def test_values_shared_by_too_many_items_and_beyond_the_neighbour_cap_are_left_out():
    crowd = catalog_frame(
        [{"item_id": f"I{n}", "keywords": ["sequel"] + (["twist"] if n < 3 else [])} for n in range(6)]
    )
    graph = build_graph(crowd, [], GraphOptions(max_share=4))
    assert graph.edge_counts()["shared_keyword"] == 6, "only 'twist' (3 items) survives: 3 x 2 directed edges"
    capped = build_graph(crowd, [], GraphOptions(neighbours=2, max_share=10))
    for item in range(capped.n_items):
        cols, _, weights = capped.edges_from(item)
        assert len(cols) == 2
        if item < 3:  # the two items that share both keywords come first
            assert set(cols) == {0, 1, 2} - {item} and set(weights) == {2}


def test_a_walk_follows_the_only_path_and_reports_why_there_is_none():
    graph = build_graph(CHAIN, CHAIN_LIKES)
    catalog = {row["item_id"]: row for row in CHAIN.iter_rows(named=True)}
    fan = UserStart("fan", "fully_expressive", "E", [{"item_id": "A", "rating": 5.0}])
    walks, skipped = sample_walks(graph, [fan], catalog, WalkOptions(steps=3, slate=2))
    assert skipped == {}
    walk = walks[0]
    assert walk["anchors"] == ["A", "C", "D", "E"]
    assert walk["edges"] == ["same_director", "shared_actor", "shared_keyword"]
    assert [step["shared"] for step in walk["steps"]] == [["Dee"], ["Xan"], ["heist"]]
    assert "E" in walk["slates"][-1] and all("E" not in slate for slate in walk["slates"][:-1])

    too_short = sample_walks(graph, [fan], catalog, WalkOptions(steps=2))[1]
    assert too_short == {NO_PATH: 1}
    disliked = UserStart("grump", "fully_expressive", "E", [{"item_id": "A", "rating": 2.0}])
    assert sample_walks(graph, [disliked], catalog, WalkOptions())[1] == {NO_LIKED_START: 1}


@pytest.fixture(scope="module")
def sample_graph(sample_run):
    items = pl.read_parquet(sample_run / ITEMS_FILE)
    interactions = pl.read_parquet(sample_run / INTERACTIONS_FILE)
    liked = interactions.filter(pl.col("liked") & (pl.col("role") != "target")).select("user_id", "item_id")
    catalog = {row["item_id"]: row for row in items.iter_rows(named=True)}
    users, bad = read_users(sample_run / PROMPTS_FILE)
    assert bad == 0
    return build_graph(items, liked), catalog, users


def test_sample_walks_are_seeded_follow_real_edges_and_end_on_the_target(sample_graph):
    graph, catalog, users = sample_graph
    options = WalkOptions(steps=3, slate=4, seed=42)
    walks, _ = sample_walks(graph, users, catalog, options)
    assert len(walks) >= 0.9 * len(users)
    assert walks == sample_walks(graph, list(reversed(users)), catalog, options)[0][::-1], "order-independent"
    other, _ = sample_walks(graph, users, catalog, WalkOptions(steps=3, slate=4, seed=7))
    assert other != walks, "another seed walks elsewhere"
    by_user = {u.user_id: u for u in users}
    for walk in walks:
        user = by_user[walk["user_id"]]
        liked = {h["item_id"] for h in user.history if h["rating"] > 3}
        history = {h["item_id"] for h in user.history}
        assert walk["start_item"] in liked and walk["anchors"][0] == walk["start_item"]
        assert walk["anchors"][-1] == walk["target_item"] == user.target_item
        assert len(walk["slates"]) == len(walk["edges"]) == 3
        for hop, relation in enumerate(walk["edges"]):
            source, target = walk["anchors"][hop], walk["anchors"][hop + 1]
            assert graph.has_edge(source, target, relation), (source, target, relation)
            if relation != "co_interaction":
                assert shared_values(catalog[source], catalog[target], relation), "the catalog backs the edge"
            assert target in walk["slates"][hop]
        flat = [item for slate in walk["slates"] for item in slate]
        assert len(flat) == len(set(flat)) and all(1 <= len(slate) <= 4 for slate in walk["slates"])
        assert not set(flat) & history, "slates lead away from what the user already watched"


def test_the_validator_catches_a_missing_reordered_or_foreign_slate_item(sample_graph):
    graph, catalog, users = sample_graph
    walks, _ = sample_walks(graph, users, catalog, WalkOptions(steps=3, slate=4))
    walk = next(w for w in walks if all(len(s) == 4 for s in w["slates"]))
    prompt = build_walk_prompt(walk, catalog)
    text = write_walk_dialogue(prompt, seed=42)

    def problems(response: str) -> list[str]:
        return check_walk_dialogue(parse_dialogue(response), prompt["walk"]).problems

    assert problems(text) == []
    first, second = (f"<id_{item}>" for item in walk["slates"][0][:2])
    dropped = text.replace(f"{first}, ", "", 1)
    assert f"slate_item_missing:1:{walk['slates'][0][0]}" in problems(dropped)
    swapped = text.replace(first, "@@", 1).replace(second, first, 1).replace("@@", second, 1)
    assert problems(swapped) == ["slate_order:1"]
    foreign = next(i for i in catalog if i not in {walk["start_item"], *(x for s in walk["slates"] for x in s)})
    assert f"foreign_item:{foreign}" in problems(text.replace(first, f"{first}, <id_{foreign}>", 1))
    lines = text.splitlines()
    assert "slate_missing:3" in problems("\n".join(lines[:-4] + lines[-2:-1]))


def _fresh_run(sample_run: Path, run: Path) -> Path:
    run.mkdir(parents=True)
    for name in (ITEMS_FILE, INTERACTIONS_FILE, PROMPTS_FILE):
        shutil.copy(sample_run / name, run / name)
    return run


def test_walks_stage_to_generate_to_the_walks_config(sample_run, tmp_path, capsys):
    run = _fresh_run(sample_run, tmp_path / "run")
    assert main(["walks", "--run", str(run), "--steps", "3", "--slate", "4"]) == 0
    summary = capsys.readouterr().out
    assert "walks:" in summary and "moves:" in summary
    first = (run / "walks" / "walks.jsonl").read_bytes()
    assert main(["walks", "--run", str(run)]) == 0
    assert "already up to date" in capsys.readouterr().out
    twin = _fresh_run(sample_run, tmp_path / "twin")
    assert main(["walks", "--run", str(twin)]) == 0
    assert (twin / "walks" / "walks.jsonl").read_bytes() == first, "same inputs and seed, same bytes"

    assert main(["generate", "--run", str(run), "--role", "teacher", "--prompts", "walks"]) == 0
    records = list(read_records(run / "raw" / "walks" / "teacher" / MERGED_NAME))
    assert len(records) == first.count(b"\n") and all(r["valid"] for r in records)
    assert not (run / "raw" / "teacher").exists(), "walk dialogues keep to their own folder"
    assert main(["generate", "--run", str(run), "--role", "teacher"]) == 0
    assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template"]) == 0

    walks = load_dataset(str(run / "hub"), "walks")
    raw = load_dataset(str(run / "hub"), "raw")
    assert set(walks) == set(SPLITS) and sum(d.num_rows for d in walks.values()) == len(records)
    for split in SPLITS:
        assert walks[split].features == FEATURES["walks"]
        assert set(walks[split]["user_id"]) <= set(raw[split]["user_id"]), "same user, same split"
    row = walks["train"][0]
    assert row["valid"] and len(row["slates"]) == len(row["edges"]) == 3
    assert row["target_item"] in row["slates"][-1]
    card = (run / "hub" / "README.md").read_text()
    assert "## Example walk" in card and "| `walks` | " + str(len(records)) + " |" in card
    example = card.split("## Example walk", 1)[1].split("\n## ", 1)[0]
    assert "id\\_" not in example and "<id_" not in example, "movies appear as titles, not tags"


def test_bad_inputs_are_one_line_errors_or_skipped_lines(sample_run, tmp_path, capsys):
    run = _fresh_run(sample_run, tmp_path / "run")
    (run / INTERACTIONS_FILE).unlink()
    assert main(["walks", "--run", str(run)]) == 2
    assert "interactions.parquet not found" in capsys.readouterr().err
    run = _fresh_run(sample_run, tmp_path / "other")
    with open(run / PROMPTS_FILE, "ab") as handle:
        handle.write(b'{"user_id": "half a record"}\n')
    # Read the stage's warnings from the console logger itself.
    warnings = logging.handlers.BufferingHandler(capacity=100)
    console.LOGGER.addHandler(warnings)
    try:
        assert main(["walks", "--run", str(run)]) == 0
    finally:
        console.LOGGER.removeHandler(warnings)
    assert "1 bad prompt lines" in capsys.readouterr().out
    lines = (run / PROMPTS_FILE).read_bytes().count(b"\n")
    said = [record.getMessage() for record in warnings.buffer if record.levelno >= logging.WARNING]
    assert any(f"prompts.jsonl:{lines}:" in line and "'persona'" in line for line in said), said


def test_a_bad_walk_prompt_line_is_skipped_and_named_not_the_end_of_generation(sample_run, tmp_path):
    run = _fresh_run(sample_run, tmp_path / "run")
    assert main(["walks", "--run", str(run)]) == 0
    prompts = run / "walks" / "prompts.jsonl"
    good = prompts.read_bytes().count(b"\n")
    lines = prompts.read_bytes().splitlines(keepends=True)
    prompts.write_bytes(b"".join([lines[0], b'{"prompt_id": "torn\n', *lines[1:]]))
    summary = run_stage(["generate", "--run", str(run), "--role", "teacher", "--prompts", "walks"])
    assert summary["written"] == good
    assert summary["skipped_lines"]["counts"] == {"malformed_json": 1}
    assert summary["skipped_lines"]["examples"]["malformed_json"][0].startswith("walks/prompts.jsonl:2:")


def test_walk_prompts_show_each_move_and_gate_facts_by_persona(sample_graph):
    graph, catalog, users = sample_graph
    walks, _ = sample_walks(graph, users, catalog, WalkOptions())
    browser = next(w for w in walks if w["persona"] == "cold_start_browser")
    prompt = build_walk_prompt(browser, catalog)
    text = prompt["prompt"][1]["content"]
    for number, slate in enumerate(browser["slates"], start=1):
        assert f"Slate {number}" in text
        positions = [text.index(f"<id_{item}>", text.index(f"Slate {number}")) for item in slate]
        assert positions == sorted(positions), "slates listed in walk order"
    assert "Directors:" not in text and "Overview:" not in text, "a browser sees genres and keywords only"
    assert orjson.loads(orjson.dumps(prompt)) == prompt


def test_sharded_walk_generation_merges_to_the_same_dialogues(sample_run, tmp_path):
    whole = _fresh_run(sample_run, tmp_path / "whole")
    sharded = _fresh_run(sample_run, tmp_path / "sharded")
    for run in (whole, sharded):
        assert main(["walks", "--run", str(run)]) == 0
    assert main(["generate", "--run", str(whole), "--role", "teacher", "--prompts", "walks"]) == 0
    for index in ("0", "1"):
        shard = ["--num-shards", "2", "--shard-index", index]
        assert main(["generate", "--run", str(sharded), "--role", "teacher", "--prompts", "walks", *shard]) == 0
    assert main(["merge", "--run", str(sharded), "--role", "teacher", "--prompts", "walks"]) == 0
    merged = Path("raw") / "walks" / "teacher" / MERGED_NAME
    assert (sharded / merged).read_bytes() == (whole / merged).read_bytes()
