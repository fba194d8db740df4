"""Mapping movie titles that a model wrote instead of ``<id_…>`` tags back to those tags.

Only the prompt's own candidate items (its target and history) are searched,
so matching is a handful of titles against one dialogue, not a catalog-wide
search. Titles are compared on normalised word tokens (case, accents and
punctuation ignored), with an optional leading article and a trailing year in
brackets; near misses ("The Godfather Part 2") are caught with RapidFuzz on
candidate windows that share words with the title. Longer titles win over
shorter ones that they contain ("The Godfather Part II" over "The Godfather").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from distillrecdial_kit.generation.dialogue_parser import TAG

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_YEAR_AFTER = re.compile(r"\s*[(\[](?:19|20)\d\d(?:\s+film)?[)\]]")
_ARTICLES = {"the", "a", "an"}
#: "The Avengers Collection" names a franchise, not the movie "The Avengers".
_GROUP_AFTER = re.compile(r"\s+(?:collection|series|franchise|saga|trilogy|films|movies)\b", re.IGNORECASE)
_WRAPPERS = {'"': '"', "“": "”", "*": "*", "_": "_", "'": "'", "‘": "’"}
FUZZY_THRESHOLD = 90.0
FUZZY_MIN_CHARS = 8


@dataclass(frozen=True)
class Candidate:
    """An item the dialogue may name: its id, title and release year."""

    item_id: str
    title: str
    year: int | None = None


#: Sequel numbers are written every way ("Part II", "Part 2", "Part Two"); compare them as digits.
_NUMBERS = {
    **{r: str(n) for n, r in enumerate(["ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"], start=2)},
    **{w: str(n) for n, w in enumerate(["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"], 2)},
}


@lru_cache(maxsize=1 << 16)
def _norm(word: str) -> str:
    folded = unicodedata.normalize("NFKD", word.lower())
    plain = "".join(c for c in folded if c.isalnum())
    return _NUMBERS.get(plain, plain)


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Normalised words with their character spans, skipping the inside of existing tags."""
    masked = TAG.sub(lambda m: " " * len(m.group()), text)
    return [(word, m.start(), m.end()) for m in _WORD.finditer(masked) if (word := _norm(m.group()))]


@lru_cache(maxsize=1 << 16)
def _variants(title: str) -> tuple[list[str], ...]:
    words = [_norm(w) for w in _WORD.findall(title)]
    words = [w for w in words if w]
    variants = [words]
    if len(words) > 2 and words[0] in _ARTICLES:
        variants.append(words[1:])
    return tuple(variants)


def _cued(text: str, start: int, end: int) -> bool:
    """A short title counts only when marked as one: quoted, emphasised, followed by a year, or capitalised
    mid-sentence (so the word "heat" or a sentence starting "Heat is…" is not taken for the movie *Heat*)."""
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before in _WRAPPERS and after == _WRAPPERS[before]:
        return True
    if _YEAR_AFTER.match(text, end):
        return True
    if not text[start].isupper():
        return False
    previous = text[:start].rstrip()
    return bool(previous) and previous[-1] not in '.!?:\n"“*'


