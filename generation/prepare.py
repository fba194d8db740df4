"""`distillrecdial prepare`: source dumps → catalog, interactions and one prompt per user.

Steps: parse the three sources (bad records are counted, never fatal) → the
catalog (titled meta items with a TMDB match) → one interaction per
(user, item) → k-core to a fixed point → per user, the latest interaction is
the target and up to ``history_size`` before it the history → a persona per
user → the persona's prompt. Artefacts are written atomically into the run
folder with a manifest entry that names inputs, parameters and counts.
"""

from __future__ import annotations

import argparse
import functools
import itertools
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from distillrecdial_kit.generation import amazon, tmdb
from distillrecdial_kit.generation.catalog import StepCount, build_catalog, duplicate_rows, tmdb_frame
from distillrecdial_kit.generation.kcore import kcore
from distillrecdial_kit.generation.line_scan import compression
from distillrecdial_kit.generation.personas import PERSONA_BY_ID, PERSONAS, assign_personas, parse_weights
from distillrecdial_kit.generation.prompts import build_prompt
from distillrecdial_kit.generation.ratings import read_ratings
from distillrecdial_kit.generation.release_rules import release_core
from distillrecdial_kit.generation.source_cache import cached_parse
from distillrecdial_kit.generation.sources import HUB_DEFAULTS, resolve_source
from distillrecdial_kit.pipeline.atomic import atomic_path, remove_stale_temps
from distillrecdial_kit.pipeline.background import Background
from distillrecdial_kit.pipeline.console import note
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.faults import failpoint
from distillrecdial_kit.pipeline.layout import INTERACTIONS_FILE, ITEMS_FILE, PROMPTS_FILE, RunLayout
from distillrecdial_kit.pipeline.layout import PREPARE_PROBLEMS_FILE as PROBLEMS_FILE
from distillrecdial_kit.pipeline.lock import run_lock
from distillrecdial_kit.pipeline.manifest import file_fingerprint, package_versions, record_stage, sha256_file
from distillrecdial_kit.pipeline.problems import Problem, ProblemLog

#: Selection rules `prepare` knows.
PROFILES = ("default", "release")
#: A TMDB list at least this large is flattened in a second process; for a smaller one, starting the
#: interpreter costs more than it saves.
TMDB_PROCESS_BYTES = 16 << 20


