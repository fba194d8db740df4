"""`distillrecdial rationales`: reviews → two short rationales each (RDRec): what the user prefers, what the item is.

By default every review a prompt shows (the personas that read reviews) gets
rationales; ``--all`` takes every review in the k-core from
``RUN/interactions.parquet`` (``--reviews`` supplies the texts prepare did not
keep). The teacher is asked for two labelled lines, parsed tolerantly (repairs
recorded as ``fixed:*``, failures counted by reason). Records go to
``RUN/rationales/`` append-only with the same backends, batching, sharding,
resume and provenance as `generate` (``--num-shards N --shard-index i`` on N
machines, then ``--merge`` once); ``--backend template`` is an extractive
rule-based writer, labelled as such (``--template-nlp rules`` for millions). Then ``prepare --with-rationales`` puts
``user_prefers`` in the prompts in place of raw review text, and `build`
publishes the ``rationales`` config and ``items.item_rationales``.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from distillrecdial_kit.generation.backends import Backend, ModelSpec, Sampling, add_model_arguments
from distillrecdial_kit.generation.generator import (
    VERSIONED,
    check_generator,
    generator_info,
    load_backend,
    parse_backend_args,
    record_generator,
)
from distillrecdial_kit.generation.prepare import INTERACTIONS_FILE, ITEMS_FILE, PROMPTS_FILE
from distillrecdial_kit.generation.rationale_format import (
    ITEM_FACTS,
    errors,
    facts_block,
    format_rationale,
    parse_rationale,
    request_messages,
)
from distillrecdial_kit.generation.rationale_store import (
    MERGED_FILE,
    RATIONALES_DIR,
    merge_rationales,
    rationale_id,
    resume_shard,
)
from distillrecdial_kit.generation.rationale_template import (
    TEMPLATE_MODEL,
    ItemDescription,
    describe_item,
    review_text,
    write_rationales,
)
from distillrecdial_kit.generation.raw_store import ShardWriter, shard_name, shard_of
from distillrecdial_kit.pipeline.console import note, progress
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.manifest import package_versions, read_manifest, record_stage

ROLES = ("teacher", "student")
#: How the template writer reads reviews.
READERS = ("spacy", "rules")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder after `prepare`")
    add_model_arguments(
        parser,
        unit="reviews",
        temperature=0.2,
        max_new_tokens=128,
        adapter_help="LoRA adapter folder (a distilled rationale student)",
    )
    parser.add_argument("--role", choices=ROLES, default="teacher", help="recorded in the provenance (default teacher)")
    parser.add_argument("--all", action="store_true", help="every review in the k-core, not only those prompts show")
    parser.add_argument(
        "--reviews", type=Path, help="with --all: the review dump, to read the texts prepare did not keep"
    )
    parser.add_argument(
        "--template-nlp",
        choices=READERS,
        default="spacy",
        help="how --backend template reads reviews: spacy (parse + word scan, default) or rules (word scan only, "
        "for millions of reviews)",
    )
    parser.add_argument(
        "--merge", action="store_true", help="only join the shard files of a sharded run into rationales.jsonl"
    )


# -- inputs ------------------------------------------------------------------------------------


def _need(path: Path, run: Path) -> Path:
    if not path.exists():
        raise StageError(f"{path} not found; run `distillrecdial prepare --out {run}` first")
    return path


def shown_reviews(prompts_path: Path) -> set[tuple[str, str]]:
    """(user, item) of every review some prompt shows: the target's and the history's."""
    shown: set[tuple[str, str]] = set()
    with open(prompts_path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                prompt = orjson.loads(line)
                facts = [prompt["inputs"]["target"], *prompt["inputs"]["history"]]
                shown.update((prompt["user_id"], f["item_id"]) for f in facts if "review" in f)
            except (orjson.JSONDecodeError, KeyError, TypeError) as err:
                raise StageError(f"{prompts_path}:{number}: unreadable prompt record ({type(err).__name__})") from None
    return shown


def check_reviews_file(run: Path, reviews: Path) -> None:
    """Refuse a review dump other than the one `prepare` read: its line numbers would point at other reviews."""
    if not reviews.exists():
        raise StageError(f"--reviews {reviews} not found")
    known = read_manifest(run).get("stages", {}).get("prepare", {}).get("inputs", {}).get("reviews")
    if known and known.get("bytes") != reviews.stat().st_size:
        raise StageError(
            f"--reviews {reviews} is not the file prepare read ({known.get('name')}, {known.get('bytes'):,} bytes): "
            "its line numbers would name other reviews"
        )


def select_reviews(run: Path, every: bool, reviews: Path | None) -> tuple[pl.DataFrame, int]:
    """The reviews to write rationales for, sorted by (user, item); and how many lack any text."""
    frame = pl.read_parquet(
        _need(run / INTERACTIONS_FILE, run),
        columns=["user_id", "item_id", "rating", "review_title", "review_text", "source_line"],
    )
    if not every:
        pairs = shown_reviews(_need(run / PROMPTS_FILE, run))
        wanted = pl.DataFrame(
            {"user_id": [u for u, _ in pairs], "item_id": [i for _, i in pairs]},
            schema={"user_id": pl.String, "item_id": pl.String},
        )
        frame = frame.join(wanted, on=["user_id", "item_id"], how="semi")
    elif reviews is not None:
        from distillrecdial_kit.generation.amazon import read_review_texts

        check_reviews_file(run, reviews)
        missing = frame.filter(pl.col("review_title").is_null() & pl.col("review_text").is_null())
        texts = read_review_texts(reviews, missing["source_line"].to_list())
        frame = frame.with_columns(
            pl.coalesce(
                "review_title",
                pl.col("source_line").replace_strict(
                    {n: t[0] for n, t in texts.items()}, default=None, return_dtype=pl.String
                ),
            ),
            pl.coalesce(
                "review_text",
                pl.col("source_line").replace_strict(
                    {n: t[1] for n, t in texts.items()}, default=None, return_dtype=pl.String
                ),
            ),
        )
    has_text = pl.col("review_title").is_not_null() | pl.col("review_text").is_not_null()
    without = frame.filter(~has_text).height
    return frame.filter(has_text).sort(["user_id", "item_id"]), without


@dataclass(frozen=True)
class PreparedItem:
    """An item's request block and template description, computed once and shared by all its reviews."""

    block: str
    description: ItemDescription