def _expand(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow a matched span over a trailing ``(1972)`` and over wrapping quotes or emphasis, in any nesting."""
    while True:
        year = _YEAR_AFTER.match(text, end)
        if year:
            end = year.end()
        elif start > 0 and end < len(text) and text[start - 1] in _WRAPPERS and text[end] == _WRAPPERS[text[start - 1]]:
            start, end = start - 1, end + 1
        else:
            return start, end


def _similar_edges(window: list[str], variant: list[str]) -> bool:
    """The window starts like the title and ends like it ("Spiderman … Spiderverse" for "Spider-Man … Verse"),
    so a neighbouring word is not swallowed into the tag."""
    return window[0][:3] == variant[0][:3] and window[-1][-3:] == variant[-1][-3:]


def _same_sequel(window: list[str], variant: list[str]) -> bool:
    """A sequel number is never a typo: "Toy Story" or "Toy Story 2" is not a near miss of "Toy Story 3"."""
    numbers = {w for w in variant if w.isdigit()}
    if {w for w in window if w.isdigit()} - numbers:
        return False
    return not variant[-1].isdigit() or variant[-1] in window


def _best_window(
    words: list[str], taken: list[bool], variant: list[str], starts: list[int], ends: set[int]
) -> tuple[int, int] | None:
    """The free window of about the title's length most similar to it, if similar enough (a near miss).

    Words are compared without spaces, so "Spiderman" matches "Spider-Man" and "Spiderverse" "Spider-Verse".
    Only windows that start and end like the title can match (_similar_edges): ``starts`` are the positions of
    words starting like its first word, ``ends`` of those ending like its last.
    """
    target = "".join(variant)
    best: tuple[float, int, int] | None = None
    for size in range(max(1, len(variant) - 2), len(variant) + 2):
        for i in starts:
            j = i + size - 1
            if j >= len(words):
                break
            if j not in ends or any(taken[i : j + 1]):
                continue
            window = words[i : j + 1]
            if not _same_sequel(window, variant):
                continue
            score = fuzz.ratio("".join(window), target)
            if score >= FUZZY_THRESHOLD and (best is None or score > best[0]):
                best = (score, i, j)
    return None if best is None else (best[1], best[2])


@dataclass(frozen=True)
class _Title:
    """A candidate's title as find_titles reads it: its word variants, and the letters a near miss needs."""

    candidate: Candidate
    variants: tuple[list[str], ...]
    #: long enough for a near-miss search: the first three letters of its first word and last three of its last
    fuzzy: tuple[str, str] | None

    def could_match(self, words: set[str], heads: set[str], tails: set[str]) -> bool:
        """False when the text cannot hold it: no variant's first word, and no near-miss window's edges."""
        if any(variant[0] in words for variant in self.variants):
            return True
        return self.fuzzy is not None and self.fuzzy[0] in heads and self.fuzzy[1] in tails


@lru_cache(maxsize=1 << 12)
def _by_length(candidates: tuple[Candidate, ...]) -> list[_Title]:
    """The candidates with a title, longest title first (ties by id): one sort per dialogue's candidate set,
    not one per turn."""
    titles = []
    for candidate in candidates:
        variants = _variants(candidate.title)
        full = variants[0]
        if full:
            fuzzy = len(full) >= 2 and len(" ".join(full)) >= FUZZY_MIN_CHARS
            titles.append(_Title(candidate, variants, (full[0][:3], full[-1][-3:]) if fuzzy else None))
    return sorted(titles, key=lambda t: (-len(t.variants[0]), t.candidate.item_id))


def find_titles(text: str, candidates: list[Candidate]) -> list[tuple[int, int, str]]:
    """Non-overlapping ``(start, end, item_id)`` spans where a candidate's title is written."""
    tokens = _tokens(text)
    words = [t[0] for t in tokens]
    # Most turns name none of the candidates: a set test per title rules them out before any window is read.
    heads, tails = {w[:3] for w in words}, {w[-3:] for w in words}
    word_set = set(words)
    titles = [t for t in _by_length(tuple(candidates)) if t.could_match(word_set, heads, tails)]
    if not titles:
        return []
    taken = [False] * len(tokens)
    found: list[tuple[int, int, str]] = []

    def claim(first: int, last: int, item_id: str) -> bool:
        if _GROUP_AFTER.match(text, tokens[last][2]):
            return False
        for k in range(first, last + 1):
            taken[k] = True
        found.append((*_expand(text, tokens[first][1], tokens[last][2]), item_id))
        return True

    positions: dict[str, list[int]] = {}  # word → where it occurs: exact matches start only there
    starts_at: dict[str, list[int]] = {}  # first three letters → where: near misses start only there
    ends_at: dict[str, set[int]] = {}  # last three letters → where: near misses end only there
    for i, word in enumerate(words):
        positions.setdefault(word, []).append(i)
        starts_at.setdefault(word[:3], []).append(i)
        ends_at.setdefault(word[-3:], set()).add(i)
    for title in titles:  # longest first, so they win over titles they contain
        hit = False
        for variant in title.variants:  # exact matches: the full title, then without its leading article
            n = len(variant)
            for i in positions.get(variant[0], ()):
                if i + n > len(words):
                    break
                if words[i : i + n] != variant or any(taken[i : i + n]):
                    continue
                start, end = tokens[i][1], tokens[i + n - 1][2]
                if (n == 1 or len("".join(variant)) < 4) and not _cued(text, start, end):
                    continue
                hit = claim(i, i + n - 1, title.candidate.item_id) or hit
        if not hit and title.fuzzy is not None:
            starts, ends = starts_at.get(title.fuzzy[0]), ends_at.get(title.fuzzy[1])
            window = _best_window(words, taken, title.variants[0], starts, ends) if starts and ends else None
            if window is not None:
                claim(*window, title.candidate.item_id)
    return sorted(found)


def recover_tags(text: str, candidates: list[Candidate]) -> tuple[str, list[str]]:
    """``text`` with each written title replaced by its ``<id_…>`` tag, and the ids recovered (in order)."""
    spans = find_titles(text, candidates)
    for start, end, item_id in reversed(spans):
        text = f"{text[:start]}<id_{item_id}>{text[end:]}"
    return text, [item_id for *_, item_id in spans]