@dataclass(frozen=True)
class PrepareConfig:
    """Everything that decides `prepare`'s output."""

    reviews: str
    meta: str
    tmdb: str
    out: Path
    k: int = 12
    seed: int = 42
    history_size: int = 9
    max_actors: int = 5
    persona_weights: str | None = None
    with_rationales: bool = False
    #: ``default`` (this pipeline's rules) or ``release`` (the first release's selection, see README "Profiles").
    profile: str = "default"
    #: The release profile's k-core input (``5core_rating_only_Movies_and_TV``); ``None``: the reviews.
    ratings: str | None = None

    def parameters(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "seed": self.seed,
            "history_size": self.history_size,
            "max_actors": self.max_actors,
            "persona_weights": parse_weights(self.persona_weights),
            **({"with_rationales": True} if self.with_rationales else {}),
            **({"profile": self.profile} if self.profile != "default" else {}),
        }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reviews", help="Amazon Reviews 2023 Movies_and_TV review JSONL (path or hf://datasets/...)")
    parser.add_argument("--meta", help="Amazon Reviews 2023 meta_Movies_and_TV JSONL (path or hf://datasets/...)")
    parser.add_argument("--tmdb", help="TMDB list keyed by asin: JSON array or JSONL (path or hf://datasets/...)")
    parser.add_argument(
        "--from-hub",
        action="store_true",
        help="download any source not given from the Hub (needs network): " + ", ".join(HUB_DEFAULTS.values()),
    )
    parser.add_argument("--out", required=True, type=Path, help="run folder to write into (created if missing)")
    parser.add_argument(
        "--k", type=int, default=12, help="k-core: min interactions per kept user and item (default 12)"
    )
    parser.add_argument("--seed", type=int, default=42, help="seed for persona assignment (default 42)")
    parser.add_argument(
        "--history-size", type=int, default=9, help="interactions before the target kept as history (default 9)"
    )
    parser.add_argument("--max-actors", type=int, default=5, help="top-billed actors kept per movie (default 5)")
    parser.add_argument(
        "--persona-weights",
        metavar="NAME=W,...",
        help="persona proportions, e.g. 'cold_start_browser=2,fully_expressive=1' (default: uniform over "
        + ", ".join(p.id for p in PERSONAS)
        + ")",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="default",
        help="selection rules: 'default' (this pipeline's) or 'release' (the first release's, to regenerate "
        "its user set: Amazon title longer than 2 characters, a TMDB record, k-core on --ratings)",
    )
    parser.add_argument(
        "--ratings",
        help="with --profile release: the ratings the k-core runs on, as the release did "
        "(5core rating_only Movies_and_TV CSV, or review-format JSONL; default: the reviews)",
    )
    parser.add_argument(
        "--with-rationales",
        action="store_true",
        help="show the user's distilled preferences (RUN/rationales, from `rationales`) instead of raw review text",
    )


def config_from_args(args: argparse.Namespace) -> PrepareConfig:
    sources = {}
    for kind in ("reviews", "meta", "tmdb"):
        value = getattr(args, kind) or (HUB_DEFAULTS[kind] if args.from_hub else None)
        if value is None:
            raise StageError(f"--{kind} is required (or pass --from-hub to download it)")
        sources[kind] = value
    if args.ratings is not None and args.profile != "release":
        raise StageError("--ratings is only read by --profile release")
    if args.ratings is not None:
        sources["ratings"] = args.ratings
    if args.k < 1 or args.history_size < 0 or args.max_actors < 0:
        raise StageError("--k must be >= 1, --history-size and --max-actors >= 0")
    try:
        parse_weights(args.persona_weights)
    except ValueError as err:
        raise StageError(str(err)) from None
    return PrepareConfig(
        **sources,
        out=args.out,
        k=args.k,
        seed=args.seed,
        history_size=args.history_size,
        max_actors=args.max_actors,
        persona_weights=args.persona_weights,
        with_rationales=args.with_rationales,
        profile=args.profile,
    )


# -- parsing (cached for resumability) ---------------------------------------------------------


def _read_reviews(path: Path) -> tuple[pl.DataFrame, str, ProblemLog]:
    log = ProblemLog()
    table, scan = amazon.read_reviews(path, log)
    return pl.from_arrow(table), scan.sha256, log


def _read_meta(path: Path) -> tuple[pl.DataFrame, str, ProblemLog]:
    log = ProblemLog()
    table, scan = amazon.read_meta(path, log)
    return pl.from_arrow(table), scan.sha256, log


def _read_tmdb(path: Path, max_actors: int) -> tuple[pl.DataFrame, str, ProblemLog]:
    log = ProblemLog()
    records, sha256 = tmdb.read_tmdb(path, log, max_actors=max_actors)
    return tmdb_frame(records), sha256, log


def _parse_tmdb(cache_dir: Path, path: Path, max_actors: int) -> tuple[pl.DataFrame, str, ProblemLog, bool]:
    """The TMDB list, cached like the other sources (a module-level function: it may run in another process)."""
    return cached_parse(
        cache_dir, "tmdb", path, {"max_actors": max_actors}, functools.partial(_read_tmdb, path, max_actors)
    )


def _read_ratings(path: Path) -> tuple[pl.DataFrame, str, ProblemLog]:
    log = ProblemLog()
    frame, sha256 = read_ratings(path, log)
    return frame, sha256, log


def _unusable(kind: str, path: Path, found: ProblemLog) -> StageError:
    """The error for a source without one usable record, naming the file (never a k-core hint)."""
    name = path.name
    if not len(found):
        return StageError(f"{kind} file {name} is empty: no record to read", exit_code=1)
    reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(found.counts.items()))
    return StageError(f"{kind} file {name} has no usable record ({reasons}; details in {PROBLEMS_FILE})", exit_code=1)


# -- interactions ------------------------------------------------------------------------------


