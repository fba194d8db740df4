"""The rule-based rationale writer (``--backend template``): extractive, deterministic, no model.

``user_prefers`` is built from the review itself: opinion phrases made of a
sentiment word and the noun-chunk-like span it qualifies ("great acting",
"the plot was slow" → "slow plot"), negation flipping the polarity, and the
rating deciding likes from dislikes when the review names no opinion.
``item_is`` comes from the item's catalog facts (genres, director, cast,
keywords) plus the qualities the review praises.

Why not spaCy's parser for the noun chunks: a review corpus has millions of
reviews and the dependency parse runs at a few thousand reviews a second per
core, far from the million-in-two-minutes budget. A lowercase word scan with
spaCy's English stop-word list and a small movie-review sentiment lexicon finds
the same short "adjective + noun" spans at tens of thousands a second.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from spacy.lang.en.stop_words import STOP_WORDS

TEMPLATE_MODEL = "distillrecdial-rationale-template-v1"

POSITIVE = frozenset(
    [
        "amazing",
        "awesome",
        "beautiful",
        "beautifully",
        "best",
        "brilliant",
        "captivating",
        "charming",
        "clever",
        "compelling",
        "delightful",
        "enjoyable",
        "engaging",
        "entertaining",
        "epic",
        "excellent",
        "exceptional",
        "exciting",
        "fantastic",
        "fascinating",
        "fine",
        "fun",
        "funny",
        "gorgeous",
        "great",
        "gripping",
        "heartwarming",
        "hilarious",
        "impressive",
        "incredible",
        "inspiring",
        "intelligent",
        "intense",
        "interesting",
        "lovely",
        "magnificent",
        "masterful",
        "memorable",
        "moving",
        "outstanding",
        "perfect",
        "powerful",
        "riveting",
        "solid",
        "strong",
        "stunning",
        "superb",
        "suspenseful",
        "sweet",
        "terrific",
        "thoughtful",
        "thrilling",
        "touching",
        "unforgettable",
        "well-acted",
        "well-made",
        "witty",
        "wonderful",
    ]
)
NEGATIVE = frozenset(
    [
        "annoying",
        "awful",
        "bad",
        "bland",
        "boring",
        "clumsy",
        "confusing",
        "disappointing",
        "dreadful",
        "dull",
        "forgettable",
        "horrible",
        "lame",
        "lousy",
        "mediocre",
        "messy",
        "pointless",
        "poor",
        "predictable",
        "ridiculous",
        "shallow",
        "silly",
        "slow",
        "stupid",
        "tedious",
        "terrible",
        "thin",
        "tiresome",
        "unconvincing",
        "uninspired",
        "unfunny",
        "waste",
        "weak",
        "worst",
        "wooden",
    ]
)
#: Verbs of liking or disliking whose object is what the user cares about ("loved the soundtrack").
LIKE_VERBS = frozenset(
    {"love", "loved", "loves", "enjoy", "enjoyed", "enjoys", "like", "liked", "likes", "adore", "adored"}
)
DISLIKE_VERBS = frozenset({"hate", "hated", "hates", "dislike", "disliked", "dislikes"})
DETERMINERS = frozenset({"the", "a", "an", "this", "that", "its", "their", "his", "her", "all"})
NEGATORS = frozenset({"not", "never", "no", "hardly", "isn't", "wasn't", "aren't", "weren't", "didn't", "don't"})
INTENSIFIERS = frozenset({"very", "so", "really", "quite", "pretty", "truly", "too", "extremely", "rather"})
COPULAS = frozenset({"is", "was", "are", "were", "seems", "seemed", "felt", "feels", "looks", "looked"})
#: Words that never head an opinion's subject (too generic to say what the user cares about).
GENERIC = frozenset(
    {"movie", "movies", "film", "films", "dvd", "bluray", "blu-ray", "one", "thing", "things", "lot", "bit", "time"}
)
_SKIP = STOP_WORDS | NEGATORS | INTENSIFIERS | COPULAS | POSITIVE | NEGATIVE | GENERIC | LIKE_VERBS | DISLIKE_VERBS
_OPINION = POSITIVE | NEGATIVE | LIKE_VERBS | DISLIKE_VERBS
_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")

Phrase = tuple[bool, str]  # (positive?, "adjective noun")


def _is_content(word: str) -> bool:
    return len(word) > 2 and word not in _SKIP


def opinion_phrases(text: str, limit: int = 6) -> list[Phrase]:
    """Sentiment word + the span it qualifies, in reading order, deduplicated; at most ``limit``."""
    words = _WORD.findall(text.lower())
    found: list[Phrase] = []
    seen: set[str] = set()
    count = len(words)
    for i, word in enumerate(words):
        if word not in _OPINION:
            continue
        positive = word in POSITIVE or word in LIKE_VERBS
        verb = word in LIKE_VERBS or word in DISLIKE_VERBS
        back = i - 1
        while back >= 0 and words[back] in INTENSIFIERS:
            back -= 1
        negated = back >= 0 and words[back] in NEGATORS
        subject: list[str] = []
        # "great acting", "loved the score": up to two content words after the opinion word (and a determiner).
        j = i + 1
        if verb:
            while j < count and words[j] in DETERMINERS:
                j += 1
        while j < count and len(subject) < 2 and _is_content(words[j]):
            subject.append(words[j])
            j += 1
        if not subject and not verb and back >= 1 and words[back] in COPULAS | NEGATORS:
            # "the plot was (not) slow": the content word just before the copula.
            k = back - 1 if words[back] in COPULAS else back - 2
            if k >= 0 and words[k] in COPULAS:
                k -= 1
            if k >= 0 and _is_content(words[k]):
                subject.append(words[k])
        if not subject:
            continue
        noun = " ".join(subject)
        if verb:
            phrase = f"the {noun}"
        elif negated:
            phrase = f"{noun} that is not {word}"
        else:
            phrase = f"{word} {noun}"
        if phrase not in seen:
            seen.add(phrase)
            found.append((positive != negated, phrase))
            if len(found) >= limit:
                break
    return found


def _join(values: Sequence[str], limit: int = 3) -> str:
    values = list(values)[:limit]
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def _lower(values: Any) -> list[str]:
    return [str(v).lower() for v in values or []]


@dataclass(frozen=True)
class ItemDescription:
    """What the writer says about an item whatever the review: computed once per item, shared by its reviews."""

    sentence: str  # "Alien (1979) is a horror movie directed by Ridley Scott ... about space" (no final stop)
    kind: str  # "horror and science fiction", or "such" without genres
    topics: str  # "space and alien", or ""


def describe_item(item: dict[str, Any]) -> ItemDescription:
    genres = _join(_lower(item.get("genres")), 2)
    sentence = f"{item.get('title') or 'This movie'}"
    if item.get("year"):
        sentence += f" ({item['year']})"
    sentence += f" is {'an' if genres[:1] in tuple('aeiou') else 'a'} {genres} movie" if genres else " is a movie"
    if item.get("directors"):
        sentence += f" directed by {_join(item['directors'], 2)}"
    if item.get("actors"):
        sentence += f" starring {_join(item['actors'], 2)}"
    keywords = _join(_lower(item.get("keywords")), 3)
    if keywords:
        sentence += f" about {keywords}"
    return ItemDescription(sentence, genres or "such", _join(_lower(item.get("keywords")), 2))


def user_prefers(phrases: list[Phrase], rating: float, item: ItemDescription) -> str:
    """What the user prefers, from the review's opinions (or, without any, from the rating and the item)."""
    likes = [p for positive, p in phrases if positive]
    dislikes = [p for positive, p in phrases if not positive]
    if not likes and not dislikes:
        about = f" about {item.topics}" if item.topics else ""
        if rating > 3:
            return f"The user enjoys {item.kind} movies{about}."
        return f"The user was let down by this {item.kind} movie{about}."
    parts = []
    if likes:
        parts.append(f"values {_join(likes)}")
    if dislikes:
        parts.append(f"is put off by {_join(dislikes)}")
    return f"The user {' and '.join(parts)} in {item.kind} movies."


def item_is(item: ItemDescription, phrases: list[Phrase]) -> str:
    """What the item is: its kind, makers and subject from the catalog, plus what the review praises."""
    praised = [p for positive, p in phrases if positive][:2]
    return f"{item.sentence}, with {_join(praised, 2)}." if praised else f"{item.sentence}."


def review_text(review_title: str | None, review_text: str | None) -> str:
    """The text opinions are read from: the review's title, then its body."""
    return f"{review_title or ''}. {review_text or ''}"


def write_rationales(
    item: ItemDescription,
    rating: float,
    review_title: str | None,
    body: str | None,
    phrases: list[Phrase] | None = None,
) -> tuple[str, str]:
    """``(user_prefers, item_is)`` for one review of the described item (``phrases`` if already read)."""
    if phrases is None:
        phrases = opinion_phrases(review_text(review_title, body))
    return user_prefers(phrases, rating, item), item_is(item, phrases)
