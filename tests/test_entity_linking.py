"""Entity linking over the sample catalog's real movies, and the KG triples built from the same items."""

from __future__ import annotations

import pytest

from distillrecdial_kit.builder.entity_linking import EntityLinker, normalise_pieces
from distillrecdial_kit.builder.kg import RELATIONS, kg_triples
from tests.test_crslab_export import sample_items


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return sample_items()


@pytest.fixture(scope="module")
def linker(items) -> EntityLinker:
    return EntityLinker.from_items(items)


@pytest.fixture(scope="module")
def ids(items) -> dict[str, str]:
    """title → item id (the sample has no duplicate titles)."""
    return {item["title"]: item["item_id"] for item in items}


def movies(linker, ids, text):
    by_id = {v: k for k, v in ids.items()}
    return [by_id[i] for i in linker.link_movies(text)]


def test_multi_word_names_and_order(linker):
    text = "Directed by Francis Ford Coppola and starring Tom Hanks, a space ranger story with Tom Hanks again."
    assert linker.link(text) == ["Francis Ford Coppola", "Tom Hanks", "space ranger"]


def test_longest_match_wins(linker, ids):
    assert movies(linker, ids, "Toy Story 2 is better than Toy Story.") == ["Toy Story 2", "Toy Story"]
    assert movies(linker, ids, "I loved the godfather part ii") == ["The Godfather Part II"]
    assert movies(linker, ids, "Then try Back to the Future Part III") == ["Back to the Future Part III"]


def test_case_insensitive_and_word_boundaries(linker, ids):
    assert linker.link("a TOM HANKS marathon") == ["Tom Hanks"]
    assert movies(linker, ids, "have you seen the matrix reloaded?") == ["The Matrix Reloaded"]
    assert linker.link("tom hanksy is not an actor") == []
    assert movies(linker, ids, "inceptional is not a word, but inception is a film") == ["Inception"]


def test_punctuation_and_accents_tolerated(linker, ids):
    for text in (
        "Spider-Man: Into the Spider-Verse",
        "spider man into the spider verse",
        "Spiderman Into the Spiderverse",
    ):
        assert movies(linker, ids, text) == ["Spider-Man: Into the Spider-Verse"], text
    assert movies(linker, ids, "ET the Extra-Terrestrial") == ["E.T. the Extra-Terrestrial"]
    assert movies(linker, ids, "Amelie and Schindlers List and Monsters Inc") == [
        "Amélie",
        "Schindler's List",
        "Monsters, Inc.",
    ]
    assert normalise_pieces("Spider-Man: Into") == ["spider", "man", "into"]


def test_year_disambiguates_and_stays_in_the_match(linker, ids):
    assert movies(linker, ids, "Godzilla (1954) is the original") == ["Godzilla"]
    assert linker.link("Godzilla (1954)") == []


def test_common_words_need_capitals_mid_sentence(linker, ids):
    # "love" (keyword) and "heat"/"up"/"home alone"/"your name" (titles) are ordinary English.
    assert linker.link("I love this, and love is all you need.") == []
    assert movies(linker, ids, "I can't stand the heat, so I stay home alone. What's your name?") == []
    assert movies(linker, ids, "Have you seen Heat? Or Up, or Home Alone, or Your Name?") == [
        "Heat",
        "Up",
        "Home Alone",
        "Your Name.",
    ]
    # Sentence-initial capitals are not evidence.
    assert movies(linker, ids, "Heat is on. Up we go!") == []
    # Rare words link whatever their case.
    assert linker.link("a story about friendship and a cowboy") == ["friendship", "cowboy"]


def test_common_genres_fire_before_a_film_noun(linker):
    assert linker.link("There was so much drama at work, my family says.") == []
    assert linker.link("I want a drama movie or family films") == ["Drama", "Family"]
    assert linker.link("I like Drama and horror") == ["Drama", "Horror"]


def test_words_and_batch(linker):
    assert linker.words("Hi! I can't wait, it's Spider-Man.") == [
        "hi",
        "i",
        "ca",
        "n't",
        "wait",
        "it",
        "'s",
        "spider",
        "man",
    ]
    texts = ["Tom Hanks in Toy Story", "", "nothing here", "Have you seen Heat?"]
    batch = linker.link_many(texts)
    assert [b.entities for b in batch] == [linker.link(t) for t in texts]
    assert [b.movies for b in batch] == [linker.link_movies(t) for t in texts]
    assert batch[1].entities == batch[1].movies == batch[1].words == []


def test_deterministic(items):
    text = "Tom Hanks, Drama movies, Toy Story and Alien, love and Up with Sigourney Weaver."
    first = EntityLinker.from_items(items).link_many([text])
    second = EntityLinker.from_items(list(reversed(items))).link_many([text])
    assert first == second


def test_kg_triples(items):
    triples = kg_triples(items + items[:3])  # duplicates are dropped
    assert len(triples) == len({(t["head"], t["relation"], t["tail"]) for t in triples})
    assert triples == sorted(triples, key=lambda t: (t["head"], t["relation"], t["tail"]))
    assert {t["relation"] for t in triples} == set(RELATIONS)
    toy = {(t["relation"], t["tail"]) for t in triples if t["head"] == "B000000000"}
    assert {
        ("actor", "Tom Hanks"),
        ("director", "John Lasseter"),
        ("genre", "Animation"),
        ("keyword", "space ranger"),
        ("collection", "Toy Story Collection"),
        ("year", "1995"),
    } <= toy
    assert kg_triples([{"item_id": "X", "title": "t", "year": None, "genres": [], "collection": None}]) == []