def one_per_pair(reviews: pl.DataFrame, reviews_file: str) -> tuple[pl.DataFrame, StepCount, list[Problem]]:
    """One review per (user, item): the earliest (by time, then line) wins; the others are problems.

    Only the rows of repeated pairs are ranked; the (many) others pass as they are.
    """
    repeated_pair = reviews.select("user_id", "item_id").is_duplicated()
    if repeated_pair.any():
        first, repeated = duplicate_rows(reviews.filter(repeated_pair), ["user_id", "item_id"], ["timestamp", "line"])
        unique = pl.concat([reviews.filter(~repeated_pair), first])
    else:
        unique, repeated = reviews, reviews.clear()
    problems = [
        Problem(reviews_file, line, "duplicate_review", "user_id+parent_asin", f"{user} {item}")
        for user, item, line in repeated.select("user_id", "item_id", "line").sort("line").iter_rows()
    ]
    step = StepCount(
        "reviews: one per (user, item)",
        reviews.height,
        unique.height,
        {"duplicate_review": repeated.height} if repeated.height else {},
    )
    return unique, step, problems


def select_interactions(
    reviews: pl.DataFrame, item_ids: pl.Series, k: int, reviews_file: str
) -> tuple[pl.DataFrame, list[StepCount], list[Problem]]:
    """One interaction per (user, item), in the catalog, k-cored. Earliest review wins a duplicate."""
    unique, step, problems = one_per_pair(reviews, reviews_file)
    steps = [step]
    in_catalog = unique.filter(pl.col("item_id").is_in(item_ids.implode()))
    steps.append(
        StepCount(
            "reviews: item in catalog",
            unique.height,
            in_catalog.height,
            {"item_not_in_catalog": unique.height - in_catalog.height},
        )
    )
    core, rounds = kcore(in_catalog, k)
    steps.append(
        StepCount(
            f"k-core (k={k}, {rounds} rounds)",
            in_catalog.height,
            core.height,
            {"below_k": in_catalog.height - core.height},
        )
    )
    return core, steps, problems


def mark_roles(core: pl.DataFrame, history_size: int) -> pl.DataFrame:
    """Label each interaction ``target`` (the user's latest), ``history`` (up to N before) or ``earlier``.

    Ties in time are broken by line number so the order is total and stable.
    """
    ordered = core.sort(["user_id", "timestamp", "line"])
    from_end = pl.len().over("user_id") - 1 - pl.int_range(pl.len()).over("user_id")
    return ordered.with_columns(
        pl.when(from_end == 0)
        .then(pl.lit("target"))
        .when(from_end <= history_size)
        .then(pl.lit("history"))
        .otherwise(pl.lit("earlier"))
        .alias("role"),
        (pl.col("rating") > 3).alias("liked"),
    )


# -- the stage ---------------------------------------------------------------------------------


def _log(message: str) -> None:
    note("prepare", message)


def run(config: PrepareConfig) -> dict[str, Any]:
    """Run the stage (one at a time per run folder); return its summary, which is also its manifest entry."""
    if config.profile not in PROFILES:
        raise StageError(f"unknown profile {config.profile!r}: expected one of {', '.join(PROFILES)}")
    if config.ratings is not None and config.profile != "release":
        raise StageError("ratings are only read by the release profile")
    kinds = ("reviews", "meta", "tmdb") + (("ratings",) if config.ratings is not None else ())
    paths = {kind: resolve_source(kind, getattr(config, kind)) for kind in kinds}
    for kind, path in paths.items():
        try:
            compression(path)
        except StageError as err:
            raise StageError(f"{kind} file {err}") from None
    config.out.mkdir(parents=True, exist_ok=True)
    with run_lock(config.out, "prepare"):
        return _prepare(config, paths)


