"""Reader for a ratings-only file, the input of the release's k-core (`prepare --profile release --ratings`).

The first release ran its k-core on Amazon Reviews 2023's
``5core_rating_only_Movies_and_TV`` (``benchmark/5core/rating_only/Movies_and_TV.csv``:
``user_id,parent_asin,rating,timestamp``). That CSV is read here; a JSONL file
in the review format is read by the review reader. Only users and items
matter to the k-core; a row without either is a problem, never fatal.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from distillrecdial_kit.generation import amazon
from distillrecdial_kit.generation.line_scan import read_source_bytes
from distillrecdial_kit.pipeline.manifest import sha256_file
from distillrecdial_kit.pipeline.problems import Problem, ProblemLog

RATING_COLUMNS = ("user_id", "parent_asin")


def read_ratings(path: Path, problems: ProblemLog) -> tuple[pl.DataFrame, str]:
    """``user_id``, ``item_id`` and ``line`` of every usable row, and the file's SHA-256."""
    data = read_source_bytes(path)
    if data.lstrip()[:1] == b"{":
        table, scan = amazon.read_reviews(path, problems)
        assert scan.sha256 is not None
        return pl.from_arrow(table).select("user_id", "item_id", "line"), scan.sha256
    frame = pl.read_csv(
        io.BytesIO(data), infer_schema=False, ignore_errors=True, truncate_ragged_lines=True
    ).with_row_index("line", offset=2)
    missing = [c for c in RATING_COLUMNS if c not in frame.columns]
    if missing:
        problems.add(Problem(path.name, 1, "missing_field", missing[0], detail="CSV header"))
        return pl.DataFrame(schema={"user_id": pl.String, "item_id": pl.String, "line": pl.Int64}), sha256_file(path)
    frame = frame.select(
        pl.col("user_id").str.strip_chars(), pl.col("parent_asin").str.strip_chars().alias("item_id"), "line"
    ).with_columns(pl.col("line").cast(pl.Int64))
    absent = {field: pl.col(field).is_null() | (pl.col(field) == "") for field in ("user_id", "item_id")}
    bad = frame.filter(absent["user_id"] | absent["item_id"])
    for user, line in bad.select("user_id", "line").iter_rows():
        field = "user_id" if not user else "parent_asin"
        problems.add(Problem(path.name, line, "missing_field", field))
    return frame.filter(~(absent["user_id"] | absent["item_id"])), sha256_file(path)
