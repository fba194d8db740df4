"""Entity-linking throughput: ``EntityLinker`` (one PhraseMatcher pass per turn) vs a naive per-entity scan.

Synthetic but realistic: the entity set is every name of the embedded sample's 145 real movies (people, genres,
keywords, collections) plus invented multi-word names up to ``--names`` in all; the turns are sentences from
the catalog's overviews and captions with one to three of those names dropped in. The naive baseline checks,
for every turn, every name with a substring search on the same normalised text (lowercase alphanumeric pieces
joined by spaces, so it finds whole-word matches, like the linker), then drops names covered by a longer one.
Both must find the same entities on a sample of turns; names the linker treats as common words (which need
capitals mid-sentence, see ``builder/entity_linking.py``) are left out of both sets so the two agree.

    .venv/bin/python benchmarks/bench_entity_linking.py [--turns 20000] [--names 20000] [--naive-turns 500]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from builder.entity_linking import EntityLinker, normalise_pieces  # noqa: E402

SYLLABLES = ["zor", "vak", "mel", "quin", "dra", "thex", "ul", "bri", "nox", "kep", "lar", "vesh", "pyr", "ond", "ix"]


def catalog_names() -> tuple[list[tuple[str, str]], list[str]]:
    catalog = json.loads((ROOT / "data" / "sample" / "catalog.json").read_text())
    names: set[tuple[str, str]] = set()
    prose: list[str] = []
    for movie in catalog:
        names.update((p["name"], "actor") for p in movie["cast"])
        names.update((d, "director") for d in movie["directors"])
        names.update((g, "genre") for g in movie["genres"])
        names.update((k, "keyword") for k in movie["keywords"])
        if movie["collection"]:
            names.add((movie["collection"], "collection"))
        prose += [
            s.strip() for s in (movie["overview"] + " " + (movie["visual_caption"] or "")).split(".") if s.strip()
        ]
    return sorted(names), prose


def invented_names(rng: random.Random, n: int) -> list[tuple[str, str]]:
    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()

    out: set[str] = set()
    while len(out) < n:
        out.add(" ".join(word() for _ in range(rng.randint(2, 3))))
    return [(name, "keyword") for name in sorted(out)]


def make_turns(rng: random.Random, prose: list[str], names: list[str], n: int) -> list[str]:
    turns = []
    for _ in range(n):
        sentence = rng.choice(prose).split()
        for name in rng.sample(names, rng.randint(1, 3)):
            sentence.insert(rng.randint(1, len(sentence)), f"with {name},")
        turns.append("I think " + " ".join(sentence) + ".")
    return turns


def naive_link(turn: str, keys: list[tuple[str, str]]) -> set[str]:
    """Every (padded key, name) whose key occurs as whole words in the turn, minus those inside a longer one."""
    text = " " + " ".join(normalise_pieces(turn)) + " "
    found = [(key, name) for key, name in keys if key in text]
    return {name for key, name in found if not any(key != other and key in other for other, _ in found)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=20_000)
    parser.add_argument("--names", type=int, default=20_000)
    parser.add_argument("--naive-turns", type=int, default=500, help="turns for the (slow) naive scan")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    real, prose = catalog_names()
    entities = real + invented_names(rng, max(0, args.names - len(real)))
    start = time.perf_counter()
    linker = EntityLinker(entities)
    build_s = time.perf_counter() - start
    # Compare on the names the linker matches case-insensitively anywhere (not common words).
    usable = sorted({name for name, _ in entities if not linker._entries[tuple(normalise_pieces(name))].common})
    turns = make_turns(rng, prose, usable, args.turns)

    start = time.perf_counter()
    linked = linker.link_many(turns)
    fast_s = time.perf_counter() - start

    keys = [(" " + " ".join(normalise_pieces(name)) + " ", name) for name in usable]
    sample = turns[: args.naive_turns]
    start = time.perf_counter()
    naive = [naive_link(turn, keys) for turn in sample]
    naive_s = time.perf_counter() - start

    usable_set = set(usable)
    disagree = [
        (turn, sorted(n), sorted(set(found.entities) & usable_set))
        for turn, n, found in zip(sample, naive, linked[: len(sample)], strict=True)
        if n != set(found.entities) & usable_set
    ]
    fast_rate, naive_rate = len(turns) / fast_s, len(sample) / naive_s
    print(f"entities: {len(entities):,} names ({linker.n_names:,} normalised variants), linker built in {build_s:.1f}s")
    print(f"EntityLinker:  {len(turns):,} turns in {fast_s:.2f}s = {fast_rate:,.0f} turns/s")
    print(f"naive scan:    {len(sample):,} turns in {naive_s:.2f}s = {naive_rate:,.0f} turns/s")
    print(
        f"speedup: {fast_rate / naive_rate:,.0f}x; agreement on {len(sample):,} turns: "
        f"{len(sample) - len(disagree):,}/{len(sample):,}"
    )
    for turn, n, fast in disagree[:5]:
        print(f"  differs: {turn!r}\n    naive {n}\n    linker {fast}")
    return 0 if not disagree else 1


if __name__ == "__main__":
    sys.exit(main())
