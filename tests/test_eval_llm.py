"""The llm method: the template stand-in's fact matching, list parsing, and a real (tiny) model via transformers."""

from __future__ import annotations

import polars as pl

from distillrecdial_kit.evaluation.llm import FactMatcher, LLMRanker, normalise_title
from distillrecdial_kit.evaluation.methods import TrainData
from distillrecdial_kit.evaluation.ranking import Catalog
from distillrecdial_kit.evaluation.tasks import RecExample


def items() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": ["B1", "B2", "B3"],
            "title": ["The Quiet Man", "Alien", "Aliens"],
            "year": [1952, 1979, 1986],
            "genres": [["Drama", "Romance"], ["Horror", "Science Fiction"], ["Action", "Science Fiction"]],
            "keywords": [["ireland"], ["space"], ["space marine"]],
            "actors": [["John Wayne"], ["Sigourney Weaver"], ["Sigourney Weaver"]],
            "directors": [["John Ford"], ["Ridley Scott"], ["James Cameron"]],
            "collection": [None, "Alien Collection", "Alien Collection"],
        }
    )


def fitted(backend: str = "template", model: str | None = None) -> LLMRanker:
    frame = items()
    ranker = LLMRanker(backend, model)
    ranker.fit(TrainData(Catalog(frame["item_id"].to_list()), frame, [], None, None))  # type: ignore[arg-type]
    return ranker


def example(text: str) -> RecExample:
    return RecExample("c", "u", "cold_start_task", 1, "B3", (("Seeker", text),), (), ())


def test_fact_matcher_finds_whole_phrases_and_prefers_specific_facts():
    facts = FactMatcher(items())
    named = {facts.names[f] for f in facts.named("A science fiction film by James Cameron, with a space marine!")}
    assert named == {"science fiction", "james cameron", "space marine"}
    scores = facts.score_texts(["science fiction by james cameron"])[0]
    assert scores[2] > scores[1] > scores[0] == 0
    assert facts.summary("science fiction by john ford") == "john ford; science fiction"


def test_template_llm_ranks_the_catalog_and_reranks_candidates():
    ranker = fitted()
    scores = ranker.score([example("Something with Ridley Scott and horror")])
    assert scores.shape == (1, 3) and scores[0].argmax() == 1
    reranked = ranker.rerank([example("I like James Cameron")], __import__("numpy").array([[1, 2]]))
    assert reranked[0, 2] > reranked[0, 1] > reranked[0, 0]
    assert ranker.describe()["backend"] == "template"


def test_listed_titles_are_parsed_onto_the_catalog():
    ranker = fitted()
    answer = "1. Aliens (1986)\n2) the quiet man\n- Unknown Film (2001)\n3. Aliens"
    assert ranker.parse(answer) == [2, 0]
    assert normalise_title("The Quiet Man (1952)") == "quiet man"


def test_a_real_model_through_the_transformers_backend(tiny_model):
    ranker = fitted("transformers", str(tiny_model))
    try:
        scores = ranker.score([example("A science fiction film please")])
        summaries = ranker.summaries([example("A science fiction film please")])
    finally:
        ranker.close()
    assert scores.shape == (1, 3)
    assert isinstance(summaries[0], str)
    assert ranker.describe() == {"backend": "transformers", "model": str(tiny_model), "adapter": None}
