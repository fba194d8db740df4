"""Bad input is counted and reported with file:line:field and never stops the run;
missing files and empty k-cores are one clear error line and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys

import orjson
import polars as pl
import pytest

from distillrecdial_kit.generation.prepare import PROBLEMS_FILE, PROMPTS_FILE
from distillrecdial_kit.generation.prepare import run as prepare
from tests.conftest import meta, review, tmdb

ITEMS = ["B0ITEM0001", "B0ITEM0002", "B0ITEM0003", "B0ITEM0004"]
USERS = ["AUSER1", "AUSER2", "AUSER3"]


def clean_reviews() -> list:
    return [
        review(u, i, timestamp=1_600_000_000_000 + 1000 * n)
        for n, (u, i) in enumerate((u, i) for u in USERS for i in ITEMS)
    ]


def problems_of(run) -> list[dict]:
    return [orjson.loads(line) for line in (run / PROBLEMS_FILE).read_bytes().splitlines()]


def test_each_bad_record_is_reported_with_line_and_field_and_the_run_completes(tiny_sources):
    good = clean_reviews()  # lines 1..12
    bad = [
        '{"rating": 5.0, "user_id": "AUSER1", "parent_asin": "B0ITEM00',  # 13: truncated JSON
        review("AUSER2", ITEMS[0], user_id=None),  # 14: null user_id
        {k: v for k, v in review("AUSER2", ITEMS[1]).items() if k != "user_id"},  # 15: missing user_id
        review("AUSER3", ITEMS[2], parent_asin=None),  # 16: null parent_asin
        review("AUSER3", ITEMS[3], rating="five"),  # 17: non-numeric rating
        good[0],  # 18: duplicate of line 1
        "[1, 2]",  # 19: not an object
    ]
    metas = [meta(i, f"Movie {n}") for n, i in enumerate(ITEMS)] + ["{not json"]
    tmdbs = [tmdb(i, f"Movie {n}") for n, i in enumerate(ITEMS)] + [tmdb("B0NOSUCHXX", "Orphan")]
    config = tiny_sources(good + bad, metas, tmdbs, k=3)

    entry = prepare(config)

    found = {(p["file"], p["line"], p["reason"], p["field"]) for p in problems_of(config.out)}
    assert found == {
        ("Movies_and_TV.jsonl", 13, "malformed_json", None),
        ("Movies_and_TV.jsonl", 14, "missing_field", "user_id"),
        ("Movies_and_TV.jsonl", 15, "missing_field", "user_id"),
        ("Movies_and_TV.jsonl", 16, "missing_field", "parent_asin"),
        ("Movies_and_TV.jsonl", 17, "bad_value", "rating"),
        ("Movies_and_TV.jsonl", 18, "duplicate_review", "user_id+parent_asin"),
        ("Movies_and_TV.jsonl", 19, "not_an_object", None),
        ("meta_Movies_and_TV.jsonl", 5, "malformed_json", None),
        ("tmdb_movies.json", 6, "no_matching_item", "asin"),
    }
    assert entry["problems"]["counts"]["missing_field"] == 3
    assert entry["counts"]["users"] == 3 and entry["counts"]["items"] == 4
    assert len((config.out / PROMPTS_FILE).read_bytes().splitlines()) == 3


def test_duplicate_review_keeps_the_earliest(tiny_sources):
    reviews = [*clean_reviews(), review("AUSER1", ITEMS[0], rating=1.0, timestamp=1500000000000)]
    config = tiny_sources(reviews, [meta(i, f"M{i}") for i in ITEMS], [tmdb(i, f"M{i}") for i in ITEMS], k=3)
    prepare(config)
    kept = pl.read_parquet(config.out / "interactions.parquet").filter(
        (pl.col("user_id") == "AUSER1") & (pl.col("item_id") == ITEMS[0])
    )
    assert kept.height == 1 and kept["rating"][0] == 1.0
    assert [p["line"] for p in problems_of(config.out) if p["reason"] == "duplicate_review"] == [1]


def test_items_without_title_or_tmdb_match_are_dropped_and_counted(tiny_sources):
    extra = ["B0NOTITLE1", "B0NOTMDB01"]
    reviews = clean_reviews() + [review(u, i) for u in USERS for i in extra]
    metas = [meta(i, f"Movie {i}") for i in ITEMS] + [meta(extra[0], "   "), meta(extra[1], "Fitness Workout")]
    tmdbs = [tmdb(i, f"Movie {i}") for i in ITEMS] + [{**tmdb(extra[0], ""), "title": None}]
    entry = prepare(tiny_sources(reviews, metas, tmdbs, k=3))
    catalog = next(s for s in entry["steps"] if s["step"].startswith("catalog"))
    assert catalog["dropped"] == {"no_title": 1, "no_tmdb_match": 1}
    assert catalog["out"] == 4


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "distillrecdial_kit.pipeline.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_missing_input_file_is_one_clear_error_line(tmp_path):
    result = run_cli(
        "prepare",
        "--reviews",
        str(tmp_path / "nope.jsonl"),
        "--meta",
        "m",
        "--tmdb",
        "t",
        "--out",
        str(tmp_path / "run"),
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"distillrecdial prepare: error: reviews file not found: {tmp_path / 'nope.jsonl'}"
    ]


@pytest.mark.parametrize("k", [4, 50])
def test_zero_users_after_kcore_is_one_clear_error_line(tiny_sources, k):
    config = tiny_sources(clean_reviews(), [meta(i, f"M{i}") for i in ITEMS], [tmdb(i, f"M{i}") for i in ITEMS])
    result = run_cli(
        "prepare",
        "--reviews",
        config.reviews,
        "--meta",
        config.meta,
        "--tmdb",
        config.tmdb,
        "--out",
        str(config.out),
        "--k",
        str(k),
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and f"no users left after the {k}-core" in errors[0]
