"""The embedded sample as `prepare` input: one definition for the tests and the benchmarks."""

from __future__ import annotations

from pathlib import Path

from distillrecdial_kit.generation.prepare import PrepareConfig

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def sample_config(out: Path, **overrides) -> PrepareConfig:
    """`prepare` settings that read the embedded sample into ``out``."""
    return PrepareConfig(
        reviews=str(SAMPLE / "Movies_and_TV.jsonl"),
        meta=str(SAMPLE / "meta_Movies_and_TV.jsonl"),
        tmdb=str(SAMPLE / "tmdb_movies.json"),
        out=out,
        **overrides,
    )