# Turns that stress what the two matchers could disagree on: case, punctuation, accents and folding,
# contractions spaCy splits inside a word, longest and overlapping matches, years, common words at the start
# of sentences and lines, after abbreviations and quotes, genres before film nouns, whitespace of every kind.
HAND_MADE_TURNS = [
    "Directed by Francis Ford Coppola and starring Tom Hanks, a space ranger story with Tom Hanks again.",
    "Toy Story 2 is better than Toy Story. I loved the godfather part ii; then Back to the Future Part III!",
    "a TOM HANKS marathon: tom hanksy is not an actor, inceptional is not a word, but inception is a film",
    "Spider-Man: Into the Spider-Verse / spider man into the spider verse / Spiderman Into the Spiderverse",
    "ET the Extra-Terrestrial, E.T. the Extra-Terrestrial and E.T.: Amelie, Amélie, AMÉLIE, Schindlers List",
    "Monsters, Inc. or Monsters Inc or monsters-inc? Godzilla (1954) is the original, Godzilla (2014) not.",
    "I love this, and love is all you need. I can't stand the heat, so I stay home alone. What's your name?",
    "Have you seen Heat? Or Up, or Home Alone, or Your Name? Heat is on. Up we go!",
    "There was so much drama at work, my family says. I want a drama movie or family films; I like Drama.",
    'He said "Heat" was great.\nHeat again\n\n  Up next:\tUp,  (Heat) — Heat… "Up" – Dr. Heat, U.S. Heat',
    "Don't you think Heat's better? I'd watch Up's sequel; gonna see Home Alone, cannot miss Your Name.",
    "comedy films, COMEDY movie, Comedy series and a war picture; War. War movies! war",
    "Sigourney Weaver in Alien (1979), Aliens and Alien³; the Alien Collection and alien collection",
    "   leading spaces, trailing tabs\t\t",
    "",
    "!!! ... ???",
    "12 Angry Men, 1917, 2012 and 9 1/2 Weeks; Se7en; Ocean's Eleven & Fast and Furious vs Fast & Furious",
    "l'amour, naïve café, ﬁlm (ligature), Ｆｕｌｌｗｉｄｔｈ Heat, ｈｅａｔ",
    # one case each, so a wrong answer on one cannot hide behind another mention in the same turn
    "and then\nHeat was on",
    "and then  Heat was on",
    "and then\u00a0Heat was on",
    "we saw U.S. Heat",
    "wow!! (Heat) rocks",
    "I'd say... Heat",
    "a co-Heat thing",
    "see Dr.Heat now",
    "Heat",
    '"Heat"',
    "it's great. heat",
]


def test_aho_corasick_linker_equals_the_phrase_matcher_one(items, linker):
    from distillrecdial_kit.builder.entity_linking import PhraseMatcherLinker

    reference = PhraseMatcherLinker.from_items(items)
    # Every movie title as written, lowercased, upper-cased and mid-sentence, as extra turns.
    titles = [item["title"] for item in items if item.get("title")]
    turns = HAND_MADE_TURNS + [f"Have you seen {t}? {t.lower()}, {t.upper()}. {t}" for t in titles]
    expected = reference.link_many(turns)
    assert sum(len(e.movies) + len(e.entities) for e in expected) > 150  # the turns do link things
    assert linker.link_many(turns) == expected
    assert [linker.words(t) for t in turns] == [e.words for e in expected]
    # one at a time (cold chunks) and in one batch (warm) give the same
    fresh = EntityLinker.from_items(items)
    assert [fresh.link_many([t])[0] for t in turns] == expected
    # batches that end anywhere: no hit may leak from one text of a scanned batch into the next
    small = EntityLinker.from_items(items, batch_size=3)
    assert small.link_many(turns) == expected
    small.forget()
    assert small.link_many(turns[::-1]) == expected[::-1]


def test_plain_chunks_skip_spacy_with_spacys_own_tokens(linker):
    from wordfreq import top_n_list

    from distillrecdial_kit.builder.entity_linking import _PLAIN, _plain_chunk

    words = [w for w in top_n_list("en", 3000) if w.isascii()] + ["Mr", "Dr", "St", "A", "I", "cannot", "gonna"]
    checked = 0
    for word in words:
        for form in (word, word.capitalize(), word.upper()):
            for mark in ("", ",", ".", "!", "?"):
                plain = _PLAIN.fullmatch(form + mark)
                if plain and form + mark not in linker._special and plain[1] not in linker._special:
                    assert _plain_chunk(plain[1], plain[2] or "") == linker._chunk(list(linker.nlp(form + mark)))
                    checked += 1
    assert checked > 20_000


def test_chunk_cache_overflow_keeps_links(items):
    small = EntityLinker.from_items(items)
    small.chunk_cache = 8
    reference = EntityLinker.from_items(items)
    assert small.link_many(HAND_MADE_TURNS) == reference.link_many(HAND_MADE_TURNS)
