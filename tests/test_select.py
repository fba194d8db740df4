"""`select`: a budget is met exactly, the same seed gives the same bytes, k-center covers more than chance,
uncertainty finds the users a recommender gets wrong, and `generate` then covers exactly the selection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest
import scipy.sparse as sp

from distillrecdial_kit.generation.collaborative import cosine_item_similarity
from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records
from distillrecdial_kit.generation.select_seeds import SELECTION_FILE, SelectConfig
from distillrecdial_kit.generation.select_seeds import run as select
from distillrecdial_kit.generation.selection import farthest_first, uncertainty_scores
from distillrecdial_kit.pipeline.cli import main, run_stage
from tests.conftest import run_with_prompts

PERSONA = "cold_start_browser"


def write_run(run: Path, items: dict[str, list[str]], users: dict[str, tuple[list[str], str]], extra=()) -> Path:
    """A run folder as `prepare` leaves it, from ``item → genres`` and ``user → (history, target)``.

    ``extra`` adds k-core users that are not prompted (background co-interactions for item-kNN).
    """
    run.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "item_id": list(items),
            "genres": list(items.values()),
            "keywords": [[] for _ in items],
            "actors": [[] for _ in items],
            "directors": [[] for _ in items],
            "collection": [None for _ in items],
        },
        schema_overrides={"collection": pl.String},
    ).write_parquet(run / "items.parquet")
    rows = []
    for user, (history, target) in [*users.items(), *extra]:
        rows += [{"user_id": user, "item_id": item, "role": "history"} for item in history]
        rows.append({"user_id": user, "item_id": target, "role": "target"})
    frame = pl.DataFrame(rows).with_columns(review_title=pl.lit(None, pl.String), review_text=pl.lit(None, pl.String))
    frame.write_parquet(run / "interactions.parquet")
    with open(run / "prompts.jsonl", "wb") as handle:
        for user, (history, target) in users.items():
            prompt = {
                "prompt_id": f"p-{user}",
                "user_id": user,
                "persona": PERSONA,
                "target_item": target,
                "history": [{"item_id": item, "rating": 5.0} for item in history],
            }
            handle.write(orjson.dumps(prompt) + b"\n")
    return run


def selected(run: Path) -> list[dict]:
    return [orjson.loads(line) for line in (run / SELECTION_FILE).read_bytes().splitlines()]


@pytest.mark.parametrize("strategy", ["random", "kcenter", "uncertainty"])
def test_budget_is_met_exactly_per_persona_and_reruns_are_byte_identical(sample_run, tmp_path, strategy):
    run = run_with_prompts(sample_run, tmp_path / "run")
    for name in ("items.parquet", "interactions.parquet"):
        (run / name).write_bytes((sample_run / name).read_bytes())
    entry = select(SelectConfig(run=run, strategy=strategy, budget=23))
    rows = selected(run)
    assert len(rows) == 23 and [r["rank"] for r in rows] == list(range(1, 24))
    assert len({r["prompt_id"] for r in rows}) == 23
    # 103 prompts in five personas of 21 (+20 for two): the budget keeps that mix.
    assert sorted(entry["per_persona"].values()) == [4, 4, 5, 5, 5]
    assert entry["selected"]["prompts"] == 23 and entry["pool"]["prompts"] == 103
    first = (run / SELECTION_FILE).read_bytes()
    select(SelectConfig(run=run, strategy=strategy, budget=23))
    assert (run / SELECTION_FILE).read_bytes() == first
    if strategy != "uncertainty":  # the seed moves the shuffle and the first centre
        select(SelectConfig(run=run, strategy=strategy, budget=23, seed=7))
        assert (run / SELECTION_FILE).read_bytes() != first


def clustered_pool(run: Path) -> Path:
    """180 users who all like the same Drama films, and 20 with a genre of their own each."""
    items = {f"D{i}": ["Drama"] for i in range(10)} | {f"N{i}": [f"Niche{i}"] for i in range(20)}
    users = {f"crowd{u:03d}": ([f"D{(u + k) % 10}" for k in range(3)], f"D{(u + 5) % 10}") for u in range(180)}
    users |= {f"niche{n:02d}": ([f"N{n}"], f"N{n}") for n in range(20)}
    return write_run(run, items, users)


def genres_covered(run: Path) -> set[str]:
    return {r["user_id"].removeprefix("niche") for r in selected(run) if r["user_id"].startswith("niche")}


def test_kcenter_covers_more_genres_than_random_on_a_clustered_pool(tmp_path):
    run = clustered_pool(tmp_path / "run")
    random_cover, kcenter_cover = [], []
    for seed in range(5):
        select(SelectConfig(run=run, strategy="random", budget=20, seed=seed))
        random_cover.append(len(genres_covered(run)))
        entry = select(SelectConfig(run=run, strategy="kcenter", budget=20, seed=seed, dims=16))
        kcenter_cover.append(len(genres_covered(run)))
        assert entry["selected"]["genres"] > 10
    assert min(kcenter_cover) > max(random_cover), (kcenter_cover, random_cover)


def test_uncertainty_picks_the_users_whose_target_item_knn_misses(tmp_path):
    """Background users tie the A films together and the B films together; prompted users all watched A
    films, and the five whose target is a B film are the ones item-kNN cannot find."""
    items = {f"A{i}": ["Comedy"] for i in range(6)} | {f"B{i}": ["Horror"] for i in range(6)}
    background = [(f"bgA{u}", ([f"A{(u + k) % 6}" for k in range(4)], f"A{(u + 4) % 6}")) for u in range(30)]
    background += [(f"bgB{u}", ([f"B{(u + k) % 6}" for k in range(4)], f"B{(u + 4) % 6}")) for u in range(30)]
    easy = {f"easy{u:02d}": (["A0", "A1", "A2"], f"A{3 + u % 3}") for u in range(20)}
    hard = {f"hard{u}": (["A0", "A1", "A2"], f"B{u}") for u in range(5)}
    run = write_run(tmp_path / "run", items, easy | hard, background)
    entry = select(SelectConfig(run=run, strategy="uncertainty", budget=5))
    assert {r["user_id"] for r in selected(run)} == set(hard)
    assert "entropy" in entry["score"] and "rank" in entry["score"]


def test_farthest_first_and_uncertainty_on_hand_made_inputs():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [-1.0, 0.0]])
    order, radius = farthest_first(x, 3, first=0)
    assert order.tolist() == [0, 3, 1] and radius.tolist() == [1.0, 2.0, 1.0]
    scores = sp.csr_matrix([[3.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    u = uncertainty_scores(scores, np.array([0, 2, 1]))
    assert u[0] < u[1] == u[2]  # target first with peaked scores < flat scores = no signal at all
    assert u[1] == pytest.approx((0.5 + 1.0) / 2)  # all tied: mid rank, entropy at its maximum
    assert uncertainty_scores(scores[:1], np.array([2]))[0] > u[0]  # the same scores, a target ranked lower
    # History items are no candidates: excluding the item above the target makes it first, and more certain.
    history = sp.csr_matrix([[1, 0, 0, 0]])
    assert uncertainty_scores(scores[:1], np.array([1]), history)[0] < uncertainty_scores(scores[:1], np.array([1]))[0]
    assert uncertainty_scores(scores[:1], np.array([1]), history)[0] == pytest.approx((0 + 0) / 2)


def test_generate_covers_exactly_the_selection_even_when_resumed(sample_run, tmp_path):
    run = run_with_prompts(sample_run, tmp_path / "run")
    for name in ("items.parquet", "interactions.parquet"):
        (run / name).write_bytes((sample_run / name).read_bytes())
    assert main(["select", "--run", str(run), "--strategy", "kcenter", "--budget", "12", "-q"]) == 0
    chosen = {r["prompt_id"] for r in selected(run)}
    argv = ["generate", "--run", str(run), "--role", "teacher", "--backend", "template"]
    first = run_stage([*argv, "--limit", "5"])
    assert first["written"] == 5 and first["selection"]["prompts"] == 12
    rest = run_stage(argv)
    assert rest["already_done"] == 5 and rest["written"] == 7
    records = [orjson.loads(line) for line in (run / "prompts.jsonl").read_bytes().splitlines()]
    prompts = {p["user_id"]: p["prompt_id"] for p in records}
    written = [prompts[r["user_id"]] for r in read_records(run / "raw" / "teacher" / MERGED_NAME)]
    assert sorted(written) == sorted(chosen)


def test_item_knn_neighbourhood_keeps_each_items_most_similar():
    # Item 0 co-occurs with items 1 (3 users), 2 (2 users) and 3 (1 user).
    x = sp.csr_matrix([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1]], dtype=float)
    full = cosine_item_similarity(x).toarray()
    top = cosine_item_similarity(x, neighbours=2).toarray()
    assert (np.count_nonzero(top, axis=1) <= 2).all()
    assert top[0].nonzero()[0].tolist() == [1, 2] and top[0, 1] == full[0, 1]
    assert cosine_item_similarity(x, neighbours=10).toarray() == pytest.approx(full)
