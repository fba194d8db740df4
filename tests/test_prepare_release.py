"""`prepare --profile release` selects the users and items the first release's rules select.

The reference below re-implements, with plain ``json`` and ``Counter`` as the
release's ``scripts/createDatasetToConversation_tmdb.py`` did, its three rules:
meta ``title`` not null and ``len(title) > 2``, the item in the TMDB list, and
the k-core loop over the rating rows (every row counts). Synthetic sources in
the upstream formats get short, blank and symbol-only titles on popular items,
so the two profiles really differ.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import orjson
import polars as pl
import pytest

from benchmarks.synthetic_sources import write_sources
from distillrecdial_kit.generation.prepare import ITEMS_FILE, PROMPTS_FILE, PrepareConfig
from distillrecdial_kit.generation.prepare import run as prepare
from distillrecdial_kit.pipeline.errors import StageError

K = 6
#: Titles the release judges by raw length: kept ("  a", "!!!", "Up!") or dropped (None, "", "X", "AB").
ODD_TITLES = [None, "", "X", "AB", "  a", "!!!", "Up!", "Ok"]


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("release-src")
    write_sources(src, 30_000, seed=7)
    reviews = [json.loads(line) for line in (src / "Movies_and_TV.jsonl").read_text().splitlines()]
    popular = [item for item, _ in Counter(r["parent_asin"] for r in reviews).most_common(60)]
    metas = [json.loads(line) for line in (src / "meta_Movies_and_TV.jsonl").read_text().splitlines()]
    odd = {item: ODD_TITLES[n % len(ODD_TITLES)] for n, item in enumerate(popular[::3])}
    for record in metas:
        if record["parent_asin"] in odd:
            record["title"] = odd[record["parent_asin"]]
    (src / "meta_Movies_and_TV.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metas))
    # The rating-only CSV: every 9th review left out and every 7th written twice (the release counted rows).
    with open(src / "Movies_and_TV.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "parent_asin", "rating", "timestamp"])
        for n, r in enumerate(reviews):
            for _ in range((n % 9 != 0) * (1 + (n % 7 == 0))):
                writer.writerow([r["user_id"], r["parent_asin"], r["rating"], r["timestamp"]])
    return src


def release_selection(src: Path, ratings_rows: list[tuple[str, str]], k: int) -> tuple[set[str], set[str]]:
    """The release script's rules, written independently of the pipeline: (users, items) of its k-core."""
    tmdb_asins = {record["asin"] for record in json.loads((src / "tmdb_movies.json").read_text())}
    items = set()
    for line in (src / "meta_Movies_and_TV.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["title"] is not None and len(record["title"]) > 2 and record["parent_asin"] in tmdb_asins:
            items.add(record["parent_asin"])
    rows = [(user, item) for user, item in ratings_rows if item in items]
    while True:
        users_count = Counter(user for user, _ in rows)
        items_count = Counter(item for _, item in rows)
        if min(users_count.values()) >= k and min(items_count.values()) >= k:
            return set(users_count), set(items_count)
        rows = [(u, i) for u, i in rows if users_count[u] >= k and items_count[i] >= k]


def selected(run: Path) -> tuple[set[str], set[str]]:
    prompts = [orjson.loads(line) for line in (run / PROMPTS_FILE).read_bytes().splitlines()]
    return {p["user_id"] for p in prompts}, set(pl.read_parquet(run / ITEMS_FILE)["item_id"])


def config(src: Path, out: Path, **overrides) -> PrepareConfig:
    return PrepareConfig(
        reviews=str(src / "Movies_and_TV.jsonl"),
        meta=str(src / "meta_Movies_and_TV.jsonl"),
        tmdb=str(src / "tmdb_movies.json"),
        out=out,
        k=K,
        **overrides,
    )


def test_release_profile_on_ratings_equals_the_release_rules(sources, tmp_path):
    with open(sources / "Movies_and_TV.csv") as handle:
        rows = [(r["user_id"], r["parent_asin"]) for r in csv.DictReader(handle)]
    users, items = release_selection(sources, rows, K)
    entry = prepare(config(sources, tmp_path / "run", profile="release", ratings=str(sources / "Movies_and_TV.csv")))
    assert selected(tmp_path / "run") == (users, items)
    assert len(users) > 100
    assert entry["parameters"]["profile"] == "release"
    assert entry["inputs"]["ratings"]["name"] == "Movies_and_TV.csv"
    catalog_step = next(s for s in entry["steps"] if s["step"].startswith("catalog (release rules)"))
    assert catalog_step["dropped"]["short_or_no_amazon_title"] >= 4


def test_release_profile_on_reviews_equals_the_release_rules_and_differs_from_the_default(sources, tmp_path):
    reviews = [json.loads(line) for line in (sources / "Movies_and_TV.jsonl").read_text().splitlines()]
    users, items = release_selection(sources, [(r["user_id"], r["parent_asin"]) for r in reviews], K)
    prepare(config(sources, tmp_path / "release", profile="release"))
    assert selected(tmp_path / "release") == (users, items)
    default = prepare(config(sources, tmp_path / "default"))
    default_users, default_items = selected(tmp_path / "default")
    assert default_items - items, "the default keeps items whose Amazon title is missing or short"
    assert default_users != users
    assert "profile" not in default["parameters"], "the default profile's manifest entry is unchanged"


def test_ratings_need_the_release_profile(sources, tmp_path):
    with pytest.raises(StageError, match="release"):
        prepare(replace(config(sources, tmp_path / "run"), ratings=str(sources / "Movies_and_TV.csv")))
