"""Entity-linking throughput: ``EntityLinker`` (Aho-Corasick) vs ``PhraseMatcherLinker`` (the first, spaCy
``PhraseMatcher``) vs a naive per-entity scan, on the same turns.

Synthetic but realistic: the entity set is every name of the embedded sample's 145 real movies (people, genres,
keywords, collections) plus invented multi-word names up to ``--names`` in all; the turns are sentences from
the catalog's overviews and captions with one to three of those names dropped in. The two linkers must return
identical links (entities, movies and words) on every turn. The naive baseline checks, for every turn, every
name with a substring search on the same normalised text (lowercase alphanumeric pieces joined by spaces, so
it finds whole-word matches, like the linkers), then drops names covered by a longer one; names the linkers
treat as common words (which need capitals mid-sentence, see ``builder/entity_linking.py``) are left out of
that comparison. Last, both linkers are built for ``--build-names`` names (the scale of the full catalog).

    .venv/bin/python benchmarks/bench_entity_linking.py [--turns 20000] [--names 20000] [--naive-turns 500]
        [--build-names 160000]
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

from distillrecdial_kit.builder.entity_linking import EntityLinker, PhraseMatcherLinker, normalise_pieces  # noqa: E402

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


CPU_SECONDS: dict[str, float] = {}


def timed(make, name: str = ""):
    """``make()``, its wall-clock seconds; its CPU seconds go to ``CPU_SECONDS[name]`` (steady on a shared machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    value = make()
    CPU_SECONDS[name] = time.process_time() - cpu
    return value, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=20_000)
    parser.add_argument("--names", type=int, default=20_000)
    parser.add_argument("--naive-turns", type=int, default=500, help="turns for the (slow) naive scan")
    parser.add_argument("--build-names", type=int, default=160_000, help="names for the build-time figure (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    real, prose = catalog_names()
    entities = real + invented_names(rng, max(0, args.names - len(real)))
    linker, build_s = timed(lambda: EntityLinker(entities))
    reference, old_build_s = timed(lambda: PhraseMatcherLinker(entities))
    # Compare on the names the linker matches case-insensitively anywhere (not common words).
    usable = sorted({name for name, _ in entities if not linker._entries[tuple(normalise_pieces(name))].common})
    turns = make_turns(rng, prose, usable, args.turns)

    linked, fast_s = timed(lambda: linker.link_many(turns), "new")
    old_linked, old_s = timed(lambda: reference.link_many(turns), "old")
    # The cache of tokenized chunks is warm now: what a long build sees after its first turns.
    _, warm_s = timed(lambda: linker.link_many(turns), "warm")
    mismatched = [(turn, old, new) for turn, old, new in zip(turns, old_linked, linked, strict=True) if old != new]

    keys = [(" " + " ".join(normalise_pieces(name)) + " ", name) for name in usable]
    sample = turns[: args.naive_turns]
    naive, naive_s = timed(lambda: [naive_link(turn, keys) for turn in sample])

    usable_set = set(usable)
    disagree = [
        (turn, sorted(n), sorted(set(found.entities) & usable_set))
        for turn, n, found in zip(sample, naive, linked[: len(sample)], strict=True)
        if n != set(found.entities) & usable_set
    ]
    fast_rate, old_rate, naive_rate = len(turns) / fast_s, len(turns) / old_s, len(sample) / naive_s
    print(f"entities: {len(entities):,} names ({linker.n_names:,} normalised variants)")
    print(
        f"PhraseMatcherLinker (before): built in {old_build_s:.1f}s; {len(turns):,} turns in {old_s:.2f}s = "
        f"{old_rate:,.0f} turns/s"
    )
    print(
        f"EntityLinker (Aho-Corasick):  built in {build_s:.1f}s; {len(turns):,} turns in {fast_s:.2f}s = "
        f"{fast_rate:,.0f} turns/s (cold chunk cache), {len(turns) / warm_s:,.0f} turns/s warm"
    )
    print(
        f"speedup: {fast_rate / old_rate:.1f}x cold, {old_s / warm_s:.1f}x warm; identical links (entities, movies, "
        f"words) on {len(turns) - len(mismatched):,}/{len(turns):,} turns"
    )
    print(
        f"per CPU second (steady when other jobs share the machine): before {len(turns) / CPU_SECONDS['old']:,.0f}, "
        f"now {len(turns) / CPU_SECONDS['new']:,.0f} cold and {len(turns) / CPU_SECONDS['warm']:,.0f} warm turns/s"
    )
    print(
        f"naive scan:    {len(sample):,} turns in {naive_s:.2f}s = {naive_rate:,.0f} turns/s; agreement on "
        f"{len(sample) - len(disagree):,}/{len(sample):,}"
    )
    for turn, old, new in mismatched[:5]:
        print(f"  linkers differ: {turn!r}\n    before {old}\n    now    {new}")
    for turn, n, fast in disagree[:5]:
        print(f"  differs: {turn!r}\n    naive {n}\n    linker {fast}")

    if args.build_names:
        many = real + invented_names(random.Random(args.seed + 1), max(0, args.build_names - len(real)))
        big, big_s = timed(lambda: EntityLinker(many))
        _, automaton_s = timed(big._build)
        _, big_old_s = timed(lambda: PhraseMatcherLinker(many))
        print(
            f"build for {len(many):,} names ({big.n_names:,} variants): EntityLinker {big_s:.1f}s "
            f"(its automaton alone {automaton_s:.2f}s), PhraseMatcherLinker {big_old_s:.1f}s"
        )
    return 0 if not (disagree or mismatched) else 1


if __name__ == "__main__":
    sys.exit(main())
