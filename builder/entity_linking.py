"""Link the catalog's entities (people, genres, keywords, collections, movie titles) in dialogue text.

One :class:`EntityLinker` is built from the ``items`` rows (``EntityLinker.from_items(items)``) and matches
every entity name in one pass over each text with spaCy's ``PhraseMatcher`` (one label for all patterns; the
entity behind a match is found from the matched tokens, so adding 20k names costs nothing per text).

Why ``spacy.blank("en")`` and not ``en_core_web_sm``: matching needs only the English tokenizer (its rules and
exceptions are the same in both) and spaCy's English stop words, which ship with the blank language. The
trained pipeline adds a tagger, parser and NER that the matcher never reads and that make linking about 30×
slower, so no model package is needed.

Matching semantics
------------------
- **Token based, case-insensitive.** A name matches only whole tokens ("Heat" never fires inside "heated").
- **Punctuation tolerant.** Texts and names are compared on their alphanumeric pieces, accents folded
  ("Amélie" = "Amelie"), so "Spider-Man", "Spider Man" and "spiderman", "E.T." and "ET",
  "Schindler's List" and "Schindlers list", "Monsters, Inc." and "Monsters Inc" all match.
- **Longest match wins** on overlapping matches (then the earliest): "Toy Story 2" beats "Toy Story",
  "The Godfather Part II" beats "The Godfather".
- **Movie titles** map to item ids. A title followed by its year ("Godzilla (2014)") links that item only; a
  bare title shared by several items links all of them (catalog order).
- **Common words** (the policy): a name is *common* when every one of its pieces is an ordinary English word,
  that is a spaCy stop word, a number, or a word whose Zipf frequency in ``wordfreq``'s English list is at
  least ``common_zipf`` (default 4.5, about once in 30,000 words: "love", "up", "heat", "family", "drama",
  "home alone", "your name", "top gun"...). A common name fires only when it is written capitalised *and not*
  at the start of a sentence ("Have you seen Heat?" links the movie, "I love the heat." and "Love it!" do
  not). A common *genre* also fires, whatever its case, right before a film noun ("a drama movie",
  "action films", "comedy series"). Rare words ("Inception", "cowboy", "horror", "Tom Hanks") match
  case-insensitively anywhere. Number-only names ("1917", "2012") count as common and cannot be capitalised,
  so they never link on their own: too ambiguous with years and counts. Tune with ``common_zipf``.

Everything is deterministic: patterns, ties and output orders depend only on the items and the text.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["KIND_ORDER", "EntityLinker", "Linked", "normalise_pieces"]

#: Kinds of non-movie entities, in the order their names are listed when one span names several.
KIND_ORDER = ("actor", "director", "genre", "keyword", "collection")
_KIND_RANK = {kind: rank for rank, kind in enumerate(("movie", *KIND_ORDER))}

_FILM_NOUNS = frozenset(
    {"movie", "movies", "film", "films", "flick", "flicks", "show", "shows", "series", "picture", "pictures"}
)
_PIECE = re.compile(r"[^\W_]+")
_SENTENCE_END = frozenset(".!?")


def _fold(text: str) -> str:
    """NFKD with combining marks dropped: "Amélie" → "Amelie", "Alien³" → "Alien3"."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_pieces(text: str) -> list[str]:
    """The lowercased alphanumeric pieces of ``text`` ("Spider-Man:" → ["spider", "man"])."""
    return _PIECE.findall(_fold(text).lower())


def _name_variants(name: str) -> set[tuple[str, ...]]:
    """Piece sequences a name may be written as: each word split at inner punctuation or joined.

    "E.T. the Extra-Terrestrial" → ("e", "t", "the", "extra", "terrestrial"), ("et", "the", "extraterrestrial"),
    and the two mixed forms. At most 2**6 variants per name (the rest of the words are then kept split).
    """
    options: list[list[tuple[str, ...]]] = []
    branching = 0
    for word in name.split():
        pieces = tuple(normalise_pieces(word))
        if not pieces:
            continue
        joined = ("".join(pieces),)
        if len(pieces) > 1 and branching < 6:
            branching += 1
            options.append([pieces, joined])
        else:
            options.append([pieces])
    variants: set[tuple[str, ...]] = set()
    for combo in itertools.product(*options):
        variants.add(tuple(piece for part in combo for piece in part))
    if "&" in name:  # "Fast & Furious" = "Fast and Furious"
        variants |= _name_variants(name.replace("&", " and "))
    return {v for v in variants if v}


