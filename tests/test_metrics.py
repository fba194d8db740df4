"""Known answers for the report's metrics (dataset_card.metrics), worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import sacrebleu

from distillrecdial_kit.dataset_card.metrics import (
    NgramIndex,
    PeopleIndex,
    TitleMatcher,
    agreement,
    dialogue_features,
    distinct_n,
    distribution,
    opening_diversity,
    problem_name,
    problem_shares,
    ratio,
    recommendation_info,
    self_bleu,
    tag_grounding,
    tokenize,
    unsupported_people,
    vocabulary_size,
)
from distillrecdial_kit.generation.title_tags import Candidate, find_titles


def turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


# ----------------------------------------------------------------------------------------------- tokens


def test_tokenize_lowercases_keeps_tags_and_apostrophes_drops_punctuation():
    assert tokenize("Hello, World! Try <id_B00ABC> — don't.") == ["hello", "world", "try", "<id_b00abc>", "don't"]


def test_tokenize_unicode():
    assert tokenize("Amélie, 東京 and NAÏVE café") == ["amélie", "東京", "and", "naïve", "café"]


def test_empty_text_has_no_tokens():
    assert tokenize("") == [] and tokenize(" ,.! ") == []


# --------------------------------------------------------------------------------------------- distinct-n


def test_distinct_n_known_answers():
    # a b a b: unigrams a,b,a,b (2 distinct / 4); bigrams ab,ba,ab (2/3); trigrams aba,bab (2/2); one 4-gram.
    assert distinct_n(["a b a b"], 1) == 0.5
    assert distinct_n(["a b a b"], 2) == round(2 / 3, 4)
    assert distinct_n(["a b a b"], 3) == 1.0
    assert distinct_n(["a b a b"], 4) == 1.0


def test_distinct_n_does_not_cross_utterances():
    assert distinct_n(["a b", "a b"], 2) == 0.5  # ab, ab
    assert distinct_n(["a", "b"], 2) is None  # no bigram inside an utterance
    assert distinct_n(["a b", "c"], 2) == 1.0


def test_distinct_n_is_case_and_punctuation_insensitive():
    assert distinct_n(["Great movie!", "great MOVIE"], 2) == 0.5


def test_distinct_n_empty_input_and_unicode():
    assert distinct_n([], 1) is None
    assert distinct_n([""], 2) is None
    assert distinct_n(["Amélie amélie 東京"], 1) == round(2 / 3, 4)


def test_ngram_index_subsets():
    index = NgramIndex(max_n=2)
    for text in ["a b", "a b", "c d"]:
        index.add(tokenize(text))
    index.finish()
    assert index.counts(2) == (2, 3)
    assert index.counts(2, np.array([True, True, False])) == (1, 2)
    assert index.counts(1, np.array([False, False, True])) == (2, 2)
    assert index.counts(1, np.array([False, False, False])) == (0, 0)
    assert index.distinct(np.array([True, False, True])) == {"distinct_1": 1.0, "distinct_2": 1.0}


def test_vocabulary_size():
    assert vocabulary_size([]) == 0
    assert vocabulary_size(["The movie", "the MOVIE, the end"]) == 3


# ---------------------------------------------------------------------------------------------- self-BLEU


def test_self_bleu_identical_is_100_and_disjoint_is_0():
    assert self_bleu(["the cat sat on the mat"] * 3) == 100.0
    assert self_bleu(["a b c d", "e f g h", "i j k l"]) == 0.0


def test_self_bleu_undefined_below_two_texts():
    assert self_bleu([]) is None
    assert self_bleu(["only one dialogue"]) is None
    assert self_bleu(["one", "", "   "]) is None  # empty texts are left out


def test_self_bleu_equals_sacrebleu_leave_one_out():
    texts = [
        "I want a tense thriller tonight .",
        "Try a tense thriller with a twist , it is great .",
        "Something funny please , a comedy for tonight",
        "A comedy with a twist ? Great , I want that .",
        "Café crème et Amélie , très bien",
    ]
    refs = [[t for j, t in enumerate(texts) if j != i] for i in range(len(texts))]
    streams = [list(stream) for stream in zip(*refs, strict=True)]
    expected = sacrebleu.corpus_bleu(texts, streams).score
    assert self_bleu(texts) == pytest.approx(expected, abs=1e-3)


def test_self_bleu_sample_is_deterministic_and_order_free():
    texts = [f"dialogue number {i} about movie {i % 3}" for i in range(20)]
    keys = [f"id{i}" for i in range(20)]
    first = self_bleu(texts, keys, pool=5)
    again = self_bleu(texts[::-1], keys[::-1], pool=5)
    assert first == again
    assert first != self_bleu(texts, keys, pool=20)


# ------------------------------------------------------------------------------------------ distributions


def test_distribution_known_answers():
    d = distribution([1, 2, 3, 4])
    assert (d["n"], d["mean"], d["median"], d["min"], d["max"]) == (4, 2.5, 2.5, 1.0, 4.0)
    assert d["p10"] == pytest.approx(1.3) and d["p90"] == pytest.approx(3.7)
    assert d["histogram"] == {"1": 1, "2": 1, "3": 1, "4": 1}
    binned = distribution([0, 4, 5, 12, 100], bins=[0, 5, 10])
    assert binned["histogram"] == {"0-4": 2, "5-9": 1, "10+": 2}


def test_distribution_empty():
    d = distribution([])
    assert d["n"] == 0 and d["mean"] is None and d["histogram"] == {}


def test_problem_names_and_shares():
    assert problem_name("unknown_item:B00X") == "unknown_item"
    assert problem_name("fixed:preamble") == "fixed:preamble"
    shares = problem_shares([["no_turns", "unknown_item:A", "unknown_item:B"], ["fixed:preamble"], [], []])
    assert shares == {"fixed:preamble": 0.25, "no_turns": 0.25, "unknown_item": 0.25}
    assert problem_shares([]) == {}


def test_ratio_is_none_without_denominator():
    assert ratio(1, 0) is None and ratio(1, 3) == 0.3333


def test_opening_diversity():
    result = opening_diversity(["Hi, something fun?", "hi something FUN", "I want a thriller"])
    assert result["distinct_share"] == round(2 / 3, 4)
    # bigrams: hi-something and something-fun twice each, i-want, want-a, a-thriller: 5 distinct of 7
    assert result["distinct_2"] == round(5 / 7, 4)
    assert opening_diversity([]) == {"distinct_share": None, "distinct_2": None}


# -------------------------------------------------------------------------------- recommendation, grounding

TURNS = [
    turn("user", "I loved <id_A> last week."),
    turn("assistant", "Since you liked <id_A>, try <id_B>."),  # recommends B only (A was named before)
    turn("user", "Seen it. Something else?"),
    turn("assistant", "Then <id_T> is for you, or <id_B> again."),  # recommends T
    turn("user", "Great, <id_T> it is."),
]


def test_recommendation_info():
    assert recommendation_info(TURNS, "T") == (True, 2, {"B", "T"})
    assert recommendation_info(TURNS, "A") == (False, None, {"B", "T"})
    assert recommendation_info([], "T") == (False, None, set())


def test_tag_grounding_counts_every_mention():
    # mentions: A, A, B, T, B, T = 6; not shown (shown = A, T): B twice; not in catalog (A, T): B twice.
    assert tag_grounding(TURNS, {"A", "T"}, {"A", "T"}) == (6, 2, 2)
    assert tag_grounding(TURNS, {"A", "B", "T"}, {"A", "B"}) == (6, 0, 2)
    assert tag_grounding([], set(), set()) == (0, 0, 0)


def test_title_matcher_agrees_with_find_titles():
    catalog = {
        "G1": Candidate("G1", "The Godfather", 1972),
        "G2": Candidate("G2", "The Godfather Part II", 1974),
        "H": Candidate("H", "Heat", 1995),
        "S": Candidate("S", "Se7en", 1995),
    }
    matcher = TitleMatcher(catalog)
    turns = [
        turn("assistant", "You should watch The Godfather (1972)."),
        turn("user", "I prefer The Godfather Part 2, honestly."),
        turn("assistant", "Then 'Heat' or Se7en. The heat is on!"),
        turn("user", "No titles here at all."),
        turn("user", "Amélie? Not this one."),
    ]
    ids = ["G1", "G2", "H", "S", "missing"]
    expected = sum(len(find_titles(t["content"], [catalog[i] for i in ids if i in catalog])) for t in turns)
    assert matcher.count(turns, ids) == expected == 4
    assert matcher.count(turns, []) == 0


def test_people_index_and_unsupported_people():
    people = PeopleIndex.from_names(["Brad Pitt", "Edward Norton", "Madonna", "John Rhys-Davies"])
    assert "madonna" not in {n for n in people.names.values()}  # one-word names are too ambiguous
    tokens = tokenize("I love Brad Pitt, and edward norton too; also John Rhys-Davies. Pitt alone is fine.")
    assert people.find(tokens) == ["brad pitt", "edward norton", "john rhys davies"]
    assert people.find([]) == []
    prompt = "Actors: Brad Pitt, John Rhys-Davies"
    assert unsupported_people(["brad pitt", "edward norton", "john rhys davies"], prompt) == 1
    assert unsupported_people([], prompt) == 0


def test_agreement():
    teacher = {"u1": {"A", "B"}, "u2": {"T2"}, "u4": set()}
    student = {"u1": {"A"}, "u2": set(), "u3": {"X"}, "u4": set()}
    targets = {"u1": "A", "u2": "T2", "u3": "X", "u4": "T4"}
    result = agreement(teacher, student, targets)
    # u1: J = 1/2, both hit A; u2: J = 0; u4: both empty, J = 1 by definition, no hit.
    assert result == {"users": 3, "jaccard_mean": 0.5, "both_recommend_target": round(1 / 3, 4)}
    assert agreement({}, {}, {}) == {"users": 0, "jaccard_mean": None, "both_recommend_target": None}


def record(persona: str, turns: list[dict[str, str]], target: str = "T", history=("H1", "H2"), **extra) -> dict:
    return {
        "dialogue_id": "d",
        "user_id": "u",
        "persona": persona,
        "target_item": target,
        "history": [{"item_id": h, "rating": 5.0} for h in history],
        "prompt": [
            {"role": "system", "content": "policy"},
            {"role": "user", "content": "Target movie: <id_T>\n- Actors: Brad Pitt"},
        ],
        "turns": turns,
        "valid": True,
        "problems": [],
        **extra,
    }


def test_dialogue_features_cold_start_and_people():
    turns = [
        turn("user", "Something like <id_H1>?"),
        turn("assistant", "Try <id_T> with Brad Pitt and Edward Norton, or <id_Z>."),
    ]
    people = PeopleIndex.from_names(["Brad Pitt", "Edward Norton"])
    catalog = {"T": Candidate("T", "Fight Club", 1999), "H1": Candidate("H1", "Heat", 1995)}
    index = NgramIndex()
    cold = dialogue_features(record("cold_start_browser", turns), index, {"T", "H1"}, TitleMatcher(catalog), people)
    assert (cold.cold_start, cold.cites_history) == (True, True)
    assert (cold.target_recommended, cold.position, cold.recommended) == (True, 1, {"T", "Z"})
    assert (cold.tag_mentions, cold.unknown, cold.not_in_catalog) == (3, 2, 1)  # H1, Z not shown; Z not in catalog
    assert (cold.people, cold.unsupported) == (2, 1)  # Edward Norton is not in the prompt
    assert (cold.turns, cold.words, cold.opening_turn, cold.titles) == (2, [3, 10], 0, 0)
    history = dialogue_features(record("fully_expressive", turns), index, {"T"}, TitleMatcher(catalog), people)
    assert (history.cold_start, history.cites_history) == (False, False)
    unchecked = dialogue_features(record("fully_expressive", turns), index, {"T"}, TitleMatcher({}), people, False)
    assert unchecked.titles is None


def test_dialogue_features_empty_dialogue():
    index = NgramIndex()
    empty = dialogue_features(record("cold_start_task", []), index, set(), TitleMatcher({}), PeopleIndex())
    assert (empty.turns, empty.words, empty.opening, empty.target_recommended, empty.tag_mentions) == (
        0,
        [],
        None,
        False,
        0,
    )
    index.finish()
    assert index.distinct() == {f"distinct_{n}": None for n in range(1, 5)}


def test_ngram_index_counts_equal_sets_of_tuples_on_random_subsets():
    """Utterances of every length (empty, shorter than n, long) and arbitrary subsets: the compact index
    (int32 ids, n-grams selected per utterance) counts what a plain set of n-gram tuples counts."""
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(30)]
    utterances = [[words[j] for j in rng.integers(0, 30, size=rng.integers(0, 12))] for _ in range(300)]
    index = NgramIndex()
    for tokens in utterances:
        index.add(tokens)
    index.finish()
    for _ in range(20):
        mask = rng.random(len(utterances)) < rng.random()
        for n in range(1, 5):
            grams = [
                tuple(u[i : i + n])
                for u, keep in zip(utterances, mask, strict=True)
                if keep
                for i in range(len(u) - n + 1)
            ]
            assert index.counts(n, mask) == (len(set(grams)), len(grams)), n
    assert len(index) == 300
