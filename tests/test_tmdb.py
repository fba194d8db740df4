"""TMDB records are flattened from TMDB's own shapes, so cast and crew reach the prompts."""

from __future__ import annotations

import orjson

from distillrecdial_kit.generation.tmdb import flatten_tmdb, read_tmdb
from distillrecdial_kit.pipeline.problems import ProblemLog


def test_cast_is_ordered_by_billing_and_directors_come_from_crew():
    record = {
        "asin": "B0X",
        "title": "Heat",
        "release_date": "1995-12-15",
        "casts": {
            "cast": [
                {"name": "Val Kilmer", "order": 2},
                {"name": "Al Pacino", "order": 0},
                {"name": "Robert De Niro", "order": 1},
                {"name": "Jon Voight", "order": 3},
            ],
            "crew": [
                {"name": "Michael Mann", "job": "Director"},
                {"name": "Elliot Goldenthal", "job": "Original Music Composer"},
                {"name": "Michael Mann", "job": "Screenplay"},
            ],
        },
        "genres": [{"id": 80, "name": "Crime"}, {"id": 53, "name": "Thriller"}],
        "keywords": {"keywords": [{"id": 1, "name": "heist"}, {"id": 2, "name": "los angeles"}]},
        "belongs_to_collection": None,
        "Visual Caption": "Two faces split by a blue skyline.",
    }
    facts = flatten_tmdb(record, max_actors=3)
    assert facts["actors"] == ["Al Pacino", "Robert De Niro", "Val Kilmer"]
    assert facts["directors"] == ["Michael Mann"]
    assert facts["genres"] == ["Crime", "Thriller"]
    assert facts["keywords"] == ["heist", "los angeles"]
    assert facts["year"] == 1995
    assert facts["collection"] is None
    assert facts["visual_caption"] == "Two faces split by a blue skyline."


def test_credits_and_plain_keyword_lists_are_accepted():
    record = {
        "asin": "B0Y",
        "title": "Alien",
        "credits": {"cast": [{"name": "Sigourney Weaver"}], "crew": [{"name": "Ridley Scott", "job": "Director"}]},
        "keywords": [{"name": "space"}],
        "belongs_to_collection": {"id": 8091, "name": "Alien Collection"},
    }
    facts = flatten_tmdb(record, max_actors=5)
    assert facts["actors"] == ["Sigourney Weaver"]
    assert facts["directors"] == ["Ridley Scott"]
    assert facts["keywords"] == ["space"]
    assert facts["collection"] == "Alien Collection"


def test_wrong_shapes_give_empty_facts_not_crashes():
    facts = flatten_tmdb(
        {
            "asin": "B0Z",
            "genres": "Drama",
            "casts": [],
            "keywords": None,
            "release_date": "soon",
            "belongs_to_collection": "x",
            "id": "12",
        },
        max_actors=5,
    )
    assert facts["genres"] == [] and facts["actors"] == [] and facts["keywords"] == []
    assert facts["year"] is None and facts["collection"] is None and facts["tmdb_id"] is None


def test_jsonl_array_and_pretty_array_files(tmp_path):
    records = [{"asin": "B01", "title": "One"}, {"asin": "B02", "title": "Two"}, {"asin": "B01", "title": "Again"}]
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n{broken\n")
    pretty = tmp_path / "b.json"
    pretty.write_bytes(orjson.dumps(records, option=orjson.OPT_INDENT_2))

    log = ProblemLog()
    flat, _ = read_tmdb(jsonl, log)
    assert [f["item_id"] for f in flat] == ["B01", "B02"]
    assert sorted((p.line, p.reason) for p in log.records) == [(3, "duplicate_record"), (4, "malformed_json")]

    log = ProblemLog()
    flat, sha = read_tmdb(pretty, log)
    assert [f["tmdb_title"] for f in flat] == ["One", "Two"]
    # Record 3 of the pretty-printed array starts on line 10: problems name real lines there too.
    assert [(p.file, p.line, p.reason) for p in log.records] == [("b.json", 10, "duplicate_record")]
    assert len(sha) == 64
