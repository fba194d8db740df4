"""evaluate's recommenders on hand-made data: planted signal, hand counts, full-catalog ranking."""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pytest

from distillrecdial_kit.evaluation.data import EvalData
from distillrecdial_kit.evaluation.evaluate import EvalOptions, evaluate, train_data
from distillrecdial_kit.evaluation.evaluate import _histories as histories
from distillrecdial_kit.evaluation.methods import BM25, ItemKNN, Popularity, item_documents
from distillrecdial_kit.evaluation.ranking import Catalog, rank_targets
from distillrecdial_kit.evaluation.tasks import RecExample, recommend_examples

N_ITEMS = 200


def keyword(i: int) -> str:
    return f"zq{i:04d}x"


def items_frame(n: int = N_ITEMS) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": [f"B{i:09d}" for i in range(n)],
            "title": [f"Film number {i}" for i in range(n)],
            "year": [2000 + i % 20 for i in range(n)],
            "genres": [["Drama"] for _ in range(n)],
            "keywords": [[keyword(i), "friendship"] for i in range(n)],
            "actors": [[f"Actor {i}"] for i in range(n)],
            "directors": [[f"Director {i}"] for i in range(n)],
            "overview": ["A story about people." for _ in range(n)],
            "collection": [None for _ in range(n)],
        }
    )


def dialogue(d: int, target: int, planted: bool, persona: str = "cold_start_browser", liked: int | None = None):
    ask = f"I want a film about {keyword(target)} tonight." if planted else "I want a good film tonight."
    first = [{"role": "Seeker", "text": "Hello there.", "movies": [] if liked is None else [f"B{liked:09d}"]}]
    turns = [
        *first,
        {"role": "Recommender", "text": "What are you in the mood for?", "movies": []},
        {"role": "Seeker", "text": ask, "movies": []},
        {"role": "Recommender", "text": f"Try Film number {target}.", "movies": [f"B{target:09d}"]},
        {"role": "Seeker", "text": "Thanks!", "movies": []},
    ]
    dialog = [{"utt_id": i, **t, "entity": [], "word": []} for i, t in enumerate(turns)]
    return {"conv_id": f"c{d:05d}", "persona": persona, "target_item": f"B{target:09d}", "dialog": dialog}


def raw_row(row: dict, user: str, history: list[int]) -> dict:
    return {
        "dialogue_id": row["conv_id"],
        "user_id": user,
        "persona": row["persona"],
        "target_item": row["target_item"],
        "history": [{"item_id": f"B{h:09d}", "rating": 5.0} for h in history],
    }


def synthetic(planted: bool, n_test: int = 150, n_train: int = 60) -> EvalData:
    train = [dialogue(d, (3 * d) % 40, True) for d in range(n_train)]
    test = [dialogue(10_000 + d, (7 * d + 3) % N_ITEMS, planted) for d in range(n_test)]
    raw_train = [raw_row(r, f"u{i}", [(i + j) % 40 for j in range(3)]) for i, r in enumerate(train)]
    raw_test = [raw_row(r, f"t{i}", [(i + 5) % 40]) for i, r in enumerate(test)]
    return EvalData(
        source="synthetic",
        items=items_frame(),
        crslab={"train": pl.DataFrame(train), "test": pl.DataFrame(test)},
        raw={"train": pl.DataFrame(raw_train), "test": pl.DataFrame(raw_test)},
    )


def options(**kw) -> EvalOptions:
    return EvalOptions(**{"resamples": 200, **kw})


def test_bm25_finds_a_planted_keyword_and_is_at_chance_without_it():
    planted = evaluate(synthetic(True), options(methods=["bm25"]))["recommend"]["bm25"]["all"]
    assert planted["recall@1"] > 0.95
    blank = evaluate(synthetic(False), options(methods=["bm25"]))["recommend"]["bm25"]["all"]
    # Chance over 200 items: Recall@1 = 0.005, Recall@10 = 0.05.
    assert blank["recall@1"] < 0.05 and blank["recall@10"] < 0.15 and blank["recall@50"] < 0.45


def test_llm_template_stand_in_also_reads_the_planted_fact():
    planted = evaluate(synthetic(True), options(methods=["llm"]))["recommend"]["llm"]["all"]
    assert planted["recall@1"] > 0.95


def test_bm25_scores_equal_bm25s_own_scores():
    data = synthetic(True)
    catalog = Catalog(data.item_ids)
    train = train_data(data, catalog, histories(data))
    method = BM25()
    method.fit(train)
    texts = ["a film about zq0007x and friendship", "friendship drama drama", "nothing known here"]
    ours = method.score_texts(texts)
    for row, text in zip(ours, texts, strict=True):
        ids = method.tokenizer.tokenize([text], update_vocab=False, return_as="ids", show_progress=False)[0]
        theirs = method.retriever.get_scores(ids) if ids else np.zeros(len(catalog))
        np.testing.assert_allclose(row, theirs, rtol=1e-5, atol=1e-6)
    assert len(item_documents(data.items)) == N_ITEMS