def _prepare(config: PrepareConfig, paths: dict[str, Path]) -> dict[str, Any]:
    out = config.out
    weights = parse_weights(config.persona_weights)
    cache_dir = RunLayout(out).cache("prepare")
    for directory in (out, cache_dir):
        remove_stale_temps(directory)
    problems = ProblemLog()

    parsed: dict[str, tuple[pl.DataFrame, str]] = {}
    readers = {
        "reviews": (lambda: _read_reviews(paths["reviews"]), {}),
        "meta": (lambda: _read_meta(paths["meta"]), {}),
    }
    if "ratings" in paths:
        readers["ratings"] = (lambda: _read_ratings(paths["ratings"]), {})
    # The sources are parsed at once. Arrow's reader and the hashing threads release the GIL; the TMDB list's
    # flattening is Python-bound, so it runs in a second process (with a second CPU), where it neither waits
    # for the GIL nor keeps the review scan waiting for it. Results are taken in a fixed order.
    with (
        Background(
            _parse_tmdb,
            cache_dir,
            paths["tmdb"],
            config.max_actors,
            enabled=paths["tmdb"].stat().st_size >= TMDB_PROCESS_BYTES,
        ) as tmdb_parse,
        ThreadPoolExecutor(max_workers=len(readers), thread_name_prefix="parse") as pool,
    ):
        pending = {
            kind: pool.submit(cached_parse, cache_dir, kind, paths[kind], params, read)
            for kind, (read, params) in readers.items()
        }
        done = {kind: future.result() for kind, future in pending.items()}
        done["tmdb"] = tmdb_parse.result()
    results = {kind: done[kind] for kind in ("reviews", "meta", "tmdb", "ratings") if kind in done}
    for kind, (frame, sha256, found, hit) in results.items():
        _log(f"{kind}: {frame.height:,} records from {paths[kind].name}" + (" (cached)" if hit else ""))
        problems.extend(found)
        parsed[kind] = (frame, sha256)
        if frame.height == 0:
            problems.write_jsonl(out / PROBLEMS_FILE)
            raise _unusable(kind, paths[kind], found)
    failpoint("prepare.after_parse")

    reviews, meta, tmdb_frame = parsed["reviews"][0], parsed["meta"][0], parsed["tmdb"][0]
    items, steps, found = build_catalog(meta, tmdb_frame, paths["meta"].name, paths["tmdb"].name, config.profile)
    problems.extend(found)
    if config.profile == "release":
        unique, step, found = one_per_pair(reviews, paths["reviews"].name)
        ratings, source = (parsed["ratings"][0], "ratings") if "ratings" in parsed else (reviews, "review lines")
        core, interaction_steps = release_core(ratings, unique, items["item_id"], config.k, source)
        interaction_steps.insert(0, step)
    else:
        core, interaction_steps, found = select_interactions(reviews, items["item_id"], config.k, paths["reviews"].name)
    problems.extend(found)
    steps += interaction_steps

    users = core["user_id"].unique().sort()
    if users.len() == 0:
        problems.write_jsonl(out / PROBLEMS_FILE)
        raise StageError(
            f"no users left after the {config.k}-core ({reviews.height:,} usable reviews, "
            f"{items.height:,} catalog items); lower --k or give more data",
            exit_code=1,
        )
    items = items.filter(pl.col("item_id").is_in(core["item_id"].unique().implode()))
    roles = mark_roles(core, config.history_size)
    personas = assign_personas(users.to_list(), config.seed, weights)

    # Review texts only reach prompts of personas that show reviews: fetch just those lines.
    readers_of_reviews = {p.id for p in PERSONAS if "review" in p.target_facts + p.history_facts}
    shown = roles.filter(pl.col("role") != "earlier")
    wanted = shown.filter(pl.col("user_id").replace_strict(personas, default=None).is_in(list(readers_of_reviews)))
    texts = amazon.read_review_texts(paths["reviews"], wanted["line"].to_list(), wanted["offset"].to_list())
    fetched = pl.DataFrame(
        {
            "line": list(texts),
            "review_title": [title for title, _ in texts.values()],
            "review_text": [text for _, text in texts.values()],
        },
        schema={"line": roles.schema["line"], "review_title": pl.String, "review_text": pl.String},
    )
    roles = roles.join(fetched, on="line", how="left", maintain_order="left")

    if config.with_rationales:
        from distillrecdial_kit.generation.rationale_prompts import attach_user_prefers

        roles, distilled = attach_user_prefers(roles, out)
        _log(f"rationales: distilled preferences for {distilled:,} shown interactions")
    prompts = render_prompts(roles, items, personas)
    write_outputs(out, items, roles, prompts, problems)
    per_persona = Counter(p["persona"] for p in prompts)
    entry = {
        "inputs": {kind: file_fingerprint(paths[kind], parsed[kind][1]) for kind in paths},
        "parameters": config.parameters(),
        "steps": [s.as_dict() for s in steps],
        "problems": problems.summary(),
        "counts": {
            "users": users.len(),
            "items": items.height,
            "interactions": core.height,
            "prompts": len(prompts),
            "prompts_per_persona": {p.id: per_persona.get(p.id, 0) for p in PERSONAS},
        },
        "outputs": {
            name: sha256_file(out / name) for name in (ITEMS_FILE, INTERACTIONS_FILE, PROMPTS_FILE, PROBLEMS_FILE)
        },
        "versions": package_versions(),
    }
    if config.with_rationales:
        from distillrecdial_kit.generation.rationale_prompts import rationales_fingerprint

        entry["inputs"]["rationales"] = rationales_fingerprint(out)
    record_stage(out, "prepare", entry)
    return entry


