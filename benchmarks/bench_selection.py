"""What a seed-selection strategy is worth, measured: Recall@10 on one fixed held-out test set.

    python benchmarks/bench_selection.py [--reviews 400000] [--budgets 0.1 0.25 0.5] [--png selection.png]

1. Synthetic upstream-format sources (real movie facts from the sample's catalog) → `prepare` (k = 12).
2. A fixed fifth of the users (by a SHA-256 of their id) is held out: never selectable; their template
   dialogues are the test set.
3. For each strategy and budget (a share of the remaining pool), `select` chooses the seeds, the template
   teacher writes their dialogues, and the same recommender is trained on them: BM25 over item profiles made
   of each item's facts plus the seeker utterances of the generated dialogues that recommend it.
4. Recall@10 (bootstrap 95% interval) of every test recommendation from the seeker's turns before it; the
   profile with facts alone is the no-data baseline.

The generator is the rule-based template writer, so the numbers measure coverage of the catalog and of its
users' tastes, not the language of an LLM teacher; run with another backend by editing ``GENERATE``.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import orjson
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from distillrecdial_kit.evaluation.methods import BM25, ITEM_TEXT_FIELDS, TrainData  # noqa: E402
from distillrecdial_kit.evaluation.metrics import per_example, summarise  # noqa: E402
from distillrecdial_kit.evaluation.ranking import Catalog, rank_targets  # noqa: E402
from distillrecdial_kit.evaluation.tasks import RecExample  # noqa: E402
from distillrecdial_kit.generation.dialogue_parser import TAG  # noqa: E402
from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records  # noqa: E402
from distillrecdial_kit.pipeline.cli import main as cli  # noqa: E402

STRATEGIES = ("random", "kcenter", "uncertainty")
GENERATE = ["--role", "teacher", "--backend", "template", "--quiet"]
PROFILE = "dialogue_text"


def held_out(user_id: str) -> bool:
    return hashlib.sha256(f"bench-selection:{user_id}".encode()).digest()[0] < 256 // 5


def sub_run(base: Path, out: Path, prompts: list[bytes]) -> Path:
    """A run folder with ``base``'s catalog and interactions and only these prompts."""
    out.mkdir(parents=True)
    for name in ("items.parquet", "interactions.parquet"):
        shutil.copy(base / name, out / name)
    (out / "prompts.jsonl").write_bytes(b"".join(line + b"\n" for line in prompts))
    return out


def dialogues(run: Path) -> list[dict]:
    return list(read_records(run / "raw" / "teacher" / MERGED_NAME))


def examples(records: list[dict], titles: dict[str, str]) -> list[RecExample]:
    """Each valid dialogue's first recommendation of its target, with the seeker's turns before it (titled)."""
    out = []
    for record in records:
        turns = record["turns"]
        first = next(
            (n for n, t in enumerate(turns) if t["role"] == "assistant" and record["target_item"] in t["content"]),
            None,
        )
        if not record["valid"] or first is None:
            continue
        context = tuple(
            (
                "Seeker" if t["role"] == "user" else "Recommender",
                TAG.sub(lambda m: titles.get(m[1], m[1]), t["content"]),
            )
            for t in turns[:first]
        )
        mentioned = tuple({m for t in turns[:first] for m in TAG.findall(t["content"])} - {record["target_item"]})
        out.append(RecExample(record["dialogue_id"], record["user_id"], record["persona"], first,
                              record["target_item"], context, tuple(sorted(mentioned)), ()))  # fmt: skip
    return out


