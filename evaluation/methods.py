"""Recommenders behind one interface: ``fit(train)`` once, then ``score(examples)`` → scores over the full catalog.

- ``popularity``: how many train-split users interacted with each item (history + target in the k-core);
  the same list for everyone.
- ``item_knn``: item-item cosine similarity of co-interaction (binary user x item matrix of the k-core, every
  held-out target removed); an example's score is the summed similarity to the items named in its context plus
  the user's history where the persona's recommender is shown it. No such item → all scores equal (chance).
- ``bm25``: `bm25s` (Lucene BM25, k1=1.5, b=0.75, English stop words) over each item's facts (title, year,
  genres, keywords, actors, directors, collection, overview); the query is the seeker's utterances in the
  context. The index's term weights are bm25s's own; the query x catalog product is one sparse matrix product
  (equal to ``bm25s.BM25.get_scores`` per query, which a test checks).
- ``llm``: see :mod:`evaluation.llm`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import polars as pl
import scipy.sparse as sp

from distillrecdial_kit.evaluation.ranking import Catalog
from distillrecdial_kit.evaluation.tasks import RecExample
from distillrecdial_kit.generation.collaborative import cosine_item_similarity

__all__ = [
    "BM25",
    "ITEM_TEXT_FIELDS",
    "ItemKNN",
    "Method",
    "Popularity",
    "TrainData",
    "cosine_item_similarity",
    "item_documents",
]

ITEM_TEXT_FIELDS = ("title", "year", "genres", "keywords", "actors", "directors", "collection", "overview")


@dataclass
class TrainData:
    """What a method may learn from: the catalog, the train split's examples, the k-core interactions."""

    catalog: Catalog
    items: pl.DataFrame
    examples: list[RecExample]
    interactions: sp.csr_matrix  # users x items, binary, held-out targets removed
    train_users: np.ndarray  # bool per interaction row: the user's dialogue is in the train split
    location: str | None = None  # the dataset folder (for methods that read files, e.g. kbrd's CRSLab export)


class Method(Protocol):
    """A recommender evaluated by `evaluate`."""

    name: str

    def fit(self, train: TrainData) -> None: ...

    def score(self, examples: Sequence[RecExample]) -> np.ndarray:
        """``(len(examples), len(catalog))`` scores; higher = recommended first."""
        ...


class Popularity:
    name = "popularity"

    def fit(self, train: TrainData) -> None:
        counts = train.interactions[train.train_users].sum(axis=0)
        self.counts = np.asarray(counts, dtype=np.float64).ravel()

    def score(self, examples: Sequence[RecExample]) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(examples), self.counts.size))


class ItemKNN:
    name = "item_knn"

    def fit(self, train: TrainData) -> None:
        self.sim = cosine_item_similarity(train.interactions)
        self.catalog = train.catalog

    def score(self, examples: Sequence[RecExample]) -> np.ndarray:
        rows, cols = [], []
        for r, ex in enumerate(examples):
            for c in set(self.catalog.positions(ex.mentioned + ex.history)):
                rows.append(r)
                cols.append(c)
        query = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(examples), len(self.catalog))
        )
        return (query @ self.sim).toarray()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value if v)
    return str(value)


def item_documents(items: pl.DataFrame, fields: Sequence[str] = ITEM_TEXT_FIELDS) -> list[str]:
    """One text per catalog item (in the frame's order): its facts joined."""
    present = [f for f in fields if f in items.columns]
    columns = [items[f].to_list() for f in present]
    return [" ".join(_text(col[i]) for col in columns) for i in range(items.height)]


#: The item profile `--item-profile facts+rationales` adds: the RDRec rationales `distillrecdial rationales` wrote.
RATIONALE_FIELD = "item_rationales"


class BM25:
    name = "bm25"

    def __init__(self, query: str = "seeker", fields: Sequence[str] = ITEM_TEXT_FIELDS, name: str = "bm25") -> None:
        self.query = query  # "seeker": seeker utterances; "context": every utterance
        self.fields = tuple(fields)
        self.name = name

    def describe(self) -> dict[str, Any]:
        return {"item_profile": list(self.fields), "query": self.query}

    def fit(self, train: TrainData) -> None:
        import bm25s
        from bm25s.tokenization import Tokenizer

        missing = [f for f in self.fields if f not in train.items.columns]
        if RATIONALE_FIELD in missing:
            raise ValueError(
                f"the items config has no `{RATIONALE_FIELD}`: run `distillrecdial rationales` and `build` first"
            )
        self.tokenizer = Tokenizer(stopwords="en")
        ids = self.tokenizer.tokenize(
            item_documents(train.items, self.fields), update_vocab=True, return_as="ids", show_progress=False
        )
        self.retriever = bm25s.BM25()
        self.retriever.index(self.tokenizer.to_tokenized_tuple(ids), show_progress=False)
        s = self.retriever.scores
        self.weights = sp.csr_matrix(
            (s["data"], s["indices"], s["indptr"]), shape=(len(s["indptr"]) - 1, s["num_docs"])
        )

    def query_texts(self, examples: Sequence[RecExample]) -> list[str]:
        return [ex.seeker_text if self.query == "seeker" else ex.context_text for ex in examples]

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Scores of every catalog item for each query text (query terms counted with repetition, as bm25s)."""
        ids = self.tokenizer.tokenize(list(texts), update_vocab=False, return_as="ids", show_progress=False)
        rows = np.repeat(np.arange(len(ids)), [len(q) for q in ids])
        cols = np.fromiter((t for q in ids for t in q), dtype=np.int64, count=int(rows.size))
        query = sp.csr_matrix(
            (np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(len(ids), self.weights.shape[0])
        )
        return (query @ self.weights).toarray()

    def score(self, examples: Sequence[RecExample]) -> np.ndarray:
        return self.score_texts(self.query_texts(examples))


_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def words(text: str) -> list[str]:
    """Lowercased word tokens (letters/digits, inner apostrophes kept)."""
    return _WORD.findall(text.lower())
