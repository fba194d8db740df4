"""evaluate's respond task: text metrics with known answers, and a real (tiny) causal LM as responder."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from distillrecdial_kit.evaluation.respond import bleu, respond, respond_examples, rouge_l


def test_rouge_l_is_the_f1_of_the_longest_common_subsequence():
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == 1.0
    # LCS("a b c d", "a c e") = "a c": P = 2/4, R = 2/3 → F1 = 4/7.
    assert rouge_l("a b c d", "a c e") == pytest.approx(4 / 7)
    assert rouge_l("", "anything") == 0.0 and rouge_l("x y", "z w") == 0.0


def test_bleu_of_identical_text_is_one_and_grows_with_overlap():
    refs = ["i would recommend the quiet man for tonight", "try a western with great horses"]
    assert bleu(refs, refs, 4) == pytest.approx(1.0)
    near = ["i would recommend the quiet man tonight", "try a western with horses"]
    far = ["hello", "nothing in common here at all"]
    assert bleu(far, refs, 1) < bleu(near, refs, 1) < 1.0
    assert bleu([], [], 2) is None


def crslab_row(conv: str, persona: str, turns: list[tuple[str, str]]) -> dict:
    return {
        "conv_id": conv,
        "persona": persona,
        "dialog": [{"role": r, "text": t, "movies": []} for r, t in turns],
    }


def test_examples_start_after_the_first_seeker_turn():
    row = crslab_row("c", "p", [("Recommender", "Hi!"), ("Seeker", "A drama?"), ("Recommender", "Try X.")])
    examples = respond_examples([row])
    assert [ex.reference for ex in examples] == ["Try X."] and len(examples[0].context) == 2


def test_samples_are_seeded_and_of_equal_size(built_items):
    rows = [
        crslab_row(
            f"c{i}", "cold_start_browser", [("Seeker", f"something {i}"), ("Recommender", "again " * i + f"answer {i}")]
        )
        for i in range(30)
    ]
    options = SimpleNamespace(seed=1, resamples=50, respond_sample=10, respond_model=None)
    data = SimpleNamespace(items=built_items)
    first, n = respond(rows, data, options)
    assert n["all"] == 10 and set(first) == {"reference", "template"}
    assert respond(rows, data, options)[0] == first
    other, _ = respond(rows, data, SimpleNamespace(**{**vars(options), "seed": 2}))
    assert other["reference"]["all"]["distinct-1"] != first["reference"]["all"]["distinct-1"]


@pytest.fixture(scope="module")
def built_items():
    import polars as pl

    return pl.DataFrame(
        {
            "item_id": ["B1", "B2"],
            "title": ["Quiet Man", "Loud Woman"],
            "year": [1952, 2001],
            "genres": [["Drama"], ["Comedy"]],
            "keywords": [["ireland"], ["city"]],
            "actors": [["John Wayne"], ["Someone Else"]],
            "directors": [["John Ford"], ["A Director"]],
            "collection": [None, None],
        }
    )


def test_template_responder_recommends_once_a_fact_is_named(built_items):
    rows = [crslab_row("c", "p", [("Seeker", "A drama set in Ireland please"), ("Recommender", "Quiet Man!")])]
    options = SimpleNamespace(seed=1, resamples=20, respond_sample=10, respond_model=None)
    result, _ = respond(rows, SimpleNamespace(items=built_items), options)
    assert result["template"]["all"]["rouge-l"] > 0  # "I'd recommend Quiet Man (1952) ..." shares "quiet man"


def test_a_real_model_responds_and_gets_a_perplexity(tiny_model, built_items):
    rows = [
        crslab_row(f"c{i}", "cold_start_browser", [("Seeker", "I want a drama."), ("Recommender", "Try Quiet Man.")])
        for i in range(3)
    ]
    options = SimpleNamespace(seed=1, resamples=20, respond_sample=3, respond_model=str(tiny_model))
    result, n = respond(rows, SimpleNamespace(items=built_items), options)
    assert n["all"] == 3
    name = next(k for k in result if k.startswith("model["))
    ppl = result[name]["all"]["perplexity"]
    assert ppl is not None and math.isfinite(ppl) and ppl > 1.0
    assert result[name]["all"]["distinct-1"] is not None or result[name]["all"]["bleu-1"] is not None