def prepare_item(item: dict[str, Any]) -> PreparedItem:
    return PreparedItem(facts_block(item), describe_item(item))


def load_items(run: Path) -> dict[str, PreparedItem]:
    items = pl.read_parquet(_need(run / ITEMS_FILE, run))
    keep = ["item_id", *(name for name in ITEM_FACTS if name in items.columns)]
    return {row["item_id"]: prepare_item(row) for row in items.select(keep).iter_rows(named=True)}


def make_requests(frame: pl.DataFrame, items: dict[str, PreparedItem]) -> list[dict[str, Any]]:
    """One backend request per review: the chat prompt plus what the template writer and the record need.

    ``persona`` carries the item id because backends derive each request's seed from (user_id, persona).
    """
    requests = []
    columns = ("user_id", "item_id", "rating", "review_title", "review_text", "source_line")
    for user, item_id, rating, title, text, line in frame.select(columns).iter_rows():
        item = items.get(item_id) or prepare_item({"item_id": item_id})
        requests.append(
            {
                "user_id": user,
                "persona": f"rationale:{item_id}",
                "item_id": item_id,
                "review_line": line,
                "rating": rating,
                "review": (title, text),
                "item": item.description,
                "prompt": request_messages(item.block, rating, title, text),
            }
        )
    return requests


# -- writing -----------------------------------------------------------------------------------


def template_model(reader: str) -> str:
    """The template's provenance name: the writer's version and how it read the reviews."""
    if reader == "rules":
        return f"{TEMPLATE_MODEL}+rules"
    from distillrecdial_kit.generation.rationale_spacy import MODEL_PACKAGE, model_version

    version = model_version()
    if version is None:
        raise StageError(
            f"--template-nlp spacy needs the {MODEL_PACKAGE} package (pip install -r requirements.txt); "
            "or pass --template-nlp rules"
        )
    return f"{TEMPLATE_MODEL}+en_core_web_sm-{version}"


class TemplateRationaleBackend:
    """``--backend template``: the extractive writer behind the backend interface (answers in the fixed format)."""

    name = "template"

    def __init__(self, reader: str = "spacy") -> None:
        self.reader = reader
        self.spec = ModelSpec(model=template_model(reader))

    def generate(self, prompts: Sequence[dict[str, Any]], sampling: Sampling) -> list[str | Exception]:
        if self.reader == "spacy":
            from distillrecdial_kit.generation.rationale_spacy import spacy_phrases

            read = spacy_phrases([review_text(*request["review"]) for request in prompts])
        else:
            read = [None] * len(prompts)  # the writer scans each review itself
        results: list[str | Exception] = []
        for request, phrases in zip(prompts, read, strict=True):
            try:
                written = write_rationales(request["item"], request["rating"], *request["review"], phrases=phrases)
                results.append(format_rationale(*written))
            except (KeyError, IndexError, TypeError, ValueError) as err:
                results.append(err)
        return results

    def close(self) -> None:
        pass


def make_record(request: dict[str, Any], response: str, generator: dict[str, Any], key: str) -> dict[str, Any]:
    """A stored rationale record from a request and the model's text."""
    parsed = parse_rationale(response)
    return {
        "rationale_id": key,
        "user_id": request["user_id"],
        "item_id": request["item_id"],
        "review_line": request["review_line"],
        "rating": request["rating"],
        "user_prefers": parsed.user_prefers,
        "item_is": parsed.item_is,
        "generator": generator,
        "problems": parsed.problems,
        "prompt": request["prompt"],
        "response": response,
    }


