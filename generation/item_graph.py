"""The item graph that walks move along: movies joined by curated structure and by their audience.

Five relations, each a weighted item → item adjacency kept as ``scipy.sparse`` CSR:

=================  ===========================================================
``same_collection``  both belong to one TMDB collection (weight 1)
``same_director``    they share directors (weight: how many)
``shared_actor``     they share top-billed actors (weight: how many)
``shared_keyword``   they share TMDB keywords (weight: how many)
``co_interaction``   k-core users liked both (weight: how many users)
=================  ===========================================================

Each relation is an incidence matrix ``B`` (items × values) multiplied by its
transpose, one block of rows at a time, and pruned to each item's
``neighbours`` heaviest partners, so memory stays proportional to the kept
edges. A value held by more than ``max_share`` items (a keyword like "sequel",
a user who liked everything) is too generic to explain a move and is left out.
Target interactions never enter ``co_interaction``: the graph must not
already know where each user ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

RELATIONS = ("same_collection", "same_director", "shared_actor", "shared_keyword", "co_interaction")
#: Catalog column behind each attribute relation.
RELATION_COLUMNS = {
    "same_collection": "collection",
    "same_director": "directors",
    "shared_actor": "actors",
    "shared_keyword": "keywords",
}
_ROW_BLOCK = 8192
#: The packed sort key holds rows and columns below 2**20 items and weights (counts) capped at 2**21 - 1.
_KEY_LIMIT = 1 << 20
_MAX_WEIGHT = (1 << 21) - 1


@dataclass(frozen=True)
class GraphOptions:
    """What decides the graph's edges."""

    neighbours: int = 10
    max_share: int = 100

    def as_dict(self) -> dict[str, int]:
        return {"neighbours": self.neighbours, "max_share": self.max_share}