@dataclass(frozen=True)
class _Candidate:
    name: str  # entity name (for a movie: its item id)
    kind: str  # "movie" or one of KIND_ORDER


@dataclass
class _Entry:
    candidates: list[_Candidate] = field(default_factory=list)
    common: bool = False


@dataclass
class Linked:
    """What one text links: KG entity names, movie item ids (both in order of appearance, deduplicated), words."""

    entities: list[str]
    movies: list[str]
    words: list[str]


class EntityLinker:
    """Find catalog entities in text. Build with :meth:`from_items`; see the module doc for the semantics."""

    def __init__(
        self,
        names: Iterable[tuple[str, str]],
        movies: Iterable[tuple[str, str, int | None]] = (),
        *,
        common_zipf: float = 4.5,
        batch_size: int = 256,
    ) -> None:
        """``names``: (entity name, kind) pairs; ``movies``: (item id, title, year) triples."""
        import spacy
        from spacy.lang.en.stop_words import STOP_WORDS
        from spacy.matcher import PhraseMatcher

        self.nlp = spacy.blank("en")
        self.batch_size = batch_size
        self.common_zipf = common_zipf
        self._stop_words = frozenset(w.lower() for w in STOP_WORDS)
        self._common_cache: dict[str, bool] = {}
        self._entries: dict[tuple[str, ...], _Entry] = {}

        for name, kind in names:
            if kind not in _KIND_RANK or kind == "movie":
                raise ValueError(f"unknown entity kind {kind!r} for {name!r}")
            if name and name.strip():
                for key in _name_variants(name):
                    self._add(key, _Candidate(name, kind))
        for item_id, title, year in movies:
            if not title or not title.strip():
                continue
            for key in _name_variants(title):
                self._add(key, _Candidate(item_id, "movie"))
                if year is not None:
                    self._add((*key, str(int(year))), _Candidate(item_id, "movie"))

        for key, entry in self._entries.items():
            # Sort candidates for deterministic output: kind first, then movies in catalog order, names by text.
            order = {cand: i for i, cand in enumerate(entry.candidates)}
            entry.candidates.sort(key=lambda c: (_KIND_RANK[c.kind], order[c] if c.kind == "movie" else 0, c.name))
            entry.common = all(self._is_common(piece) for piece in key)

        self.matcher = PhraseMatcher(self.nlp.vocab, attr="ORTH")
        keys = sorted(self._entries)
        for start in range(0, len(keys), 5000):
            chunk = keys[start : start + 5000]
            self.matcher.add("ENTITY", [self._make_doc(list(k)) for k in chunk])

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_items(cls, items: Iterable[Mapping], **kwargs) -> EntityLinker:
        """Build from ``items`` rows: actors, directors, genres, keywords, collection, and titles → item ids."""
        names: dict[tuple[str, str], None] = {}
        movies: list[tuple[str, str, int | None]] = []
        for item in items:
            for kind, column in (("actor", "actors"), ("director", "directors"), ("genre", "genres")):
                for value in item.get(column) or ():
                    names[(value, kind)] = None
            for value in item.get("keywords") or ():
                names[(value, "keyword")] = None
            if item.get("collection"):
                names[(item["collection"], "collection")] = None
            if item.get("item_id") and item.get("title"):
                movies.append((str(item["item_id"]), item["title"], item.get("year")))
        return cls(sorted(names), movies, **kwargs)

    def _add(self, key: tuple[str, ...], candidate: _Candidate) -> None:
        entry = self._entries.setdefault(key, _Entry())
        if candidate not in entry.candidates:
            entry.candidates.append(candidate)

    def _is_common(self, piece: str) -> bool:
        cached = self._common_cache.get(piece)
        if cached is None:
            if piece in self._stop_words or piece.isdigit() or len(piece) == 1:
                cached = True
            else:
                from wordfreq import zipf_frequency

                cached = zipf_frequency(piece, "en") >= self.common_zipf
            self._common_cache[piece] = cached
        return cached

    def _make_doc(self, words: list[str]):
        from spacy.tokens import Doc

        return Doc(self.nlp.vocab, words=words)

    @property
    def n_names(self) -> int:
        """How many distinct (normalised) names the matcher holds."""
        return len(self._entries)

    # ------------------------------------------------------------------ linking

    def link(self, text: str) -> list[str]:
        """Names of the KG entities (people, genres, keywords, collections) mentioned in ``text``."""
        return self.link_many([text])[0].entities

    def link_movies(self, text: str) -> list[str]:
        """Item ids of the movie titles mentioned in ``text``."""
        return self.link_many([text])[0].movies

    def words(self, text: str) -> list[str]:
        """The text's tokens, lowercased, punctuation and whitespace dropped (CRSLab's ``word``)."""
        return self._words(self.nlp.make_doc(text))

    def link_many(self, texts: Sequence[str] | Iterable[str]) -> list[Linked]:
        """Link a batch of texts (tokenized with ``nlp.pipe``-style batching); one :class:`Linked` per text."""
        return list(self.iter_link(texts))

    def iter_link(self, texts: Iterable[str]) -> Iterator[Linked]:
        """Lazy :meth:`link_many`."""
        for doc in self.nlp.tokenizer.pipe(texts, batch_size=self.batch_size):
            yield self._link_doc(doc)

    @staticmethod
    def _words(doc) -> list[str]:
        return [tok.lower_ for tok in doc if not (tok.is_punct or tok.is_space) and _PIECE.search(tok.text)]

    def _link_doc(self, doc) -> Linked:
        raw_pieces: list[str] = []
        owner: list[int] = []  # original token index of each piece
        first_in_token: list[bool] = []
        for tok in doc:
            pieces = _PIECE.findall(_fold(tok.text))
            if not pieces:
                continue
            for j, piece in enumerate(pieces):
                raw_pieces.append(piece)
                owner.append(tok.i)
                first_in_token.append(j == 0)
        words = self._words(doc)
        if not raw_pieces:
            return Linked([], [], words)
        lowered = [p.lower() for p in raw_pieces]
        norm_doc = self._make_doc(lowered)

        spans: list[tuple[int, int, list[_Candidate]]] = []
        for _, start, end in self.matcher(norm_doc):
            entry = self._entries.get(tuple(lowered[start:end]))
            if entry is None:  # pragma: no cover - every match comes from a key
                continue
            accepted = [
                c
                for c in entry.candidates
                if self._accept(entry, c, doc, raw_pieces, lowered, owner, first_in_token, start, end)
            ]
            if accepted:
                spans.append((start, end, accepted))

        # Longest match wins, then the earliest; overlapping shorter matches are dropped.
        spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
        taken = [False] * len(lowered)
        chosen: list[tuple[int, int, list[_Candidate]]] = []
        for start, end, cands in spans:
            if not any(taken[start:end]):
                chosen.append((start, end, cands))
                for i in range(start, end):
                    taken[i] = True
        chosen.sort(key=lambda s: s[0])

        entities: dict[str, None] = {}
        movies: dict[str, None] = {}
        for _, _, cands in chosen:
            for cand in cands:
                (movies if cand.kind == "movie" else entities)[cand.name] = None
        return Linked(list(entities), list(movies), words)

    def _accept(self, entry, cand, doc, raw_pieces, lowered, owner, first_in_token, start, end) -> bool:
        if not entry.common:
            return True
        if cand.kind == "genre" and end < len(lowered) and lowered[end] in _FILM_NOUNS:
            return True
        first = raw_pieces[start]
        if not first[:1].isupper():
            return False
        return not self._sentence_initial(doc, owner[start], first_in_token[start])

    @staticmethod
    def _sentence_initial(doc, token_index: int, first_piece: bool) -> bool:
        if not first_piece:
            return False
        i = token_index - 1
        while i >= 0:
            tok = doc[i]
            if tok.is_space:
                if "\n" in tok.text:
                    return True
                i -= 1
                continue
            if "\n" in tok.whitespace_:
                return True
            if _PIECE.search(tok.text):
                return False  # a word (abbreviations like "Dr." included) precedes
            if any(ch in _SENTENCE_END for ch in tok.text):
                return True
            i -= 1  # quotes, brackets, dashes: look further back
        return True
