"""Time of the template rationale writer at scale: the `rationales --backend template` path for N reviews.

    python benchmarks/bench_rationales.py --reviews 1000000 [--spacy-reviews 5000]

Takes the embedded sample's review texts and catalog (prepared into a temporary run), repeats them round robin
up to ``--reviews`` reviews, and times, per batch exactly as the stage does it, request building (the chat
prompt), the extractive writer, and parsing the answer into a stored record; disk writes are left out (they
are one buffered append per batch). Target: 1,000,000 reviews in under 2 minutes, met by the word-scan reader
(``--template-nlp rules``); the spaCy parse (the default reader) is timed on ``--spacy-reviews`` for its rate.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sample_run import sample_config  # noqa: E402
from distillrecdial_kit.generation.amazon import read_review_texts  # noqa: E402
from distillrecdial_kit.generation.backends import Sampling  # noqa: E402
from distillrecdial_kit.generation.prepare import INTERACTIONS_FILE  # noqa: E402
from distillrecdial_kit.generation.prepare import run as prepare  # noqa: E402
from distillrecdial_kit.generation.rationales import TemplateRationaleBackend, load_items, make_record, make_requests  # noqa: E402


def sample_reviews(run: Path) -> tuple[pl.DataFrame, dict]:
    """Every k-core review of the sample with its text, and the catalog facts."""
    config = sample_config(run)
    prepare(config)
    frame = pl.read_parquet(run / INTERACTIONS_FILE)
    texts = read_review_texts(Path(config.reviews), frame["source_line"].to_list())
    frame = frame.with_columns(
        pl.col("source_line").replace_strict({n: t[0] for n, t in texts.items()}, default=None).alias("review_title"),
        pl.col("source_line").replace_strict({n: t[1] for n, t in texts.items()}, default=None).alias("review_text"),
    )
    return frame.select("user_id", "item_id", "rating", "review_title", "review_text", "source_line"), load_items(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--spacy-reviews", type=int, default=5000, help="reviews to time the spaCy reader on")
    parser.add_argument(
        "--text-repeat",
        type=int,
        default=1,
        help="repeat each review's text K times (longer reviews than the sample's)",
    )
    parser.add_argument("--batch-size", type=int, default=4096)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base, items = sample_reviews(Path(tmp) / "run")
    copies = -(-max(args.reviews, args.spacy_reviews) // base.height)
    frame = pl.concat([base] * copies).head(max(args.reviews, args.spacy_reviews))
    if args.text_repeat > 1:
        base = base.with_columns(pl.concat_str([pl.col("review_text")] * args.text_repeat, separator=" "))
    words = base["review_text"].fill_null("").str.count_matches(r"\S+").mean()
    print(f"{base.height:,} distinct sample reviews ({words:.0f} words each), repeated round robin")
    for reader, count in (("rules", args.reviews), ("spacy", args.spacy_reviews)):
        if count:
            seconds, usable = time_reader(reader, frame.head(count), items, args.batch_size)
            verdict = f"; target < 120 s for 1,000,000: {'met' if seconds * 1_000_000 / count < 120 else 'MISSED'}"
            print(
                f"template rationales ({reader}): {count:,} reviews in {seconds:.1f} s ({count / seconds:,.0f}/s), "
                f"{usable:,} usable" + (verdict if reader == "rules" else "")
            )


def time_reader(reader: str, frame: pl.DataFrame, items: dict, batch_size: int) -> tuple[float, int]:
    backend = TemplateRationaleBackend(reader)
    sampling = Sampling()
    generator = {"backend": "template", "model": backend.spec.model}
    usable = 0
    start = time.perf_counter()
    for offset in range(0, frame.height, batch_size):
        requests = make_requests(frame.slice(offset, batch_size), items)
        for request, text in zip(requests, backend.generate(requests, sampling), strict=True):
            usable += not make_record(request, text, generator, "id")["problems"]
    return time.perf_counter() - start, usable


if __name__ == "__main__":
    main()