def test_popularity_equals_a_hand_count_of_train_users():
    data = synthetic(True)
    catalog = Catalog(data.item_ids)
    train = train_data(data, catalog, histories(data))
    method = Popularity()
    method.fit(train)
    hand: Counter = Counter()
    for row in data.raw["train"].to_dicts():
        hand.update({h["item_id"] for h in row["history"]} | {row["target_item"]})
    assert {catalog.ids[i]: int(c) for i, c in enumerate(method.counts) if c} == dict(hand)
    # Test users' histories count for neither popularity nor (their targets) for anything.
    assert method.counts.sum() == sum(hand.values())


def test_item_knn_is_cosine_of_co_interaction():
    data = synthetic(True)
    data.raw = {
        "train": pl.DataFrame(
            [
                {"dialogue_id": "x1", "user_id": "u1", "persona": "p", "target_item": "B000000001",
                 "history": [{"item_id": "B000000000", "rating": 5.0}]},
                {"dialogue_id": "x2", "user_id": "u2", "persona": "p", "target_item": "B000000001",
                 "history": [{"item_id": "B000000000", "rating": 5.0}]},
                {"dialogue_id": "x3", "user_id": "u3", "persona": "p", "target_item": "B000000002",
                 "history": [{"item_id": "B000000000", "rating": 5.0}]},
            ]
        )
    }  # fmt: skip
    catalog = Catalog(data.item_ids)
    method = ItemKNN()
    method.fit(train_data(data, catalog, histories(data)))
    ex = RecExample("c", "u", "cold_start_browser", 1, "B000000001", (), ("B000000000",), ())
    scores = method.score([ex])[0]
    assert scores[1] == pytest.approx(2 / np.sqrt(3 * 2)) and scores[2] == pytest.approx(1 / np.sqrt(3))
    assert scores[0] == 0 and not scores[3:].any()


def test_the_ranking_is_over_the_full_catalog_by_item_id():
    ids = [f"B{i:09d}" for i in range(N_ITEMS)]
    shuffled = list(np.random.default_rng(1).permutation(ids))
    catalog = Catalog(shuffled)
    target = shuffled[17]
    mentioned = (shuffled[3], shuffled[4])
    ex = RecExample("c", "u", "cold_start_browser", 1, target, (), mentioned, ())

    def worst_for_target(block):
        scores = np.arange(len(catalog), dtype=float)[None, :].repeat(len(block), 0) + 1.0
        scores[:, catalog.index[target]] = 0.0
        return scores

    def best_for_target(block):
        scores = np.zeros((len(block), len(catalog)))
        scores[:, catalog.index[target]] = 1.0
        return scores

    ranks, _ = rank_targets(worst_for_target, [ex], catalog, seed=0)
    assert ranks[0] == N_ITEMS - len(mentioned)  # every other item, minus the excluded ones, is above it
    ranks, _ = rank_targets(best_for_target, [ex], catalog, seed=0)
    assert ranks[0] == 1
    # A method that scores everything the same ranks targets at chance, over all 200 positions.
    many = [RecExample("c", "u", "p", 1, shuffled[i], (), (), ()) for i in range(N_ITEMS)]
    ranks, _ = rank_targets(lambda b: np.zeros((len(b), len(catalog))), many, catalog, seed=0)
    assert sorted(ranks.tolist()) == list(range(1, N_ITEMS + 1))


def test_popularity_ranks_reach_past_any_candidate_subset():
    results = evaluate(synthetic(True, n_test=150), options(methods=["popularity"]))
    stats = results["recommend"]["popularity"]["all"]
    assert stats["recall@50"] < 1.0  # test targets outside the 40 popular train items rank past 50 of 200
    assert results["provenance"]["catalog_items"] == N_ITEMS


def test_examples_exclude_items_mentioned_before_and_skip_repeats():
    row = dialogue(0, 5, True, liked=9)
    row["dialog"].append(
        {"utt_id": 5, "role": "Recommender", "text": "Or Film 9, or Film 6.", "movies": ["B000000009", "B000000006"],
         "entity": [], "word": []}
    )  # fmt: skip
    examples = recommend_examples([row])
    assert [(ex.turn, ex.target) for ex in examples] == [(3, "B000000005"), (5, "B000000006")]
    assert examples[0].mentioned == ("B000000009",) and examples[1].mentioned == ("B000000009", "B000000005")
    assert examples[0].seeker_text.startswith("Hello there.") and "Try Film" not in examples[0].context_text


def test_a_malformed_dialogue_is_skipped_and_counted():
    data = synthetic(True, n_test=20)
    rows = data.crslab["test"].to_dicts()
    broken = dict(rows[0])
    broken.pop("dialog")
    problems: list[str] = []
    examples = recommend_examples([broken, *rows[1:]], None, problems)
    assert len(examples) == 19 and len(problems) == 1 and "dialog" in problems[0]
    with pytest.raises(KeyError):
        recommend_examples([broken])
