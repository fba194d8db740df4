"""Throughput of the walks stage's core: the item graph and one walk per user, at scale.

    python benchmarks/bench_walks.py --items 200000 --users 100000

Synthesises a catalog with TMDB-like structure (collections of 2–6 films,
directors with a handful of films, a long tail of actors and keywords) and a
k-core-like set of likes (each user 13 items drawn with a popularity skew,
the last one the target), then times building the graph and sampling every
user's walk with the real code (``build_graph``, ``sample_walks``). Prints
one line of timings, edge counts and walks found.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from distillrecdial_kit.generation.item_graph import GraphOptions, build_graph
from distillrecdial_kit.generation.walks import UserStart, WalkOptions, sample_walks


def _zipf_choice(rng: np.random.Generator, pool: int, size: tuple[int, ...], a: float = 1.1) -> np.ndarray:
    """Indices into a pool of ``pool`` values, skewed so a few are popular and most are rare."""
    return (rng.zipf(a, size=size) - 1 + rng.integers(0, pool, size=size) // 50) % pool


def synthetic_catalog(n_items: int, rng: np.random.Generator) -> pl.DataFrame:
    ids = [f"B{n:09d}" for n in range(n_items)]
    collections = [None] * n_items
    members = rng.permutation(n_items)[: n_items // 7]
    start = 0
    while start < members.size:
        size = int(rng.integers(2, 7))
        for item in members[start : start + size]:
            collections[int(item)] = f"Collection {start}"
        start += size
    directors = rng.integers(0, n_items // 5, size=n_items)
    actors = _zipf_choice(rng, n_items, (n_items, 5))
    keywords = _zipf_choice(rng, 30_000, (n_items, 6))
    return pl.DataFrame(
        {
            "item_id": ids,
            "collection": collections,
            "directors": [[f"director {d}"] for d in directors],
            "actors": [[f"actor {a}" for a in row] for row in actors],
            "keywords": [[f"keyword {k}" for k in row] for row in keywords],
        }
    )


def synthetic_users(n_users: int, n_items: int, rng: np.random.Generator) -> tuple[list[UserStart], pl.DataFrame]:
    picks = _zipf_choice(rng, n_items, (n_users, 13), a=1.05)
    ratings = rng.choice([2.0, 3.0, 4.0, 5.0, 5.0], size=(n_users, 13))
    users, liked_user, liked_item = [], [], []
    for u in range(n_users):
        items = list(dict.fromkeys(f"B{i:09d}" for i in picks[u]))
        if len(items) < 2:
            continue
        user = f"U{u:08d}"
        history = [{"item_id": i, "rating": float(r)} for i, r in zip(items[:-1], ratings[u], strict=False)]
        users.append(UserStart(user, "fully_expressive", items[-1], history))
        for h in history:
            if h["rating"] > 3:
                liked_user.append(user)
                liked_item.append(h["item_id"])
    return users, pl.DataFrame({"user_id": liked_user, "item_id": liked_item})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--slate", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    items = synthetic_catalog(args.items, rng)
    users, liked = synthetic_users(args.users, args.items, rng)

    began, cpu = time.perf_counter(), time.process_time()
    graph = build_graph(items, liked, GraphOptions())
    built = time.perf_counter()
    catalog = {row["item_id"]: row for row in items.iter_rows(named=True)}
    walks, skipped = sample_walks(
        graph, users, catalog, WalkOptions(steps=args.steps, slate=args.slate, seed=args.seed)
    )
    walked = time.perf_counter()
    print(
        f"bench_walks: {graph.n_items:,} items, {graph.n_edges:,} edges {graph.edge_counts()}; "
        f"graph {built - began:.1f}s; {len(users):,} users → {len(walks):,} walks "
        f"({args.steps} slates × {args.slate}) in {walked - built:.1f}s "
        f"({len(users) / max(walked - built, 1e-9):,.0f} users/s); skipped {skipped}; "
        f"total {walked - began:.1f}s wall, {time.process_time() - cpu:.1f}s CPU"
    )


if __name__ == "__main__":
    main()
