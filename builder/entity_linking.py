"""Link the catalog's entities (people, genres, keywords, collections, movie titles) in dialogue text.

One :class:`EntityLinker` is built from the ``items`` rows (``EntityLinker.from_items(items)``) and matches
every entity name in one pass over each text (the entity behind a match is found from the matched pieces, so
adding 160k names costs nothing per text).

Two matchers share the names, the semantics and the choice of matches below. :class:`EntityLinker` (the one
every stage uses) finds the names with an Aho-Corasick automaton (``pyahocorasick``) over the turn's
normalised pieces joined by single spaces, accepting only hits that start and end on a piece boundary; spaCy's
tokenizer still decides the pieces (its token boundaries matter: "don't" is "do" + "n't"), but it runs once
per distinct whitespace-separated chunk, whose tokens never depend on the text around it, and the result is
cached. That makes it about 4× faster than :class:`PhraseMatcherLinker`, the first implementation (one
``PhraseMatcher`` pass over a second ``Doc`` of pieces per turn), which stays as the reference the tests and
``benchmarks/bench_entity_linking.py`` compare it with, link for link.

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

import bisect
import itertools
import operator
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, NamedTuple

__all__ = ["KIND_ORDER", "EntityLinker", "Linked", "PhraseMatcherLinker", "normalise_pieces"]

#: Kinds of non-movie entities, in the order their names are listed when one span names several.
KIND_ORDER = ("actor", "director", "genre", "keyword", "collection")
_KIND_RANK = {kind: rank for rank, kind in enumerate(("movie", *KIND_ORDER))}

_FILM_NOUNS = frozenset(
    {"movie", "movies", "film", "films", "flick", "flicks", "show", "shows", "series", "picture", "pictures"}
)
_PIECE = re.compile(r"[^\W_]+")
_SENTENCE_END = frozenset(".!?")
_SPAN_ORDER = operator.itemgetter(0, 1)  # (first piece, end) of a span


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


# The linker's long-lived records are named tuples of strings, numbers and tuples, not class instances: the
# garbage collector stops tracking such tuples, so the collections that linking many turns sets off do not walk
# the hundreds of thousands of names and learnt chunks again and again.


class _Candidate(NamedTuple):
    name: str  # entity name (for a movie: its item id)
    kind: str  # "movie" or one of KIND_ORDER


class _Entry(NamedTuple):
    candidates: tuple[_Candidate, ...]  # kind first, then movies in catalog order, names by text
    common: bool  # every piece an ordinary English word (see the module doc)


#: A name found in a text: (index of its first piece, its number of pieces, its entry, the index of the space
#: that closes it in the text's joined pieces).
_Hit = tuple[int, int, _Entry, int]


@dataclass(slots=True)
class Linked:
    """What one text links: KG entity names, movie item ids (both in order of appearance, deduplicated), words."""

    entities: list[str]
    movies: list[str]
    words: list[str]


class _Names:
    """The catalog's names as normalised piece sequences, their candidates and common-word flags.

    Everything both matchers share: how names are normalised and which match is kept. Subclasses only find
    where the keys occur (:meth:`iter_link`).
    """

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

        self.nlp = spacy.blank("en")
        self.batch_size = batch_size
        self.common_zipf = common_zipf
        self._stop_words = frozenset(w.lower() for w in STOP_WORDS)
        self._common_cache: dict[str, bool] = {}
        found: dict[tuple[str, ...], dict[_Candidate, None]] = {}  # each key's candidates, in the order met

        def add(key: tuple[str, ...], candidate: _Candidate) -> None:
            found.setdefault(key, {}).setdefault(candidate)

        for name, kind in names:
            if kind not in _KIND_RANK or kind == "movie":
                raise ValueError(f"unknown entity kind {kind!r} for {name!r}")
            if name and name.strip():
                for key in _name_variants(name):
                    add(key, _Candidate(name, kind))
        for item_id, title, year in movies:
            if not title or not title.strip():
                continue
            for key in _name_variants(title):
                add(key, _Candidate(item_id, "movie"))
                if year is not None:
                    add((*key, str(int(year))), _Candidate(item_id, "movie"))

        self._entries: dict[tuple[str, ...], _Entry] = {}
        for key, met in found.items():
            # Sort candidates for deterministic output: kind first, then movies in catalog order, names by text.
            order = {cand: i for i, cand in enumerate(met)}
            ranked = sorted(met, key=lambda c: (_KIND_RANK[c.kind], order[c] if c.kind == "movie" else 0, c.name))
            self._entries[key] = _Entry(tuple(ranked), all(self._is_common(piece) for piece in key))
        self._build()

    def _build(self) -> None:
        """Index ``self._entries`` for matching."""
        raise NotImplementedError

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_items(cls, items: Iterable[Mapping], **kwargs: Any) -> Any:
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
        """Link a batch of texts; one :class:`Linked` per text."""
        return list(self.iter_link(texts))

    def iter_link(self, texts: Iterable[str]) -> Iterator[Linked]:
        """Lazy :meth:`link_many`."""
        raise NotImplementedError

    @staticmethod
    def _words(doc) -> list[str]:
        return [tok.lower_ for tok in doc if not (tok.is_punct or tok.is_space) and _PIECE.search(tok.text)]

    @staticmethod
    def _choose(spans: list[tuple[int, int, Sequence[_Candidate]]], words: list[str]) -> Linked:
        """Longest match wins, then the earliest; overlapping shorter matches are dropped."""
        if not spans:
            return Linked([], [], words)
        chosen = sorted(spans, key=_SPAN_ORDER)
        # Some span starts before the one before it ends: resolve the overlaps.
        if len(chosen) > 1 and any(map(operator.lt, [s[0] for s in chosen[1:]], [s[1] for s in chosen[:-1]])):
            spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
            taken: set[int] = set()
            chosen = []
            for start, end, cands in spans:
                if taken.isdisjoint(range(start, end)):
                    chosen.append((start, end, cands))
                    taken.update(range(start, end))
            chosen.sort(key=lambda s: s[0])

        entities: dict[str, None] = {}
        movies: dict[str, None] = {}
        for _, _, cands in chosen:
            for cand in cands:
                (movies if cand.kind == "movie" else entities)[cand.name] = None
        return Linked(list(entities), list(movies), words)


class PhraseMatcherLinker(_Names):
    """The first matcher: spaCy's ``PhraseMatcher`` over a ``Doc`` of each turn's pieces (the reference)."""

    def _build(self) -> None:
        from spacy.matcher import PhraseMatcher

        self.matcher = PhraseMatcher(self.nlp.vocab, attr="ORTH")
        keys = sorted(self._entries)
        for start in range(0, len(keys), 5000):
            chunk = keys[start : start + 5000]
            self.matcher.add("ENTITY", [self._make_doc(list(k)) for k in chunk])

    def iter_link(self, texts: Iterable[str]) -> Iterator[Linked]:
        for doc in self.nlp.tokenizer.pipe(texts, batch_size=self.batch_size):
            yield self._link_doc(doc)

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

        spans: list[tuple[int, int, Sequence[_Candidate]]] = []
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
        return self._choose(spans, words)

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


class _Chunk(NamedTuple):
    """A whitespace-free stretch of text as spaCy tokenizes it (the same wherever it occurs)."""

    joined: str  # its pieces, lowercased, joined by single spaces: what names are matched against
    words: tuple[str, ...]  # CRSLab's words of its tokens
    raw: tuple[str, ...]  # pieces as written (capitalisation decides common names)
    first: tuple[bool, ...]  # per piece: the first piece of its token
    token: tuple[int, ...]  # per piece: its token's index in the chunk
    has_piece: tuple[bool, ...]  # per token: holds a word (so a sentence did not just start)
    ends_sentence: tuple[bool, ...]  # per token: holds . ! or ?


#: A word of ASCII letters, maybe with a closing , ! ? or (after a lowercase letter) period: spaCy's English
#: tokenizer always makes it the word and that mark, unless a special case (``tokenizer.rules``: "Mr.",
#: "cannot", "gonna") says otherwise. Such chunks skip spaCy; tests check the shortcut against it.
_PLAIN = re.compile(r"([A-Za-z]+)([,!?]|(?<=[a-z])\.)?")


def _plain_chunk(word: str, mark: str) -> _Chunk:
    """What spaCy would make of a :data:`_PLAIN` chunk, without asking it."""
    lowered = word.lower()
    return _Chunk(
        joined=lowered,
        words=(lowered,),
        raw=(word,),
        first=(True,),
        token=(0,),
        has_piece=(True, False) if mark else (True,),
        ends_sentence=(False, mark in _SENTENCE_END) if mark else (False,),
    )


class EntityLinker(_Names):
    """Find catalog entities in text with an Aho-Corasick automaton; see the module doc for the semantics.

    Links exactly what :class:`PhraseMatcherLinker` links, several times faster. Names are stored as
    " piece piece " with a space on each side, and a turn is scanned as its pieces joined the same way, so
    every hit is a whole-piece match, overlapping ones included, found in one pass whatever the number of
    names. spaCy tokenizes each distinct chunk once (up to ``chunk_cache`` chunks are kept; a dialogue
    corpus repeats its words, so most turns never reach spaCy).
    """

    chunk_cache = 1_000_000

    def _build(self) -> None:
        import ahocorasick

        self._automaton = ahocorasick.Automaton()
        for key, entry in self._entries.items():
            self._automaton.add_word(f" {' '.join(key)} ", (len(key), entry))
        if self._entries:
            self._automaton.make_automaton()
        self._special = frozenset(self.nlp.tokenizer.rules)  # spaCy's special cases ("Mr.", "cannot")
        # Each learnt chunk, and (so that a turn is put together with C-level maps) its fields the turns read.
        self._chunks: dict[str, _Chunk] = {}
        self._size_of: dict[str, int] = {}  # its number of pieces
        self._joined_of: dict[str, str] = {}
        self._words_of: dict[str, tuple[str, ...]] = {}
        self.forget()

    def words(self, text: str) -> list[str]:
        chunks = text.split()
        self._learn(set(chunks))
        return list(chain.from_iterable(map(self._words_of.__getitem__, chunks)))

    def iter_link(self, texts: Iterable[str]) -> Iterator[Linked]:
        """Texts ``batch_size`` at a time: the batch's new chunks go through spaCy together, in one ``Doc``, and
        the automaton scans the whole batch in one call (a call per text costs more than the scan itself)."""
        batch: list[str] = []
        for text in itertools.chain(texts, [None]):
            if text is not None:
                batch.append(text)
                if len(batch) < self.batch_size:
                    continue
            split = [t.split() for t in batch]
            self._learn(set().union(*split))
            joined_of, words_of = self._joined_of, self._words_of
            joined: list[str] = []
            words: list[list[str]] = []
            for chunks in split:
                # One C call fetches all the turn's chunks (the "" key, no chunk, keeps the result a tuple).
                pick = operator.itemgetter("", *chunks)
                joined.append(f" {' '.join(filter(None, pick(joined_of)))} ")
                words.append(list(chain.from_iterable(pick(words_of))))
            for t, chunks, pieces, hits, turn_words in zip(
                batch, split, joined, self._hits(joined), words, strict=True
            ):
                yield self._link_text(t, chunks, pieces, hits, turn_words)
            batch = []

    def _hits(self, joined: list[str]) -> list[list[_Hit]]:
        """Each text's name occurrences, from one scan of the texts joined by line breaks (no name holds one,
        so no hit straddles two texts)."""
        found: list[list[_Hit]] = [[] for _ in joined]
        if not self._entries or not joined:
            return found
        scanned = "\n".join(joined)
        limits = list(itertools.accumulate(len(text) + 1 for text in joined))  # where each text's "\n" ends
        text, start, limit = 0, 0, limits[0]
        for end_char, (size, entry) in self._automaton.iter(scanned):
            while end_char >= limit:  # hits come in the order of their last character
                text, start = text + 1, limit
                limit = limits[text]
            found[text].append((scanned.count(" ", start, end_char - 1) - size, size, entry, end_char - start))
        return found

    def _learn(self, chunks: set[str]) -> None:
        """Tokenize the chunks not seen yet: together, in one ``Doc`` (a chunk's tokens never depend on others)."""
        missing = chunks.difference(self._joined_of)
        if missing:
            if len(self._chunks) + len(missing) > self.chunk_cache:
                self.forget()
                missing = set(chunks)  # the batch's known chunks went with the rest
            rules = self._special
            for text in list(missing):
                plain = _PLAIN.fullmatch(text)
                if plain and text not in rules and plain[1] not in rules:
                    self._keep(text, _plain_chunk(plain[1], plain[2] or ""))
                    missing.discard(text)
            ordered = sorted(missing)
            tokens: list[list[Any]] = [[] for _ in ordered]
            n = 0
            for tok in self.nlp.make_doc(" ".join(ordered)):
                tokens[n].append(tok)
                n += tok.whitespace_ == " "
            for text, toks in zip(ordered, tokens, strict=True):
                self._keep(text, self._chunk(toks))

    def forget(self) -> None:
        """Empty the cache of learnt chunks (links stay the same; the next turns are tokenized afresh)."""
        for learnt in (self._chunks, self._size_of, self._joined_of, self._words_of):
            learnt.clear()
        self._joined_of[""], self._words_of[""] = "", ()  # what :meth:`iter_link` adds to every turn's chunks

    def _keep(self, text: str, chunk: _Chunk) -> None:
        self._chunks[text] = chunk
        self._size_of[text] = len(chunk.raw)
        self._joined_of[text] = chunk.joined
        self._words_of[text] = chunk.words

    @staticmethod
    def _chunk(tokens: list[Any]) -> _Chunk:
        raw: list[str] = []
        first: list[bool] = []
        token: list[int] = []
        texts = [tok.text for tok in tokens]
        for i, text in enumerate(texts):
            for j, piece in enumerate(_PIECE.findall(_fold(text))):
                raw.append(piece)
                first.append(j == 0)
                token.append(i)
        has_piece = tuple(bool(_PIECE.search(text)) for text in texts)
        return _Chunk(
            joined=" ".join(p.lower() for p in raw),
            words=tuple(tok.lower_ for tok, has in zip(tokens, has_piece, strict=True) if has and not tok.is_punct),
            raw=tuple(raw),
            first=tuple(first),
            token=tuple(token),
            has_piece=has_piece,
            ends_sentence=tuple(any(ch in _SENTENCE_END for ch in text) for text in texts),
        )

    def _link_text(self, text: str, chunks: list[str], joined: str, hits: list[_Hit], words: list[str]) -> Linked:
        """Link one text from its chunks (``text.split()``, all learnt), their pieces joined, the names found in
        them and its words."""
        if not hits:
            return Linked([], [], words)
        spans: list[tuple[int, int, Sequence[_Candidate]]] = []
        layout: _Layout | None = None
        for start, size, entry, last in hits:
            if not entry.common:
                spans.append((start, start + size, entry.candidates))
                continue
            # The common-word policy: capitalised and not opening a sentence, or a genre before a film noun.
            if layout is None:
                layout = _Layout(text, chunks, self._chunks, self._size_of)
            named = layout.capitalised(start) and not layout.sentence_initial(start)
            film = not named and joined[last + 1 : joined.find(" ", last + 1)] in _FILM_NOUNS
            accepted = [c for c in entry.candidates if named or (film and c.kind == "genre")]
            if accepted:
                spans.append((start, start + size, accepted))
        return self._choose(spans, words)


class _Layout:
    """Where a turn's pieces sit among its chunks, tokens and gaps: what "opens a sentence" looks back over."""

    def __init__(self, text: str, chunks: list[str], learnt: Mapping[str, _Chunk], sizes: Mapping[str, int]) -> None:
        """``chunks``: ``text.split()``; ``learnt``: what each chunk is; ``sizes``: each chunk's number of pieces."""
        self.text = text
        self.chunks = chunks
        self.learnt = learnt
        self.bounds = list(itertools.accumulate(map(sizes.__getitem__, chunks)))  # pieces up to each chunk's end
        self._gaps: list[str] | None = None

    def _locate(self, piece: int) -> tuple[int, int]:
        """(chunk, piece within it) of the turn's ``piece``-th piece."""
        n = bisect.bisect_right(self.bounds, piece)
        return n, piece - (self.bounds[n - 1] if n else 0)

    def capitalised(self, piece: int) -> bool:
        n, local = self._locate(piece)
        return self.learnt[self.chunks[n]].raw[local][:1].isupper()

    def sentence_initial(self, piece: int) -> bool:
        """Whether the piece opens a sentence: nothing but punctuation since a . ! ? or a line break."""
        n, local = self._locate(piece)
        chunk = self.learnt[self.chunks[n]]
        if not chunk.first[local]:
            return False
        token = chunk.token[local]
        while True:
            for i in range(token - 1, -1, -1):
                if chunk.has_piece[i]:
                    return False  # a word (abbreviations like "Dr." included) precedes
                if chunk.ends_sentence[i]:
                    return True
            if n == 0:
                return True
            if self._gaps is None:
                self._gaps = re.findall(r"\s+", self.text.strip())  # the whitespace between consecutive chunks
            if "\n" in self._gaps[n - 1]:
                return True
            n -= 1
            chunk = self.learnt[self.chunks[n]]
            token = len(chunk.has_piece)