def recall(items: pl.DataFrame, train: list[dict], test: list[RecExample], catalog: Catalog) -> dict:
    """BM25 over facts + the seeker turns of ``train`` dialogues that recommend each item; Recall@10 on ``test``."""
    seeker: dict[str, list[str]] = {}
    for record in train:
        if record["valid"]:
            said = " ".join(t["content"] for t in record["turns"] if t["role"] == "user")
            seeker.setdefault(record["target_item"], []).append(TAG.sub(" ", said))
    profiles = items.with_columns(
        pl.col("item_id").map_elements(lambda i: " ".join(seeker.get(i, [])), pl.String).alias(PROFILE)
    )
    method = BM25(fields=(*ITEM_TEXT_FIELDS, PROFILE))
    method.fit(TrainData(catalog, profiles, [], None, np.zeros(0, dtype=bool)))  # BM25 reads the items only
    ranks, _ = rank_targets(method.score, test, catalog, seed=0)
    stats = summarise({"recall@10": per_example(ranks)["recall@10"]}, seed=0, resamples=1000)
    return {"recall@10": stats["recall@10"], "ci": stats["recall@10_ci"], "covered": len(seeker)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviews", type=int, default=400_000)
    parser.add_argument("--budgets", type=float, nargs="+", default=[0.1, 0.25, 0.5])
    parser.add_argument("--png", type=Path, help="write the Recall@10-vs-budget curve here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "synthetic_sources.py"), "--out", str(work / "src"),
             "--reviews", str(args.reviews), "--catalog", str(ROOT / "data" / "sample" / "catalog.json")],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        base = work / "base"
        src = work / "src"
        assert cli(["prepare", "--reviews", str(src / "Movies_and_TV.jsonl"), "--meta",
                    str(src / "meta_Movies_and_TV.jsonl"), "--tmdb", str(src / "tmdb_movies.json"),
                    "--out", str(base), "--quiet"]) == 0  # fmt: skip
        lines = [line for line in (base / "prompts.jsonl").read_bytes().splitlines() if line.strip()]
        test_lines = [line for line in lines if held_out(orjson.loads(line)["user_id"])]
        pool = [line for line in lines if not held_out(orjson.loads(line)["user_id"])]
        items = pl.read_parquet(base / "items.parquet")
        catalog = Catalog(items["item_id"].to_list())
        titles = dict(zip(items["item_id"].to_list(), items["title"].to_list(), strict=True))
        test_run = sub_run(base, work / "test", test_lines)
        assert cli(["generate", "--run", str(test_run), *GENERATE]) == 0
        test = examples(dialogues(test_run), titles)
        print(f"{len(lines):,} users ({len(pool):,} selectable, {len(test_lines):,} held out), "
              f"{len(catalog):,} items, {len(test):,} test recommendations")  # fmt: skip

        rows = [("none", 0, 0, recall(items, [], test, catalog))]
        for fraction in args.budgets:
            budget = max(1, round(fraction * len(pool)))
            for strategy in STRATEGIES:
                run = sub_run(base, work / f"{strategy}-{budget}", pool)
                assert cli(["select", "--run", str(run), "--strategy", strategy, "--budget", str(budget), "-q"]) == 0
                assert cli(["generate", "--run", str(run), *GENERATE]) == 0
                rows.append((strategy, fraction, budget, recall(items, dialogues(run), test, catalog)))
                shutil.rmtree(run)

    print("\n| strategy | budget | seeds | items with a profile | Recall@10 [95% CI] |\n|---|---:|---:|---:|---|")
    for strategy, fraction, budget, r in rows:
        lo, hi = r["ci"]
        score = f"{r['recall@10']:.3f} [{lo:.3f}, {hi:.3f}]"
        print(f"| {strategy} | {fraction:.0%} | {budget:,} | {r['covered']:,} | {score} |")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 5), dpi=125)
        for strategy in STRATEGIES:
            points = [(f, r) for s, f, _, r in rows if s == strategy]
            means = [r["recall@10"] for _, r in points]
            spread = np.array([[r["recall@10"] - r["ci"][0], r["ci"][1] - r["recall@10"]] for _, r in points]).T
            ax.errorbar([f * 100 for f, _ in points], means, yerr=spread, marker="o", capsize=3, label=strategy)
        ax.axhline(rows[0][3]["recall@10"], color="grey", linestyle="--", label="facts only")
        ax.set_xlabel("budget (% of the selectable users)")
        ax.set_ylabel("Recall@10 on the held-out test set")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.png)
        print(f"curve: {args.png}")


if __name__ == "__main__":
    main()
