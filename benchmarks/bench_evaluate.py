"""Time of `distillrecdial evaluate --tasks recommend` (all non-LLM methods) on a synthetic built run at scale.

    python benchmarks/bench_evaluate.py --test 20000 --items 50000

Writes a run folder with ``hub/data/{crslab,raw,items}/*.parquet`` and ``interactions.parquet``: ``--items``
catalog items (title, genres, keywords, people, overview drawn from small seeded vocabularies), ``--train`` and
``--test`` users with a 9-item history (items drawn with a popularity skew) and a 6-utterance dialogue whose
seeker names a few of the target's facts. Then times the CLI stage end to end (loading, examples, fitting and
ranking popularity / item_knn / bm25 over the full catalog, bootstrap, leakage, results.json / eval.md / figure)
and prints the seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from distillrecdial_kit.pipeline.cli import main as cli  # noqa: E402

PERSONAS = ("cold_start_browser", "cold_start_task", "history_only_explorer", "history_hint_seeker", "fully_expressive")
GENRES = ("Drama", "Comedy", "Action", "Horror", "Romance", "Thriller", "Animation", "Documentary", "Western")


def synthetic_run(run: Path, n_items: int, n_train: int, n_test: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(5000)]
    people = [f"Person{i} Surname{i % 997}" for i in range(20000)]
    ids = [f"B{i:09d}" for i in range(n_items)]
    kw = rng.integers(0, len(words), size=(n_items, 4))
    ppl = rng.integers(0, len(people), size=(n_items, 3))
    gen = rng.integers(0, len(GENRES), size=(n_items, 2))
    items = pl.DataFrame(
        {
            "item_id": ids,
            "title": [f"Title {words[a]} {words[b]}" for a, b in kw[:, :2]],
            "year": rng.integers(1950, 2025, size=n_items).astype(np.int32),
            "genres": [[GENRES[g] for g in row] for row in gen],
            "keywords": [[words[k] for k in row] for row in kw],
            "actors": [[people[p] for p in row[:2]] for row in ppl],
            "directors": [[people[row[2]]] for row in ppl],
            "overview": [f"A story of {words[a]} and {words[d]}." for a, _, _, d in kw],
            "collection": [None] * n_items,
        }
    )
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    weights /= weights.sum()
    n_users = n_train + n_test
    picks = rng.choice(n_items, size=(n_users, 10), p=weights)
    personas = rng.integers(0, len(PERSONAS), size=n_users)
    crslab = {"train": [], "test": []}
    raw = {"train": [], "test": []}
    inter_user, inter_item, inter_role = [], [], []
    for u in range(n_users):
        split = "train" if u < n_train else "test"
        user, conv = f"U{u:09d}", f"d{u:019d}"
        history, target = [ids[i] for i in picks[u, :9]], int(picks[u, 9])
        t = ids[target]
        ask = f"I want {GENRES[gen[target, 0]].lower()} with {words[kw[target, 2]]} and {words[kw[target, 3]]}."
        dialog = [
            ("Seeker", "Hi, I need a movie for tonight.", []),
            ("Recommender", "Sure, what are you in the mood for?", []),
            ("Seeker", ask, []),
            ("Recommender", f"Try {items['title'][target]}.", [t]),
            ("Seeker", "Thanks!", []),
            ("Recommender", "Enjoy!", []),
        ]
        crslab[split].append(
            {
                "conv_id": conv,
                "persona": PERSONAS[personas[u]],
                "target_item": t,
                "dialog": [
                    {"utt_id": i, "role": r, "text": x, "movies": m, "entity": [], "word": []}
                    for i, (r, x, m) in enumerate(dialog)
                ],
            }
        )
        raw[split].append(
            {
                "dialogue_id": conv,
                "user_id": user,
                "persona": PERSONAS[personas[u]],
                "target_item": t,
                "history": [{"item_id": h, "rating": 5.0} for h in history],
            }
        )
        inter_user += [user] * 10
        inter_item += [*history, t]
        inter_role += ["history"] * 9 + ["target"]
    for name, frames in (("crslab", crslab), ("raw", raw), ("items", {"train": items})):
        folder = run / "hub" / "data" / name
        folder.mkdir(parents=True, exist_ok=True)
        for split, rows in frames.items():
            frame = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(rows)
            frame.write_parquet(folder / f"{split}-00000-of-00001.parquet")
    pl.DataFrame({"user_id": inter_user, "item_id": inter_item, "role": inter_role}).write_parquet(
        run / "interactions.parquet"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test", type=int, default=20_000, help="test dialogues")
    parser.add_argument("--train", type=int, default=20_000, help="train dialogues")
    parser.add_argument("--items", type=int, default=50_000, help="catalog size")
    parser.add_argument("--keep", type=Path, help="write the synthetic run here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        run = args.keep or Path(tmp) / "run"
        start = time.perf_counter()
        synthetic_run(run, args.items, args.train, args.test)
        made = time.perf_counter() - start
        start = time.perf_counter()
        code = cli(
            ["evaluate", "--run", str(run), "--tasks", "recommend", "--methods", "popularity", "item_knn", "bm25"]
        )
        took = time.perf_counter() - start
    print(
        f"bench_evaluate: {args.test:,} test dialogues, {args.items:,} items, {args.train:,} train users: "
        f"synthetic run {made:.1f} s; evaluate --tasks recommend (popularity, item_knn, bm25) {took:.1f} s"
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