def run_rationales(args: argparse.Namespace) -> dict[str, Any]:
    if not 0 <= args.shard_index < args.num_shards:
        raise StageError(f"--shard-index must be in [0, {args.num_shards})")
    if args.reviews is not None and not args.all:
        raise StageError("--reviews is only read with --all")
    backend_name = args.backend or ("vllm" if args.model else "template")
    spec = ModelSpec(args.model, args.revision, args.adapter, parse_backend_args(args.backend_arg))
    if backend_name != "template" and not args.model:
        raise StageError(f"--backend {backend_name} needs --model")
    if backend_name == "template":
        if spec.options or args.adapter or args.model:
            raise StageError("--backend template takes no --model, --adapter or --backend-arg: it runs no model")
        spec = ModelSpec(model=template_model(args.template_nlp))
    if args.adapter and not Path(args.adapter).exists() and backend_name != "openai":
        raise StageError(f"adapter folder not found: {args.adapter}")
    sampling = Sampling(args.temperature, args.top_p, args.max_new_tokens, args.seed)
    folder = args.run / RATIONALES_DIR
    generator = generator_info(backend_name, args.role, spec, sampling)
    check_generator(folder, generator)
    generator["versions"] = package_versions(VERSIONED)

    frame, without_text = select_reviews(args.run, args.all, args.reviews)
    keys = [
        rationale_id(u, i, generator)
        for u, i in zip(frame["user_id"].to_list(), frame["item_id"].to_list(), strict=True)
    ]
    mine = [n for n, key in enumerate(keys) if shard_of(key, args.num_shards) == args.shard_index]
    if args.limit is not None:
        mine = mine[: args.limit]
    shard_path = folder / shard_name(args.shard_index, args.num_shards)
    done, torn = resume_shard(shard_path)
    todo = [n for n in mine if keys[n] not in done]
    note(
        "rationales",
        f"{len(mine):,} reviews in shard {args.shard_index}/{args.num_shards}, {len(mine) - len(todo):,} already done"
        + (f", {without_text:,} without text skipped" if without_text else "")
        + (f", repaired a torn tail of {torn} bytes" if torn else ""),
    )

    written, usable = 0, 0
    failures: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    if todo:
        items = load_items(args.run)
        backend: Backend = (
            TemplateRationaleBackend(args.template_nlp)
            if backend_name == "template"
            else load_backend(backend_name, spec)
        )
        record_generator(folder, generator)
        chosen = frame[todo]
        try:
            with (
                ShardWriter(shard_path) as writer,
                progress(total=len(todo), desc="rationales", unit="review") as bar,
            ):
                for start in range(0, len(todo), args.batch_size):
                    requests = make_requests(chosen.slice(start, args.batch_size), items)
                    records = []
                    for position, (request, result) in enumerate(
                        zip(requests, backend.generate(requests, sampling), strict=True)
                    ):
                        if isinstance(result, Exception):
                            failures[type(result).__name__] += 1
                            continue
                        record = make_record(request, result, generator, keys[todo[start + position]])
                        usable += not errors(record["problems"])
                        problems.update(record["problems"])
                        records.append(record)
                    written += writer.write(records)
                    bar.update(len(requests))
        finally:
            backend.close()

    merged = merge_rationales(folder) if args.num_shards == 1 and folder.exists() else None
    return {
        "backend": backend_name,
        "generator": {k: v for k, v in generator.items() if k != "versions"},
        "scope": "all" if args.all else "shown",
        "shard": [args.shard_index, args.num_shards],
        "reviews": len(mine),
        "without_text": without_text,
        "already_done": len(mine) - len(todo),
        "written": written,
        "usable": usable,
        "failed": dict(sorted(failures.items())),
        "problems": dict(sorted(problems.items())),
        "merged": merged,
    }


def summary_line(entry: dict[str, Any]) -> str:
    failed = sum(entry["failed"].values())
    line = (
        f"rationales ({entry['backend']}, {entry['scope']} reviews): {entry['reviews']:,} reviews → "
        f"{entry['written']:,} written ({entry['usable']:,} usable), {entry['already_done']:,} already done, "
        f"{failed:,} failed"
    )
    if failed:
        line += " (" + ", ".join(f"{k} {n}" for k, n in entry["failed"].items()) + "; rerun to retry them)"
    if entry["without_text"]:
        line += f"; {entry['without_text']:,} reviews without text skipped"
    if entry["problems"]:
        line += "; problems: " + ", ".join(f"{k} {n}" for k, n in entry["problems"].items())
    if entry["merged"] is not None:
        line += f"; {entry['merged']:,} records in {RATIONALES_DIR}/{MERGED_FILE}"
    return line


def run(args: argparse.Namespace) -> int:
    if args.merge:
        folder = args.run / RATIONALES_DIR
        if not any(folder.glob("shard-*-of-*.jsonl")):
            raise StageError(f"no shard files in {folder}; run `distillrecdial rationales --run {args.run}` first")
        print(f"rationales: merged {merge_rationales(folder):,} records into {folder / MERGED_FILE}")
        return 0
    entry = run_rationales(args)
    record_stage(args.run, f"rationales:shard-{args.shard_index}-of-{args.num_shards}", entry)
    print(summary_line(entry))
    failed = sum(entry["failed"].values())
    if failed and not entry["written"]:
        print(f"distillrecdial rationales: error: every one of {failed:,} reviews failed", file=sys.stderr)
        return 1
    return 0
