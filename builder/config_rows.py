"""The rows of every config, computed from the build plan and the catalog, streamed to a :class:`HubWriter`.

One pass over the plan fills `raw`, `sft` and `crslab` (a dialogue's rows of every config in one visit);
`crslab`'s entity links are computed for :data:`LINK_CHUNK` dialogues at a time, so memory stays flat at
any corpus size. The catalog-sized configs (`items`, `kg`, `rationales`) and `walks` follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from distillrecdial_kit.builder.features import FEATURES
from distillrecdial_kit.builder.hub_folder import HubWriter
from distillrecdial_kit.builder.kg import kg_triples
from distillrecdial_kit.builder.rows import crslab_row, resolve, sft_row
from distillrecdial_kit.builder.walk_rows import walk_rows
from distillrecdial_kit.pipeline.background import batches, context, ordered_map
from distillrecdial_kit.pipeline.console import progress

#: Valid dialogues whose turns are linked in one call of the entity linker.
LINK_CHUNK = 2000
#: What a `crslab` row is made of, of a plan row (all a linking worker is sent).
_CRSLAB_INPUT = ("dialogue_id", "persona", "target_item", "turns", "split")


def raw_projection(row: dict[str, Any]) -> dict[str, Any]:
    """A plan row as the `raw` config publishes it (the plan's ``split`` is not a column)."""
    return {key: row[key] for key in FEATURES["raw"]}


def linked_dialogs(linker: Any, rows: list[dict[str, Any]], catalog: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """Entity links for every turn of ``rows`` (tags resolved to titles first), in one batched linker call."""
    linked = linker.iter_link(resolve(turn["content"], catalog) for row in rows for turn in row["turns"])
    return [[next(linked) for _ in row["turns"]] for row in rows]


#: What a linking worker needs of each catalog item: the linker's names and the display title.
_LINK_FIELDS = ("item_id", "title", "year", "actors", "directors", "genres", "keywords", "collection")
#: A linking worker's catalog and linker (built once per worker process, not sent with every chunk).
_WORKER: dict[str, Any] = {}


def _start_link_worker(catalog: dict[str, dict[str, Any]]) -> None:
    from distillrecdial_kit.builder.entity_linking import EntityLinker

    _WORKER["catalog"] = catalog
    _WORKER["linker"] = EntityLinker.from_items(list(catalog.values()))


def _crslab_rows(rows: list[dict[str, Any]], linker: Any, catalog: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The `crslab` rows of valid plan rows, their turns linked in one batched call."""
    return [
        crslab_row(row, row["turns"], catalog, dialog)
        for row, dialog in zip(rows, linked_dialogs(linker, rows, catalog), strict=True)
    ]


def _crslab_chunk(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return _crslab_rows(rows, _WORKER["linker"], _WORKER["catalog"])


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
                valid.append({key: row[key] for key in _CRSLAB_INPUT})
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
        slim = {item_id: {key: item.get(key) for key in _LINK_FIELDS} for item_id, item in catalog.items()}
        with context().Pool(workers, initializer=_start_link_worker, initargs=(slim,)) as pool:
            for valid, crslab in ordered_map(pool, _crslab_chunk, chunks, 2 * workers):
                for source, row in zip(valid, crslab, strict=True):
                    writer.add("crslab", source["split"], row)
        return
    linker = None
    for valid in chunks:
        if linker is None:
            from distillrecdial_kit.builder.entity_linking import EntityLinker

            linker = EntityLinker.from_items(list(catalog.values()))
        for source, row in zip(valid, _crslab_rows(valid, linker, catalog), strict=True):
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
