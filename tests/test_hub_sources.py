"""`prepare --from-hub` downloads the upstream files and reads them through the local code path.

The Hub cannot be reached here, so ``hf_hub_download`` — the network boundary —
is replaced by a function that returns the embedded sample's files; everything
after the download runs for real.
"""

from __future__ import annotations

import pytest

from benchmarks.sample_run import SAMPLE
from distillrecdial_kit.generation.sources import HUB_DEFAULTS, parse_hub_uri
from distillrecdial_kit.pipeline.cli import main
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.manifest import read_manifest

LOCAL = {
    "raw/review_categories/Movies_and_TV.jsonl": SAMPLE / "Movies_and_TV.jsonl",
    "raw/meta_categories/meta_Movies_and_TV.jsonl": SAMPLE / "meta_Movies_and_TV.jsonl",
    "tmdb_movies.json": SAMPLE / "tmdb_movies.json",
}


def test_hub_uris_are_parsed():
    assert parse_hub_uri(HUB_DEFAULTS["meta"]) == (
        "McAuley-Lab/Amazon-Reviews-2023",
        "raw/meta_categories/meta_Movies_and_TV.jsonl",
    )
    assert parse_hub_uri("data/x.jsonl") is None
    with pytest.raises(StageError):
        parse_hub_uri("hf://datasets/only-owner")


def test_from_hub_reads_the_downloaded_files(monkeypatch, tmp_path):
    calls = []

    def fake_download(repo_id: str, filename: str, repo_type: str) -> str:
        calls.append((repo_id, filename, repo_type))
        return str(LOCAL[filename])

    monkeypatch.setattr("huggingface_hub.hf_hub_download", fake_download)
    assert main(["prepare", "--from-hub", "--out", str(tmp_path / "run")]) == 0
    assert sorted(calls) == sorted(
        [
            ("McAuley-Lab/Amazon-Reviews-2023", "raw/review_categories/Movies_and_TV.jsonl", "dataset"),
            ("McAuley-Lab/Amazon-Reviews-2023", "raw/meta_categories/meta_Movies_and_TV.jsonl", "dataset"),
            ("planeB/DistillRecDial", "tmdb_movies.json", "dataset"),
        ]
    )
    inputs = read_manifest(tmp_path / "run")["stages"]["prepare"]["inputs"]
    assert {v["name"] for v in inputs.values()} == {p.name for p in LOCAL.values()}


def test_without_sources_or_from_hub_the_error_says_what_is_missing(tmp_path, capsys):
    assert main(["prepare", "--out", str(tmp_path / "run")]) == 2
    assert "--reviews is required" in capsys.readouterr().err