def render_prompts(roles: pl.DataFrame, items: pl.DataFrame, personas: dict[str, str]) -> list[dict[str, Any]]:
    """One prompt per user, ordered by persona then user (each persona's system prompt is a shared prefix)."""
    catalog = {row["item_id"]: row for row in items.to_dicts()}
    extra = ["user_prefers"] if "user_prefers" in roles.columns else []
    shown = roles.filter(pl.col("role") != "earlier").select(
        "user_id", "item_id", "rating", "role", "review_title", "review_text", *extra
    )
    prompts = []
    for user, rows in itertools.groupby(shown.to_dicts(), key=lambda r: r["user_id"]):
        rows = list(rows)
        target = rows[-1]
        history = [(catalog[r["item_id"]], r) for r in rows[:-1]]
        prompts.append(build_prompt(user, PERSONA_BY_ID[personas[user]], catalog[target["item_id"]], target, history))
    order = {p.id: i for i, p in enumerate(PERSONAS)}
    prompts.sort(key=lambda p: (order[p["persona"]], p["user_id"]))
    return prompts


def write_outputs(
    out: Path, items: pl.DataFrame, roles: pl.DataFrame, prompts: list[dict[str, Any]], problems: ProblemLog
) -> None:
    """Write the artefacts atomically: a killed run leaves the old file or the new one, never half."""
    with atomic_path(out / ITEMS_FILE) as tmp:
        items.write_parquet(tmp, statistics=False)
    interactions = roles.select(
        "user_id",
        "item_id",
        "rating",
        "timestamp",
        "liked",
        "role",
        "review_title",
        "review_text",
        pl.col("line").alias("source_line"),
    )
    with atomic_path(out / INTERACTIONS_FILE) as tmp:
        interactions.write_parquet(tmp, statistics=False)
    with atomic_path(out / PROMPTS_FILE) as tmp, open(tmp, "wb") as handle:
        for prompt in prompts:
            handle.write(orjson.dumps(prompt) + b"\n")
    problems.write_jsonl(out / PROBLEMS_FILE)


def summary_lines(entry: dict[str, Any]) -> list[str]:
    """The human summary: counts, prompts per persona, drops with reasons."""
    counts = entry["counts"]
    k = entry["parameters"]["k"]
    lines = [
        f"prepare: {counts['users']:,} users, {counts['items']:,} items, {counts['interactions']:,} interactions "
        f"(k={k}) → {counts['prompts']:,} prompts",
        "  prompts per persona: " + ", ".join(f"{name} {n}" for name, n in counts["prompts_per_persona"].items()),
    ]
    for step in entry["steps"]:
        dropped = ", ".join(f"{reason} {n:,}" for reason, n in step["dropped"].items() if n) or "none"
        lines.append(f"  {step['step']}: {step['in']:,} → {step['out']:,} (dropped: {dropped})")
    bad = entry["problems"]["counts"]
    lines.append(
        "  input problems: "
        + (", ".join(f"{r} {n:,}" for r, n in bad.items()) or "none")
        + (f" (details in {PROBLEMS_FILE})" if bad else "")
    )
    return lines
