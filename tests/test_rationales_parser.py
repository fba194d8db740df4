"""The rationale parser on hand-written messy model outputs: what it repairs, and what it reports as missing."""

from __future__ import annotations

import pytest

from distillrecdial_kit.generation.rationale_format import format_rationale, parse_rationale
from distillrecdial_kit.generation.rationale_template import describe_item, opinion_phrases, write_rationales


def test_canonical_answer_parses_clean():
    parsed = parse_rationale("USER PREFERS: tense, slow-burning thrillers\nITEM IS: a 1970s paranoia thriller")
    assert (parsed.user_prefers, parsed.item_is, parsed.problems) == (
        "tense, slow-burning thrillers",
        "a 1970s paranoia thriller",
        [],
    )
    assert parsed.valid


@pytest.mark.parametrize(
    ("text", "fixes"),
    [
        (
            "Sure! Here are the two rationales you asked for.\n\nUSER PREFERS: tense thrillers\n"
            "ITEM IS: a paranoia thriller\n\nLet me know if you need more.",
            {"fixed:extra_text"},
        ),
        ("ITEM IS: a paranoia thriller\nUSER PREFERS: tense thrillers", {"fixed:swapped_order"}),
        ("- USER PREFERS: tense thrillers\n- ITEM IS: a paranoia thriller", {"fixed:bullets"}),
        ("1. USER PREFERS: tense thrillers\n2) ITEM IS: a paranoia thriller", {"fixed:bullets"}),
        ("**USER PREFERS:** tense thrillers\n**ITEM IS:** a paranoia thriller", {"fixed:markdown"}),
        (
            "### User prefers\ntense thrillers\n### Item is\na paranoia thriller",
            {"fixed:markdown", "fixed:label_variant"},
        ),
        (
            "The user prefers tense thrillers.\nItem attributes: a paranoia thriller",
            {"fixed:label_variant"},
        ),
        ('USER PREFERS: "tense thrillers"\nITEM IS: "a paranoia thriller"', {"fixed:quotes"}),
        (
            "USER PREFERS: tense thrillers\nUSER PREFERS: something else\nITEM IS: a paranoia thriller",
            {"fixed:repeated_label"},
        ),
    ],
)
def test_messy_outputs_are_repaired_and_the_repairs_recorded(text, fixes):
    parsed = parse_rationale(text)
    assert parsed.user_prefers.rstrip(".") == "tense thrillers"
    assert parsed.item_is == "a paranoia thriller"
    assert set(parsed.problems) == fixes
    assert parsed.valid


def test_a_missing_part_is_an_error_and_the_other_part_is_kept():
    parsed = parse_rationale("Here you go:\nUSER PREFERS: tense thrillers")
    assert parsed.user_prefers == "tense thrillers"
    assert parsed.item_is is None
    assert "missing:item_is" in parsed.problems
    assert not parsed.valid


@pytest.mark.parametrize("text", ["", "   \n  ", "I cannot help with that.", "USER PREFERS:\nITEM IS:"])
def test_nothing_usable_is_reported_with_reasons(text):
    parsed = parse_rationale(text)
    assert not parsed.valid
    assert parsed.user_prefers is None and parsed.item_is is None
    assert parsed.problems == ["empty_response"] or {"missing:user_prefers", "missing:item_is"} <= set(parsed.problems)


def test_prose_that_merely_mentions_preferences_is_not_read_as_a_label():
    parsed = parse_rationale("Preferences aside, this is hard.\nUSER PREFERS: noir\nITEM IS: a noir")
    assert (parsed.user_prefers, parsed.item_is) == ("noir", "a noir")
    assert "fixed:extra_text" in parsed.problems


def test_overlong_values_are_cut_at_the_word_cap():
    parsed = parse_rationale("USER PREFERS: " + "very " * 200 + "\nITEM IS: a film")
    assert len(parsed.user_prefers.split()) == 60
    assert "fixed:truncated" in parsed.problems


def test_template_answer_round_trips_through_the_parser():
    item = {"item_id": "X", "title": "Alien", "year": 1979, "genres": ["Horror"], "directors": ["Ridley Scott"]}
    prefers, item_is = write_rationales(
        describe_item(item), 5.0, "Classic", "Great atmosphere, but the ending was disappointing."
    )
    parsed = parse_rationale(format_rationale(prefers, item_is))
    assert (parsed.user_prefers, parsed.item_is, parsed.problems) == (prefers, item_is, [])
    assert "great atmosphere" in prefers and "disappointing ending" in prefers
    assert item_is.startswith("Alien (1979) is a horror movie directed by Ridley Scott")


def test_opinions_follow_negation_and_copulas():
    phrases = dict((p, positive) for positive, p in opinion_phrases("The plot was not boring. I loved the score."))
    assert phrases == {"plot that is not boring": True, "the score": True}
    assert opinion_phrases("The story was dull.") == [(False, "dull story")]


def test_the_parse_finds_opinions_the_word_scan_cannot_reach():
    """spaCy's dependency parse links a predicate adjective to a subject several words away."""
    from distillrecdial_kit.generation.rationale_spacy import spacy_phrases

    text = "The ending, after two hours of build-up, was utterly disappointing. Great acting though."
    assert opinion_phrases(text) == [(True, "great acting")]
    assert set(spacy_phrases([text])[0]) == {(True, "great acting"), (False, "disappointing ending")}
