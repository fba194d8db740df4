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
        [--build-names 160000] [--repeat 5]
    .venv/bin/python benchmarks/bench_entity_linking.py --against HEAD~1 [--rounds 6]

EntityLinker's figures are the best of ``--repeat`` passes (cold: its chunk cache emptied first; warm: right
after); the reference matcher and the naive scan run once. The process's peak RSS is printed after the linking
passes and again after the large builds.

``--against REV`` measures a change instead: the EntityLinker of git revision REV and the working tree's, each
in its own process, take turns on the same turns (a cold pass of all of them, then warm slices of 2,000), and
the median of the paired speed ratios is printed. This machine's speed drifts with its neighbours' load by up
to 2×, so separate runs cannot show a 20 % change; pairs taken seconds apart can.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import random
import resource
import statistics
import subprocess
import sys
import tempfile
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


def peak_mib() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(make, name: str = ""):
    """``make()``, its wall-clock seconds; its CPU seconds go to ``CPU_SECONDS[name]`` (steady on a shared machine)."""
    start, cpu = time.perf_counter(), time.process_time()
    value = make()
    CPU_SECONDS[name] = time.process_time() - cpu
    return value, time.perf_counter() - start


def _paired_side(module_path: str | None, names: int, n_turns: int, seed: int, conn) -> None:
    """One side of ``--against``: build its linker, then time what the parent asks for (CPU s per turn)."""
    if module_path is None:
        import distillrecdial_kit.builder.entity_linking as module
    else:
        spec = importlib.util.spec_from_file_location("entity_linking_before", module_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    rng = random.Random(seed)
    real, prose = catalog_names()
    entities = real + invented_names(rng, max(0, names - len(real)))
    linker = module.EntityLinker(entities)
    usable = sorted({name for name, _ in entities if not linker._entries[tuple(normalise_pieces(name))].common})
    turns = make_turns(rng, prose, usable, n_turns)
    conn.send(None)
    while (ask := conn.recv()) is not None:
        start, stop = ask
        if start is None:  # a cold pass over every turn
            if hasattr(linker, "forget"):
                linker.forget()
            else:  # revisions before forget(): the same dictionaries
                for cache in ("_chunks", "_raw_of", "_joined_of", "_words_of"):
                    getattr(linker, cache).clear()
            part = turns
        else:
            part = turns[start:stop]
        cpu = time.process_time()
        linker.link_many(part)
        conn.send((time.process_time() - cpu) / len(part))


def paired(rev: str, args: argparse.Namespace) -> int:
    """``--against REV``: the median paired speed ratio of the working tree's linker over REV's."""
    source = subprocess.run(
        ["git", "show", f"{rev}:builder/entity_linking.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "entity_linking_before.py"
        before.write_text(source)
        sides = {}
        for name, path in ((rev, str(before)), ("working tree", None)):
            parent, child = context.Pipe()
            process = context.Process(target=_paired_side, args=(path, args.names, args.turns, args.seed, child))
            process.start()
            sides[name] = (parent, process)
        for parent, _ in sides.values():
            parent.recv()
        seconds: dict[str, dict[str, list[float]]] = {name: {"cold": [], "warm": []} for name in sides}
        slice_size = min(2000, args.turns)
        for round_ in range(args.rounds):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))  # neither side always goes first
            starts = [k * slice_size % args.turns for k in range(round_ * 10, round_ * 10 + 10)]
            asks = [("cold", (None, None))] + [("warm", (start, start + slice_size)) for start in starts]
            for kind, ask in asks:
                for name in order:
                    sides[name][0].send(ask)
                    seconds[name][kind].append(sides[name][0].recv())
        for parent, process in sides.values():
            parent.send(None)
            process.join()
    for kind in ("cold", "warm"):
        old, new = seconds[rev][kind], seconds["working tree"][kind]
        ratio = statistics.median(o / n for o, n in zip(old, new, strict=True))
        print(
            f"{kind}: {rev} {1 / statistics.median(old):,.0f} turns/s, working tree {1 / statistics.median(new):,.0f} "
            f"turns/s (medians); paired speed ratio {ratio:.2f}x (median of {len(old)} pairs)"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=20_000)
    parser.add_argument("--names", type=int, default=20_000)
    parser.add_argument("--naive-turns", type=int, default=500, help="turns for the (slow) naive scan")
    parser.add_argument("--build-names", type=int, default=160_000, help="names for the build-time figure (0: skip)")
    parser.add_argument("--repeat", type=int, default=5, help="EntityLinker passes, cold and warm; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--against", metavar="REV", help="compare with git revision REV's EntityLinker (paired)")
    parser.add_argument("--rounds", type=int, default=6, help="--against: rounds of 1 cold and 10 warm pairs")
    args = parser.parse_args()
    if args.against:
        return paired(args.against, args)
    rng = random.Random(args.seed)

    real, prose = catalog_names()
    entities = real + invented_names(rng, max(0, args.names - len(real)))
    linker, build_s = timed(lambda: EntityLinker(entities))
    reference, old_build_s = timed(lambda: PhraseMatcherLinker(entities))
    # Compare on the names the linker matches case-insensitively anywhere (not common words).
    usable = sorted({name for name, _ in entities if not linker._entries[tuple(normalise_pieces(name))].common})
    turns = make_turns(rng, prose, usable, args.turns)

    old_linked, old_s = timed(lambda: reference.link_many(turns), "old")
    linked, fast_s, warm_s = None, float("inf"), float("inf")
    for _ in range(args.repeat):  # the best of a few passes: this machine's neighbours make single runs noisy
        linker.forget()  # cold: no chunk tokenized yet, as in a fresh linker
        linked, seconds = timed(lambda: linker.link_many(turns), "pass")
        if seconds < fast_s:
            fast_s, CPU_SECONDS["new"] = seconds, CPU_SECONDS["pass"]
        # The cache of tokenized chunks is warm now: what a long build sees after its first turns.
        _, seconds = timed(lambda: linker.link_many(turns), "pass")
        if seconds < warm_s:
            warm_s, CPU_SECONDS["warm"] = seconds, CPU_SECONDS["pass"]
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
    print(f"peak RSS after linking (both linkers, every pass): {peak_mib():,.0f} MiB")
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
        print(f"peak RSS with the {len(many):,}-name linkers built too: {peak_mib():,.0f} MiB")
    return 0 if not (disagree or mismatched) else 1


if __name__ == "__main__":
    sys.exit(main())
