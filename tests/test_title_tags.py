"""Titles written instead of tags are mapped back to the prompt's own items, and nothing else is."""

from __future__ import annotations

import pytest

from distillrecdial_kit.generation.title_tags import Candidate, recover_tags

CANDIDATES = [
    Candidate("B0GODF0001", "The Godfather", 1972),
    Candidate("B0GODF0002", "The Godfather Part II", 1974),
    Candidate("B0HEAT0001", "Heat", 1995),
    Candidate("B0SPID0001", "Spider-Man: Into the Spider-Verse", 2018),
    Candidate("B0AMEL0001", "Amélie", 2001),
    Candidate("B0ALIEN001", "Alien", 1979),
    Candidate("B0ALIEN002", "Aliens", 1986),
    Candidate("B0LOTR0001", "The Lord of the Rings: The Fellowship of the Ring", 2001),
    Candidate("B0LOTR0002", "The Lord of the Rings: The Two Towers", 2002),
    Candidate("B0TOY00003", "Toy Story 3", 2010),
    Candidate("B0AVEN0001", "The Avengers", 2012),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("You should watch The Godfather tonight.", "You should watch <id_B0GODF0001> tonight."),
        ("You should watch the godfather tonight.", "You should watch <id_B0GODF0001> tonight."),
        ("Try THE GODFATHER!", "Try <id_B0GODF0001>!"),
        ("Try Spider-Man Into the Spider Verse.", "Try <id_B0SPID0001>."),
        ("Try Spiderman: into the spider-verse.", "Try <id_B0SPID0001>."),
        ("Have you seen Amelie?", "Have you seen <id_B0AMEL0001>?"),
        ("It's like Lord of the Rings: The Two Towers.", "It's like <id_B0LOTR0002>."),
    ],
)
def test_exact_case_and_punctuation_variants(text, expected):
    assert recover_tags(text, CANDIDATES)[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I loved The Godfather (1972).", "I loved <id_B0GODF0001>."),
        ("I loved The Godfather [1972] a lot.", "I loved <id_B0GODF0001> a lot."),
        ("I loved **The Godfather** (1972).", "I loved <id_B0GODF0001>."),
        ('I loved "Heat" (1995 film).', "I loved <id_B0HEAT0001>."),
    ],
)
def test_year_in_brackets_and_emphasis_are_part_of_the_title(text, expected):
    assert recover_tags(text, CANDIDATES)[0] == expected


@pytest.mark.parametrize(
    ("text", "expected_id"),
    [
        ("Next is The Godfaher Part II.", "B0GODF0002"),
        ("Next is the Godfather part 2.", "B0GODF0002"),
        ("Next is The Godfather Part Two.", "B0GODF0002"),
        ("Then the Lord of the Rings: the Twin Towers.", "B0LOTR0002"),
        ("Then Spider-Man: Into the Spiderverse.", "B0SPID0001"),
    ],
)
def test_near_miss_titles(text, expected_id):
    recovered, ids = recover_tags(text, CANDIDATES)
    assert ids == [expected_id]
    assert recovered.endswith(f"<id_{expected_id}>.")


def test_titles_sharing_words_map_to_the_longest_match():
    text = "Watch The Godfather, then The Godfather Part II, then Lord of the Rings: The Fellowship of the Ring."
    recovered, ids = recover_tags(text, CANDIDATES)
    assert recovered == "Watch <id_B0GODF0001>, then <id_B0GODF0002>, then <id_B0LOTR0001>."
    assert ids == ["B0GODF0001", "B0GODF0002", "B0LOTR0001"]
    assert recover_tags("Alien and then Aliens (1986).", CANDIDATES)[0] == "Alien and then <id_B0ALIEN002>."


@pytest.mark.parametrize(
    "text",
    [
        "The heat is unbearable this summer.",  # a common word, not the movie
        "Heat is rising in this thriller.",  # sentence-initial capital is not a cue
        "It's in the same vein as the Toy Story films.",  # a franchise without the sequel number
        "Is it part of The Avengers Collection?",  # a collection named after a movie
        "An alien invasion story.",
        "Already tagged: <id_B0GODF0001> and nothing else.",
    ],
)
def test_words_that_are_not_titles_are_left_alone(text):
    assert recover_tags(text, CANDIDATES) == (text, [])


def test_short_titles_need_a_cue():
    assert recover_tags("I recommend Heat for tonight.", CANDIDATES)[1] == ["B0HEAT0001"]
    assert recover_tags('Try "Alien".', CANDIDATES)[1] == ["B0ALIEN001"]
    assert recover_tags("Try *Aliens*!", CANDIDATES)[0] == "Try <id_B0ALIEN002>!"


def test_only_the_given_candidates_are_searched():
    assert recover_tags("Watch Casablanca or The Godfather.", CANDIDATES[:1]) == (
        "Watch Casablanca or <id_B0GODF0001>.",
        ["B0GODF0001"],
    )
    assert recover_tags("Watch The Godfather.", []) == ("Watch The Godfather.", [])
