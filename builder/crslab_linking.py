"""The `crslab` rows of valid plan rows, their turns entity-linked in one batched call per chunk.

A build links in worker processes (:func:`start_worker`, :func:`crslab_chunk`) or in its own process
(:func:`crslab_rows`). This module is apart from the row writing, which imports `datasets`, so that a
linking worker imports only what it runs: the rows, the linker and spaCy's tokenizer.
"""

from __future__ import annotations

import sys
from typing import Any

from distillrecdial_kit.builder.rows import crslab_row, resolve
from distillrecdial_kit.pipeline.collector import collect_rarely

#: What a `crslab` row is made of, of a plan row (all a linking worker is sent).
CRSLAB_INPUT = ("dialogue_id", "persona", "target_item", "turns", "split")
#: What a linking worker needs of each catalog item: the linker's names and the display title.
LINK_FIELDS = ("item_id", "title", "year", "actors", "directors", "genres", "keywords", "collection")


def linked_dialogs(linker: Any, rows: list[dict[str, Any]], catalog: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """Entity links for every turn of ``rows`` (tags resolved to titles first), in one batched linker call."""
    linked = linker.iter_link(resolve(turn["content"], catalog) for row in rows for turn in row["turns"])
    return [[next(linked) for _ in row["turns"]] for row in rows]


def crslab_rows(rows: list[dict[str, Any]], linker: Any, catalog: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The `crslab` rows of valid plan rows (their :data:`CRSLAB_INPUT` fields), linked in one batched call."""
    return [
        crslab_row(row, row["turns"], catalog, dialog)
        for row, dialog in zip(rows, linked_dialogs(linker, rows, catalog), strict=True)
    ]


#: A linking worker's catalog and linker (built once per worker process, not sent with every chunk).
_WORKER: dict[str, Any] = {}


def start_worker(catalog: dict[str, dict[str, Any]]) -> None:
    """Initialise a linking worker process with the catalog's :data:`LINK_FIELDS` (item id → fields)."""
    # spaCy's blank tokenizer needs no torch, but thinc imports it when it is installed (~1 s and ~200 MiB per
    # worker); marked absent in this process, which only links, thinc takes its path without torch.
    sys.modules.setdefault("torch", None)
    collect_rarely()
    from distillrecdial_kit.builder.entity_linking import EntityLinker

    _WORKER["catalog"] = catalog
    _WORKER["linker"] = EntityLinker.from_items(list(catalog.values()))


def crslab_chunk(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`crslab_rows` in a worker started by :func:`start_worker`."""
    return crslab_rows(rows, _WORKER["linker"], _WORKER["catalog"])