@dataclass
class ItemGraph:
    """Items (by index) and the union of the relations as one CSR: entries sorted by (source, target, relation)."""

    item_ids: list[str]
    index: dict[str, int]
    indptr: np.ndarray  # int64, len n + 1
    targets: np.ndarray  # int32 column of each edge
    relations: np.ndarray  # int8 index into RELATIONS
    weights: np.ndarray  # float32
    reverse: sp.csr_matrix  # target → sources (structure only), for walking back from a target

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_edges(self) -> int:
        return int(self.targets.size)

    def edges_from(self, item: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(targets, relation codes, weights) of the edges leaving ``item``."""
        lo, hi = self.indptr[item], self.indptr[item + 1]
        return self.targets[lo:hi], self.relations[lo:hi], self.weights[lo:hi]

    def has_edge(self, source: str, target: str, relation: str) -> bool:
        """Whether ``source`` → ``target`` is an edge of ``relation`` (what a walk's step claims)."""
        if source not in self.index or target not in self.index or relation not in RELATIONS:
            return False
        cols, rels, _ = self.edges_from(self.index[source])
        return bool(np.any((cols == self.index[target]) & (rels == RELATIONS.index(relation))))

    def edge_counts(self) -> dict[str, int]:
        counts = np.bincount(self.relations, minlength=len(RELATIONS))
        return {name: int(n) for name, n in zip(RELATIONS, counts, strict=True)}


def incidence(keys: Sequence[int], values: Sequence[Any], n_rows: int, max_share: int) -> sp.csr_matrix:
    """Rows × distinct values, one per (row, value) pair; values held by more than ``max_share`` rows dropped."""
    if not len(keys):
        return sp.csr_matrix((n_rows, 0), dtype=np.float32)
    frame = pl.DataFrame({"row": np.asarray(keys, dtype=np.int64), "value": list(values)}).unique()
    frame = frame.with_columns(pl.len().over("value").alias("share")).filter(
        (pl.col("share") > 1) & (pl.col("share") <= max_share)
    )
    codes = frame["value"].rank("dense").to_numpy().astype(np.int64) - 1 if frame.height else np.zeros(0, np.int64)
    n_values = int(codes.max()) + 1 if codes.size else 0
    data = np.ones(frame.height, dtype=np.float32)
    return sp.csr_matrix((data, (frame["row"].to_numpy(), codes)), shape=(n_rows, n_values))


def top_neighbours(block: sp.csr_matrix, first_row: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` heaviest off-diagonal entries of each row of ``block`` (ties: lower column first), as COO."""
    rows = np.repeat(np.arange(first_row, first_row + block.shape[0], dtype=np.int64), np.diff(block.indptr))
    keep = rows != block.indices
    rows, cols, data = rows[keep], block.indices[keep].astype(np.int64), block.data[keep]
    if not rows.size:
        return rows, cols, data
    if rows.max() < _KEY_LIMIT and cols.max() < _KEY_LIMIT:
        # One int64 key (row, heavier first, lower column first): far faster than a three-key lexsort.
        heavier = np.int64(_MAX_WEIGHT) - np.minimum(np.rint(data), _MAX_WEIGHT).astype(np.int64)
        order = np.argsort((rows << 43) | (heavier << 22) | cols)
    else:
        order = np.lexsort((cols, -data, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, rows.size]))
    keep = (np.arange(rows.size) - run_start) < k
    return rows[keep], cols[keep], data[keep]


def relation_edges(b: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` partners of every item under ``B @ B.T``, computed in row blocks to bound memory."""
    bt = b.T.tocsr()
    parts = [top_neighbours(b[start : start + _ROW_BLOCK] @ bt, start, k) for start in range(0, b.shape[0], _ROW_BLOCK)]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))  # type: ignore[return-value]


def _exploded(items: pl.DataFrame, column: str) -> tuple[np.ndarray, list[Any]]:
    """(row index, value) for every value of a list or scalar catalog column; empty values skipped."""
    frame = items.select(pl.int_range(pl.len()).alias("row"), pl.col(column))
    if isinstance(frame.schema[column], pl.List):
        frame = frame.explode(column)
    frame = frame.filter(pl.col(column).is_not_null() & (pl.col(column).cast(pl.String) != ""))
    return frame["row"].to_numpy(), frame[column].to_list()


def build_graph(
    items: pl.DataFrame, liked: Iterable[tuple[str, str]] | pl.DataFrame, options: GraphOptions = GraphOptions()
) -> ItemGraph:
    """The item graph of a catalog (``items.parquet`` columns) and (user, item) likes outside any target."""
    item_ids = items["item_id"].to_list()
    index = {item: n for n, item in enumerate(item_ids)}
    n = len(item_ids)
    rows, cols, rels, weights = [], [], [], []
    for code, relation in enumerate(RELATIONS):
        if relation == "co_interaction":
            likes = (
                liked
                if isinstance(liked, pl.DataFrame)
                else pl.DataFrame(list(liked), schema={"user_id": pl.String, "item_id": pl.String}, orient="row")
            )
            likes = likes.filter(pl.col("item_id").is_in(list(index)))
            keys = likes["item_id"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
            b = incidence(keys, likes["user_id"].to_list(), n, options.max_share)
        elif RELATION_COLUMNS[relation] in items.columns:
            keys, values = _exploded(items, RELATION_COLUMNS[relation])
            b = incidence(keys, values, n, options.max_share)
        else:
            continue
        r, c, w = relation_edges(b, options.neighbours)
        rows.append(r)
        cols.append(c)
        rels.append(np.full(r.size, code, dtype=np.int8))
        weights.append(w.astype(np.float32))
    return assemble(item_ids, index, rows, cols, rels, weights)


def assemble(
    item_ids: list[str],
    index: dict[str, int],
    rows: list[np.ndarray],
    cols: list[np.ndarray],
    rels: list[np.ndarray],
    weights: list[np.ndarray],
) -> ItemGraph:
    """One CSR over every relation's edges, sorted by (source, target, relation)."""
    n = len(item_ids)
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    rel = np.concatenate(rels) if rels else np.zeros(0, np.int8)
    weight = np.concatenate(weights) if weights else np.zeros(0, np.float32)
    if n < _KEY_LIMIT:
        order = np.argsort((row << 24) | (col << 3) | rel.astype(np.int64), kind="stable")
    else:
        order = np.lexsort((rel, col, row))
    row, col, rel, weight = row[order], col[order], rel[order], weight[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
    reverse = sp.csr_matrix((np.ones(row.size, dtype=np.int8), (col, row)), shape=(n, n))
    reverse.sum_duplicates()
    return ItemGraph(item_ids, index, indptr, col.astype(np.int32), rel, weight, reverse)


def shared_values(a: dict[str, Any], b: dict[str, Any], relation: str) -> list[str]:
    """The catalog values two items share under an attribute relation (the fact that explains a move)."""
    column = RELATION_COLUMNS.get(relation)
    if column is None:
        return []
    left, right = a.get(column), b.get(column)
    if left is None or right is None:
        return []
    if not isinstance(left, list):
        return [left] if left == right and left != "" else []
    other = set(right)
    return [value for value in left if value in other]
