"""The rows of every config, computed from the build plan and the catalog, streamed to a :class:`HubWriter`.

One pass over the plan fills `raw`, `sft` and `crslab` (a dialogue's rows of every config in one visit);
`crslab`'s entity links are computed for :data:`LINK_CHUNK` dialogues at a time, so memory stays flat at
any corpus size. The catalog-sized configs (`items`, `kg`, `rationales`) and `walks` follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from distillrecdial_kit.builder.crslab_linking import CRSLAB_INPUT, LINK_FIELDS, crslab_chunk, crslab_rows, start_worker
from distillrecdial_kit.builder.features import FEATURES
from distillrecdial_kit.builder.hub_folder import HubWriter
from distillrecdial_kit.builder.kg import kg_triples
from distillrecdial_kit.builder.rows import sft_row
from distillrecdial_kit.builder.walk_rows import walk_rows
from distillrecdial_kit.pipeline.background import batches, context, ordered_map
from distillrecdial_kit.pipeline.console import progress

#: Valid dialogues whose turns are linked in one call of the entity linker.
LINK_CHUNK = 2000


def raw_projection(row: dict[str, Any]) -> dict[str, Any]:
    """A plan row as the `raw` config publishes it (the plan's ``split`` is not a column)."""
    return {key: row[key] for key in FEATURES["raw"]}


def _valid_chunks(
    plan_rows: Iterable[dict[str, Any]], catalog: dict[str, dict[str, Any]], writer: HubWriter
) -> Iterator[list[dict[str, Any]]]:
    """The valid plan rows, :data:`LINK_CHUNK` plan rows at a time (what `crslab` needs of each), writing
    every row's `raw` row and each valid one's `sft` row on the way."""
    for chunk in batches(plan_rows, LINK_CHUNK):
        valid = []
        for row in chunk:
            writer.add("raw", row["split"], raw_projection(row))
            if row["valid"]:
                writer.add("sft", row["split"], sft_row(row, row["turns"], catalog))
                valid.append({key: row[key] for key in CRSLAB_INPUT})
        if valid:
            yield valid


def write_dialogue_configs(
    plan_rows: Iterable[dict[str, Any]],
    catalog: dict[str, dict[str, Any]],
    writer: HubWriter,
    total: int,
    workers: int = 1,
) -> None:
    """`raw` (every dialogue), `sft` and `crslab` (valid ones) of each plan row, in plan order per split.

    With ``workers`` > 1 the `crslab` rows (entity linking, the heaviest part) are made by that many worker
    processes, one chunk per task, and written in plan order as they come back.
    """
    rows = progress(plan_rows, total=total, desc="build: rows", unit="dlg", disable=None)
    chunks = _valid_chunks(rows, catalog, writer)
    if workers > 1:
        slim = {item_id: {key: item.get(key) for key in LINK_FIELDS} for item_id, item in catalog.items()}
        with context().Pool(workers, initializer=start_worker, initargs=(slim,)) as pool:
            for valid, crslab in ordered_map(pool, crslab_chunk, chunks, 2 * workers):
                for source, row in zip(valid, crslab, strict=True):
                    writer.add("crslab", source["split"], row)
        return
    linker = None
    for valid in chunks:
        if linker is None:
            from distillrecdial_kit.builder.entity_linking import EntityLinker

            linker = EntityLinker.from_items(list(catalog.values()))
        for source, row in zip(valid, crslab_rows(valid, linker, catalog), strict=True):
            writer.add("crslab", source["split"], row)


def item_rows(items: list[dict[str, Any]], rationales: dict[str, list[str]]) -> Iterator[dict[str, Any]]:
    """The `items` config: the catalog with each item's rationales."""
    for item in items:
        row = {**item, "item_rationales": rationales.get(item["item_id"], [])}
        yield {key: row.get(key) for key in FEATURES["items"]}


def rationale_rows(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The `rationales` config: one row per distilled review, the generator without package versions."""
    provenance = FEATURES["rationales"]["generator"]
    for record in records:
        row = {key: record.get(key) for key in FEATURES["rationales"]}
        row["generator"] = {key: record["generator"].get(key) for key in provenance}
        yield row


def write_catalog_configs(run: Path, items: list[dict[str, Any]], writer: HubWriter) -> None:
    """`items`, `kg` and (when the run has them) `rationales`: one `train` table each."""
    from distillrecdial_kit.generation.rationale_store import item_rationales, load_rationales

    records = load_rationales(run)
    writer.extend("items", "train", item_rows(items, item_rationales(records)))
    writer.extend("kg", "train", kg_triples(items))
    if "rationales" in writer.writers:
        writer.extend("rationales", "train", rationale_rows(records))


def write_walks(
    run: Path, roles: list[str], splits: dict[str, str], items: set[str], writer: HubWriter
) -> list[dict[str, Any]]:
    """`walks`: the walk dialogues of ``roles``, each in its user's split; returns them (with ``split``)."""
    rows = walk_rows(run, roles, splits, items)
    for row in rows:
        writer.add("walks", row["split"], {key: row[key] for key in FEATURES["walks"]})
    return rows
