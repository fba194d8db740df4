"""`distillrecdial rationales`: reviews → two short rationales each (RDRec): what the user prefers, what the item is.

By default every review a prompt shows (the personas that read reviews) gets
rationales; ``--all`` takes every review in the k-core from
``RUN/interactions.parquet`` (``--reviews`` supplies the texts prepare did not
keep). The teacher is asked for two labelled lines, parsed tolerantly (repairs
recorded as ``fixed:*``, failures counted by reason). Records go to
``RUN/rationales/`` append-only with the same backends, batching, sharding,
resume and provenance as `generate` (``--num-shards N --shard-index i`` on N
machines, then ``--merge`` once; ``--executor ray`` for replicas on a Ray
cluster); ``--backend template`` is an extractive
rule-based writer, labelled as such (``--template-nlp rules`` for millions). Then ``prepare --with-rationales`` puts
``user_prefers`` in the prompts in place of raw review text, and `build`
publishes the ``rationales`` config and ``items.item_rationales``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from distillrecdial_kit.generation import ray_executor
from distillrecdial_kit.generation.backends import Backend, ModelSpec, Sampling, add_model_arguments
from distillrecdial_kit.generation.generator import (
    VERSIONED,
    check_generator,
    generator_info,
    load_backend,
    parse_backend_args,
    record_generator,
)
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
from distillrecdial_kit.pipeline.console import note, progress, warn
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import INTERACTIONS_FILE, ITEMS_FILE, PROMPTS_FILE
from distillrecdial_kit.pipeline.manifest import package_versions, read_manifest, record_stage
from distillrecdial_kit.pipeline.problems import ProblemLog
from distillrecdial_kit.pipeline.stage import config_from

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
    ray_executor.add_arguments(parser)


@dataclass(frozen=True)
class RationalesConfig:
    """Everything that decides `rationales`' output (and where it runs: ``executor``, ``ray``)."""

    run: Path
    backend: str = "template"
    model: str | None = None
    revision: str | None = None
    adapter: str | None = None
    backend_options: dict[str, Any] = field(default_factory=dict)
    temperature: float = 0.2
    top_p: float = 0.9
    max_new_tokens: int = 128
    seed: int = 42
    batch_size: int = 64
    num_shards: int = 1
    shard_index: int = 0
    limit: int | None = None
    role: str = "teacher"
    every: bool = False  # --all
    reviews: Path | None = None
    template_nlp: str = "spacy"
    merge: bool = False
    executor: str = "local"
    ray: ray_executor.RayOptions = field(default_factory=ray_executor.RayOptions)

    @property
    def sampling(self) -> Sampling:
        return Sampling(self.temperature, self.top_p, self.max_new_tokens, self.seed)

    @property
    def manifest_key(self) -> str:
        return f"rationales:shard-{self.shard_index}-of-{self.num_shards}"


