"""The item catalog: Amazon meta items that have a usable title and a TMDB match.

Pure table transformations (no I/O): every dropped row is counted under a
reason so the prepare summary and the manifest can say where items went.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa

from distillrecdial_kit.generation.item_fields import ITEM_COLUMNS
from distillrecdial_kit.pipeline.problems import Problem

TMDB_SCHEMA = {
    "item_id": pl.String,
    "tmdb_id": pl.Int64,
    "tmdb_title": pl.String,
    "year": pl.Int32,
    "genres": pl.List(pl.String),
    "keywords": pl.List(pl.String),
    "actors": pl.List(pl.String),
    "directors": pl.List(pl.String),
    "overview": pl.String,
    "collection": pl.String,
    "origin_country": pl.List(pl.String),
    "visual_caption": pl.String,
    "line": pl.Int64,
}


_ARROW_TYPES = {
    pl.String: pa.string(),
    pl.Int64: pa.int64(),
    pl.Int32: pa.int32(),
    pl.List(pl.String): pa.list_(pa.string()),
}


def tmdb_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """Flattened TMDB records as a frame of ``TMDB_SCHEMA``, built column by column (rows of dicts are slow)."""
    columns = {
        name: pa.array([record[name] for record in records], _ARROW_TYPES[dtype]) for name, dtype in TMDB_SCHEMA.items()
    }
    return pl.from_arrow(pa.table(columns)).cast(TMDB_SCHEMA)


@dataclass
class StepCount:
    """Rows into and out of one filter step, with the reasons for the difference."""

    step: str
    rows_in: int
    rows_out: int
    dropped: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "in": self.rows_in, "out": self.rows_out, "dropped": self.dropped}


def usable_title(column: pl.Expr) -> pl.Expr:
    """A title is usable when it has at least one letter or digit."""
    return column.is_not_null() & column.str.contains(r"[\p{L}\p{N}]")


def duplicate_rows(frame: pl.DataFrame, keys: list[str], order: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split ``frame`` into (first row per ``keys`` by ``order``, the later duplicates)."""
    ranked = frame.sort(order).with_columns(pl.int_range(pl.len()).over(keys).alias("_rank"))
    return ranked.filter(pl.col("_rank") == 0).drop("_rank"), ranked.filter(pl.col("_rank") > 0).drop("_rank")


#: The first release kept an Amazon title when ``len(title) > 2``.
MIN_TITLE_CHARS = 3


def release_item_ids(meta: pl.DataFrame, tmdb: pl.DataFrame) -> tuple[pl.Series, dict[str, int]]:
    """The first release's items, and how many meta items each of its rules dropped.

    Its ``scripts/createDatasetToConversation_tmdb.py`` kept a meta row when its
    raw Amazon ``title`` was not null and longer than 2 characters (TMDB's title
    was no fallback) and the item had a TMDB record, whatever that record held.
    The title rule is applied to every meta row, as the release filtered rows:
    a repeated ``parent_asin`` qualifies when any of its rows does.
    """
    every = meta.select("item_id").unique()
    titled = meta.filter(pl.col("amazon_title_length") >= MIN_TITLE_CHARS).select("item_id").unique()
    matched = titled.join(tmdb.select("item_id").unique(), on="item_id", how="semi")
    dropped = {
        "short_or_no_amazon_title": every.height - titled.height,
        "no_tmdb_record": titled.height - matched.height,
    }
    return matched["item_id"], dropped


def build_catalog(
    meta: pl.DataFrame, tmdb: pl.DataFrame, meta_file: str, tmdb_file: str, profile: str = "default"
) -> tuple[pl.DataFrame, list[StepCount], list[Problem]]:
    """Join meta with TMDB on ``parent_asin`` = ``asin``; return items, step counts and problems.

    ``profile="release"`` keeps the items the first release kept (:func:`release_item_ids`).
    """
    steps: list[StepCount] = []
    problems: list[Problem] = []

    unique_meta, repeated = duplicate_rows(meta, ["item_id"], ["line"])
    problems += [
        Problem(meta_file, line, "duplicate_record", "parent_asin", item)
        for item, line in repeated.select("item_id", "line").iter_rows()
    ]
    steps.append(
        StepCount(
            "meta: one row per parent_asin",
            meta.height,
            unique_meta.height,
            {"duplicate_record": repeated.height} if repeated.height else {},
        )
    )

    joined = unique_meta.join(tmdb.drop("line"), on="item_id", how="left")
    titled = joined.with_columns(pl.coalesce("tmdb_title", "amazon_title").alias("title"))
    if profile == "release":
        item_ids, dropped = release_item_ids(meta, tmdb)
        matched = titled.filter(pl.col("item_id").is_in(item_ids.implode()))
        steps.append(
            StepCount(
                "catalog (release rules): Amazon title longer than 2 characters, with a TMDB record",
                unique_meta.height,
                matched.height,
                dropped,
            )
        )
    else:
        no_title = titled.filter(~usable_title(pl.col("title")))
        titled = titled.filter(usable_title(pl.col("title")))
        matched = titled.filter(pl.col("tmdb_id").is_not_null() | pl.col("tmdb_title").is_not_null())
        steps.append(
            StepCount(
                "catalog: titled items with a TMDB match",
                unique_meta.height,
                matched.height,
                {"no_title": no_title.height, "no_tmdb_match": titled.height - matched.height},
            )
        )

    orphans = tmdb.join(unique_meta.select("item_id"), on="item_id", how="anti")
    problems += [
        Problem(tmdb_file, line, "no_matching_item", "asin", item)
        for item, line in orphans.select("item_id", "line").iter_rows()
    ]

    items = matched.select(ITEM_COLUMNS).sort("item_id")
    return items, steps, problems
