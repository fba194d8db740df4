"""The first release's k-core rule (`prepare --profile release`); its item rules are in ``catalog``.

The published dataset was made by ``scripts/createDatasetToConversation_tmdb.py``
of swapUniba/DistillRecDial. Its user set follows from three rules, which
differ from this pipeline's defaults (README, "Profiles", lists each one);
rules 1 and 2 are ``catalog.release_item_ids``, rule 3 is here:

1. an Amazon meta item qualifies when its raw ``title`` is not null and is
   longer than 2 characters — TMDB's title is not a fallback, and a title of
   symbols counts;
2. the item must have a TMDB record (any record with that ``asin``);
3. the k-core runs on the ``5core_rating_only_Movies_and_TV`` ratings (or, when
   none are given, on every usable review line) and counts every row, repeats
   included; its users and items then pick the reviews that become targets and
   histories.
"""

from __future__ import annotations

import polars as pl

from distillrecdial_kit.generation.catalog import StepCount
from distillrecdial_kit.generation.kcore import kcore


def release_core(
    ratings: pl.DataFrame, unique_reviews: pl.DataFrame, item_ids: pl.Series, k: int, source: str
) -> tuple[pl.DataFrame, list[StepCount]]:
    """Rule 3: the k-core of ``ratings`` (every row counts) → the reviews of its users on its items."""
    in_catalog = ratings.filter(pl.col("item_id").is_in(item_ids.implode()))
    steps = [
        StepCount(
            f"{source}: item in catalog",
            ratings.height,
            in_catalog.height,
            {"item_not_in_catalog": ratings.height - in_catalog.height},
        )
    ]
    core, rounds = kcore(in_catalog.select("user_id", "item_id"), k)
    steps.append(
        StepCount(
            f"k-core on {source} (k={k}, {rounds} rounds, every row counts)",
            in_catalog.height,
            core.height,
            {"below_k": in_catalog.height - core.height},
        )
    )
    kept = unique_reviews.filter(
        pl.col("user_id").is_in(core["user_id"].unique().implode())
        & pl.col("item_id").is_in(core["item_id"].unique().implode())
    )
    steps.append(
        StepCount(
            "reviews: user and item in the k-core",
            unique_reviews.height,
            kept.height,
            {"outside_core": unique_reviews.height - kept.height},
        )
    )
    return kept, steps