def config_from_args(args: argparse.Namespace) -> RationalesConfig:
    """The command line → a config (checked by :func:`run`, where Python callers meet it too)."""
    return config_from(
        RationalesConfig,
        args,
        backend=args.backend or ("vllm" if args.model else "template"),
        backend_options=parse_backend_args(args.backend_arg),
        every=args.all,
        ray=ray_executor.RayOptions.from_args(args),
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

    Plain JSON values only, so a request travels to Ray replicas as JSON bytes and comes back the same.

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
                "review": [title, text],
                "item": asdict(item.description),
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
                written = write_rationales(
                    ItemDescription(**request["item"]), request["rating"], *request["review"], phrases=phrases
                )
                results.append(format_rationale(*written))
            except (KeyError, IndexError, TypeError, ValueError) as err:
                results.append(err)
        return results

    def close(self) -> None:
        pass


def load_rationale_backend(name: str, spec: ModelSpec, reader: str = "spacy") -> Backend:
    """The backend that writes rationales: the extractive template writer, or a model backend loaded as `generate`
    loads it (on this machine, or on each Ray replica)."""
    return TemplateRationaleBackend(reader) if name == "template" else load_backend(name, spec)


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


def run_rationales(config: RationalesConfig) -> dict[str, Any]:
    """Write the rationales of this shard's reviews not yet done; return the summary (the manifest entry)."""
    spec = ModelSpec(config.model, config.revision, config.adapter, dict(config.backend_options))
    if config.backend == "template":
        spec = ModelSpec(model=template_model(config.template_nlp))
    sampling = config.sampling
    folder = config.run / RATIONALES_DIR
    generator = generator_info(config.backend, config.role, spec, sampling)
    check_generator(folder, generator)
    generator["versions"] = package_versions(VERSIONED)

    frame, without_text = select_reviews(config.run, config.every, config.reviews)
    keys = [
        rationale_id(u, i, generator)
        for u, i in zip(frame["user_id"].to_list(), frame["item_id"].to_list(), strict=True)
    ]
    mine = [n for n, key in enumerate(keys) if shard_of(key, config.num_shards) == config.shard_index]
    if config.limit is not None:
        mine = mine[: config.limit]
    shard_path = folder / shard_name(config.shard_index, config.num_shards)
    state = resume_shard(shard_path, config.run)
    todo = [n for n in mine if keys[n] not in state.done]
    note(
        "rationales",
        f"{len(mine):,} reviews in shard {config.shard_index}/{config.num_shards}, "
        f"{len(mine) - len(todo):,} already done"
        + (f", {without_text:,} without text skipped" if without_text else "")
        + (f", repaired a torn tail of {state.torn_bytes} bytes" if state.torn_bytes else ""),
    )
    skipped = ProblemLog()
    skipped.extend(state.bad)
    if skipped:
        warn("rationales", f"bad lines skipped (their reviews are written again): {skipped.brief()}")

    tally = Tally()
    failures: Counter[str] = Counter()
    executor: dict[str, Any] = {"name": config.executor}
    written = 0
    if todo:
        items = load_items(config.run)
        chosen = frame[todo]
        load = partial(load_rationale_backend, reader=config.template_nlp)
        if config.executor == "ray":
            job = ray_executor.RayJob("rationales", config.backend, spec, sampling, generator, load, make_record)
            requests = make_requests(chosen, items)
            outcome = ray_executor.run_on_ray(
                config.ray,
                job,
                [(keys[n], request) for n, request in zip(todo, requests, strict=True)],
                shard_path,
                lambda: record_generator(folder, generator),
                config.batch_size,
                "rationales (ray)",
                "review",
                tally.add,
            )
            written, failures, executor = outcome.written, outcome.failures, outcome.executor
        else:
            backend = load(config.backend, spec)
            record_generator(folder, generator)
            try:
                with (
                    ShardWriter(shard_path) as writer,
                    progress(total=len(todo), desc="rationales", unit="review") as bar,
                ):
                    for start in range(0, len(todo), config.batch_size):
                        requests = make_requests(chosen.slice(start, config.batch_size), items)
                        records = []
                        for position, (request, result) in enumerate(
                            zip(requests, backend.generate(requests, sampling), strict=True)
                        ):
                            if isinstance(result, Exception):
                                failures[type(result).__name__] += 1
                                continue
                            record = make_record(request, result, generator, keys[todo[start + position]])
                            tally.add(record)
                            records.append(record)
                        written += writer.write(records)
                        bar.update(len(requests))
            finally:
                backend.close()

    merged = merge_rationales(folder) if config.num_shards == 1 and folder.exists() else None
    return {
        "backend": config.backend,
        "generator": {k: v for k, v in generator.items() if k != "versions"},
        "scope": "all" if config.every else "shown",
        "shard": [config.shard_index, config.num_shards],
        "executor": executor,
        "reviews": len(mine),
        "without_text": without_text,
        "already_done": len(mine) - len(todo),
        "written": written,
        "usable": tally.usable,
        "failed": dict(sorted(failures.items())),
        "problems": dict(sorted(tally.problems.items())),
        "merged": merged,
        "skipped_lines": skipped.summary(),
    }


@dataclass
class Tally:
    """The per-record counts of a run, kept the same way whichever executor wrote the records."""

    usable: int = 0
    problems: Counter[str] = field(default_factory=Counter)

    def add(self, record: dict[str, Any]) -> None:
        self.usable += not errors(record["problems"])
        self.problems.update(record["problems"])


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


def check(config: RationalesConfig) -> None:
    """What cannot run is refused before anything is read."""
    if not 0 <= config.shard_index < config.num_shards:
        raise StageError(f"--shard-index must be in [0, {config.num_shards})")
    if config.reviews is not None and not config.every:
        raise StageError("--reviews is only read with --all")
    if config.batch_size < 1:
        raise StageError("--batch-size must be at least 1")
    if config.backend != "template" and not config.model:
        raise StageError(f"--backend {config.backend} needs --model")
    if config.backend == "template" and (config.backend_options or config.adapter or config.model):
        raise StageError("--backend template takes no --model, --adapter or --backend-arg: it runs no model")
    if config.adapter and not Path(config.adapter).exists() and config.backend != "openai":
        raise StageError(f"adapter folder not found: {config.adapter}")


def run(config: RationalesConfig) -> dict[str, Any]:
    """The stage: write this shard's rationales and record them in the manifest (or, with ``merge``, only merge)."""
    check(config)
    folder = config.run / RATIONALES_DIR
    if config.merge:
        if not any(folder.glob("shard-*-of-*.jsonl")):
            raise StageError(f"no shard files in {folder}; run `distillrecdial rationales --run {config.run}` first")
        return {"merged_only": True, "merged": merge_rationales(folder), "folder": str(folder)}
    entry = run_rationales(config)
    record_stage(config.run, config.manifest_key, entry)
    return entry


def summary_lines(entry: dict[str, Any]) -> list[str]:
    if entry.get("merged_only"):
        return [f"rationales: merged {entry['merged']:,} records into {Path(entry['folder']) / MERGED_FILE}"]
    return [summary_line(entry)]


def failure(entry: dict[str, Any]) -> str | None:
    """The run failed when every review it tried failed (the summary line says why); a rerun retries them."""
    failed = sum(entry.get("failed", {}).values())
    return f"every one of {failed:,} reviews failed" if failed and not entry.get("written") else None
