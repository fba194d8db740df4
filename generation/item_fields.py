"""The fields of a catalog item, named once: what ``items.parquet`` holds and what a prompt may show of an item.

`prepare` writes :data:`ITEM_COLUMNS`; the personas choose among :data:`ITEM_FACTS`; `select` describes an item
by its :data:`LIST_FACTS` (and collection).
"""

from __future__ import annotations

#: What a prompt can show of a movie (each persona shows a subset), in the catalog's order.
ITEM_FACTS = (
    "title",
    "year",
    "genres",
    "keywords",
    "actors",
    "directors",
    "overview",
    "collection",
    "visual_caption",
)
#: The facts that are lists of names (one item has many).
LIST_FACTS = ("genres", "keywords", "actors", "directors")
#: Columns of ``items.parquet``, in order: the id, the facts, then provenance and the Amazon side.
ITEM_COLUMNS = (
    "item_id",
    *ITEM_FACTS,
    "origin_country",
    "tmdb_id",
    "amazon_title",
    "store",
    "average_rating",
    "rating_number",
)
