"""``prepare --with-rationales``: the user's distilled preferences in place of raw review text in prompts.

RDRec's point is that a review mixes what the user wants with plot summary and
noise; the ``user_prefers`` rationale keeps the first. Reviews without a usable
rationale keep their raw text, so no prompt loses information.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from distillrecdial_kit.generation.rationale_store import (
    MERGED_FILE,
    RATIONALES_DIR,
    load_rationales,
    user_prefers_by_review,
)
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.manifest import file_fingerprint, sha256_file


def attach_user_prefers(roles: pl.DataFrame, run: Path) -> tuple[pl.DataFrame, int]:
    """``roles`` with a ``user_prefers`` column (null where no usable rationale); and how many shown reviews got one."""
    path = run / RATIONALES_DIR / MERGED_FILE
    if not path.exists():
        raise StageError(f"{path} not found; run `distillrecdial rationales --run {run}` before --with-rationales")
    prefers = user_prefers_by_review(load_rationales(run))
    table = pl.DataFrame(
        {
            "user_id": [u for u, _ in prefers],
            "item_id": [i for _, i in prefers],
            "user_prefers": list(prefers.values()),
        },
        schema={"user_id": pl.String, "item_id": pl.String, "user_prefers": pl.String},
    )
    joined = roles.join(table, on=["user_id", "item_id"], how="left", maintain_order="left")
    shown = joined.filter((pl.col("role") != "earlier") & pl.col("user_prefers").is_not_null())
    return joined, shown.height


def rationales_fingerprint(run: Path) -> dict[str, object]:
    """How prepare's manifest names the rationales it rendered from (name, size, content hash)."""
    path = run / RATIONALES_DIR / MERGED_FILE
    return file_fingerprint(path, sha256_file(path))
