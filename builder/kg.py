"""The ``kg`` config: (head, relation, tail) triples from the catalog.

Every triple has an item id as ``head`` and the entity *name* as ``tail``, with the same names the entity
linker (``builder.entity_linking``) finds in dialogues, so a linked entity is a KG node:

=============  ==========================================  ==================================
relation       tail                                        from the item's
=============  ==========================================  ==================================
``actor``      a person ("Tom Hanks")                      ``actors``
``director``   a person ("John Lasseter")                  ``directors``
``genre``      a genre ("Animation")                       ``genres``
``keyword``    a TMDB keyword ("space ranger")             ``keywords``
``collection`` a collection ("Toy Story Collection")       ``collection``
``year``       the release year as a string ("1995")       ``year``
=============  ==========================================  ==================================

Triples are deduplicated and sorted by (head, relation, tail), so the output depends only on the items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["RELATIONS", "kg_triples"]

#: Relation names, in the order their columns are read.
RELATIONS = ("actor", "director", "genre", "keyword", "collection", "year")

_LIST_COLUMNS = (("actor", "actors"), ("director", "directors"), ("genre", "genres"), ("keyword", "keywords"))


def _clean(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def kg_triples(items: Iterable[Mapping]) -> list[dict[str, str]]:
    """``[{"head": item_id, "relation": r, "tail": name}, ...]`` for every item, deduplicated, sorted."""
    triples: set[tuple[str, str, str]] = set()
    for item in items:
        head = _clean(item.get("item_id"))
        if head is None:
            continue
        for relation, column in _LIST_COLUMNS:
            for value in item.get(column) or ():
                tail = _clean(value)
                if tail is not None:
                    triples.add((head, relation, tail))
        collection = _clean(item.get("collection"))
        if collection is not None:
            triples.add((head, "collection", collection))
        year = item.get("year")
        if year is not None and str(year).strip():
            triples.add((head, "year", str(int(year)) if isinstance(year, (int, float)) else str(year).strip()))
    return [{"head": h, "relation": r, "tail": t} for h, r, t in sorted(triples)]
