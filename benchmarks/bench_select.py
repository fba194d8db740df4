"""Time of `distillrecdial select` at scale, per strategy, on a synthetic run folder.

    python benchmarks/bench_select.py --users 100000 --items 50000 --budget 10000

Writes ``items.parquet`` (Zipf-popular items with genres, keywords, actors, directors, collections),
``interactions.parquet`` and ``prompts.jsonl`` (a target and up to 9 history items per user, five personas)
in the shapes `prepare` leaves, then times each strategy in its own process with its peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from distillrecdial_kit.generation.personas import PERSONAS  # noqa: E402


def synthetic_run(run: Path, users: int, items: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    ids = [f"B{i:09d}" for i in range(items)]

    def names(prefix: str, pool: int, low: int, high: int) -> list[list[str]]:
        counts = rng.integers(low, high + 1, size=items)
        draws = rng.zipf(1.3, size=int(counts.sum())) % pool
        out, start = [], 0
        for c in counts:
            out.append([f"{prefix}{d}" for d in draws[start : start + c]])
            start += c
        return out

    pl.DataFrame(
        {
            "item_id": ids,
            "genres": names("genre", 20, 1, 3),
            "keywords": names("keyword", 20_000, 2, 8),
            "actors": names("actor", 60_000, 3, 5),
            "directors": names("director", 15_000, 1, 1),
            "collection": [f"collection{c}" if c < 2_000 else None for c in rng.integers(0, 20_000, size=items)],
        }
    ).write_parquet(run / "items.parquet")
    popularity = rng.zipf(1.2, size=(users, 10)) % items
    personas = [p.id for p in PERSONAS]
    rows = {"user_id": [], "item_id": [], "role": []}
    with open(run / "prompts.jsonl", "wb") as handle:
        for u in range(users):
            chosen = list(dict.fromkeys(popularity[u].tolist()))
            target, history = ids[chosen[-1]], [ids[i] for i in chosen[:-1]]
            user = f"U{u:09d}"
            prompt = {
                "prompt_id": f"{u:016x}",
                "user_id": user,
                "persona": personas[u % 5],
                "target_item": target,
                "history": [{"item_id": i, "rating": 5.0} for i in history],
            }
            handle.write(orjson.dumps(prompt) + b"\n")
            for item, role in [*((i, "history") for i in history), (target, "target")]:
                rows["user_id"].append(user)
                rows["item_id"].append(item)
                rows["role"].append(role)
    pl.DataFrame(rows).with_columns(
        review_title=pl.lit(None, pl.String),
        review_text=pl.when(pl.col("role") == "target").then(pl.lit("a slow moody film with a great score")),
    ).write_parquet(run / "interactions.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--budget", type=int, default=10_000)
    parser.add_argument("--strategies", nargs="+", default=["random", "kcenter", "uncertainty"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        start = time.perf_counter()
        synthetic_run(run, args.users, args.items)
        print(f"synthetic run: {args.users:,} users, {args.items:,} items in {time.perf_counter() - start:.1f} s")
        print("| strategy | users | budget | wall time | peak RSS |\n|---|---:|---:|---:|---:|")
        for strategy in args.strategies:
            command = [sys.executable, "-m", "distillrecdial_kit.pipeline.cli", "select", "-q", "--run", str(run)]
            command += ["--strategy", strategy, "--budget", str(args.budget)]
            start = time.perf_counter()
            subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - start
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"| {strategy} | {args.users:,} | {args.budget:,} | {wall:.1f} s | {peak:,.0f} MiB (max so far) |")


if __name__ == "__main__":
    main()
