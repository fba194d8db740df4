"""`distillrecdial select`: choose which prompts get generated under a budget of N dialogues.

A 70B teacher costs GPU-hours per thousand dialogues; under a budget, some users teach more than
others. Strategies (see :mod:`generation.selection`): ``random`` (seeded, persona-stratified),
``kcenter`` (farthest-first over the users' tastes: their target and history items' genres, keywords,
people and collection, plus the review texts the prompts show) and ``uncertainty`` (users whose target an
item-kNN recommender on the k-core ranks worst or scores flattest). Every strategy keeps the persona mix.

Writes ``RUN/selection.jsonl`` (``prompt_id``, ``user_id``, ``persona``, ``rank``, ``score``), ranked so
that any prefix is itself a sensible smaller selection; `generate` then covers exactly those prompts.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl
import scipy.sparse as sp

from distillrecdial_kit.generation.collaborative import cosine_item_similarity
from distillrecdial_kit.generation.dialogue_parser import user_items
from distillrecdial_kit.generation.item_fields import LIST_FACTS
from distillrecdial_kit.generation.personas import PERSONAS
from distillrecdial_kit.generation.selection import (
    STRATEGIES,
    farthest_first,
    persona_quotas,
    uncertainty_scores,
    user_features,
)
from distillrecdial_kit.pipeline.atomic import write_bytes
from distillrecdial_kit.pipeline.console import note, progress
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.jsonl import require
from distillrecdial_kit.pipeline.layout import SELECTION_FILE, RunLayout, read_items, read_prompts
from distillrecdial_kit.pipeline.manifest import record_stage
from distillrecdial_kit.pipeline.seeded import uniforms
from distillrecdial_kit.pipeline.stage import config_from

REPRESENTATION = (
    "TF-IDF of the target and history items' genres, keywords, actors, directors, collection and ids, "
    "plus TF-IDF of the review texts the prompt shows; truncated SVD to {dims} dimensions; cosine distance"
)
NEIGHBOURS = 100
UNCERTAINTY = (
    f"item-kNN ({NEIGHBOURS} nearest neighbours by cosine on k-core co-interaction, targets held out) "
    "from the user's history; "
    "score = mean of the target's normalised rank and the normalised entropy of the candidates' scores"
)


#: What selection reads of a prompt (the dialogue prompt itself is not needed to choose).
SELECT_FIELDS = require(prompt_id=str, user_id=str, persona=str, target_item=str, history=list)


@dataclass(frozen=True)
class SelectConfig:
    """Everything that decides `select`'s output."""

    run: Path
    strategy: str
    budget: int
    seed: int = 42
    dims: int = 64


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="run folder after `prepare`")
    parser.add_argument("--strategy", required=True, choices=STRATEGIES, help="how to choose the prompts")
    parser.add_argument("--budget", required=True, type=int, help="how many prompts (dialogues) to generate")
    parser.add_argument("--seed", type=int, default=42, help="seed for the shuffle, the first centre and the SVD")
    parser.add_argument("--dims", type=int, default=64, help="kcenter: dimensions of the user representation")


def config_from_args(args: argparse.Namespace) -> SelectConfig:
    if args.budget < 1 or args.dims < 1:
        raise StageError("--budget and --dims must be >= 1")
    return config_from(SelectConfig, args)


# -- reading the run folder ---------------------------------------------------------------------


def item_fact_matrix(items: pl.DataFrame, index: dict[str, int]) -> sp.csr_matrix:
    """Items x facts, binary: ``g:Drama``-style prefixed genres, keywords, people, collection and the item."""
    frames = [items.select("item_id", pl.concat_str(pl.lit("i:"), "item_id").alias("fact"))]
    for column in LIST_FACTS:
        frames.append(
            items.select("item_id", pl.col(column).alias("fact"))
            .explode("fact")
            .drop_nulls()
            .select("item_id", pl.concat_str(pl.lit(f"{column[0]}:"), "fact").alias("fact"))
        )
    frames.append(items.select("item_id", pl.concat_str(pl.lit("c:"), "collection").alias("fact")).drop_nulls("fact"))
    pairs = pl.concat(frames).unique().sort("item_id", "fact")
    facts = {fact: i for i, fact in enumerate(pairs["fact"].unique().sort().to_list())}
    rows = np.fromiter((index[i] for i in pairs["item_id"]), dtype=np.int64, count=pairs.height)
    cols = np.fromiter((facts[f] for f in pairs["fact"]), dtype=np.int64, count=pairs.height)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(index), len(facts)))


def user_item_matrix(prompts: list[dict[str, Any]], index: dict[str, int]) -> sp.csr_matrix:
    """Prompts x items: 1 for the target and each history item in the catalog."""
    rows, cols = [], []
    for row, prompt in enumerate(prompts):
        for item in user_items(prompt):
            if item in index:
                rows.append(row)
                cols.append(index[item])
    data = np.ones(len(rows))
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(len(prompts), len(index)))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def shown_reviews(run: Path, prompts: list[dict[str, Any]]) -> list[str]:
    """Per prompt, the review titles and texts its prompt shows (empty for personas that show none)."""
    interactions = pl.read_parquet(RunLayout(run).interactions, columns=["user_id", "review_title", "review_text"])
    texts = (
        interactions.filter(pl.col("review_text").is_not_null() | pl.col("review_title").is_not_null())
        .group_by("user_id")
        .agg(pl.concat_str(pl.col("review_title").fill_null(""), pl.col("review_text").fill_null(""), separator=" "))
    )
    by_user = {user: " ".join(parts) for user, parts in texts.iter_rows()}
    return [by_user.get(p["user_id"], "") for p in prompts]


# -- strategies -----------------------------------------------------------------------------------


def collaborative_scores(run: Path, prompts: list[dict[str, Any]], index: dict[str, int]) -> np.ndarray:
    """Per prompt, the uncertainty of `evaluate`'s item-kNN about its target (see `uncertainty_scores`).

    The similarity comes from every k-core interaction except the targets, which are what is predicted, and
    keeps each item's ``NEIGHBOURS`` nearest items, so scoring costs users x neighbourhood, not users x catalog.
    """
    interactions = pl.read_parquet(RunLayout(run).interactions, columns=["user_id", "item_id", "role"])
    train = interactions.filter((pl.col("role") != "target") & pl.col("item_id").is_in(list(index)))
    users = {u: i for i, u in enumerate(train["user_id"].unique().sort().to_list())}
    rows = np.fromiter((users[u] for u in train["user_id"]), dtype=np.int64, count=train.height)
    cols = np.fromiter((index[i] for i in train["item_id"]), dtype=np.int64, count=train.height)
    x = sp.csr_matrix((np.ones(train.height), (rows, cols)), shape=(len(users), len(index)))
    x.data[:] = 1.0
    similarity = cosine_item_similarity(x, neighbours=NEIGHBOURS)
    history = user_item_matrix([{**p, "target_item": ""} for p in prompts], index)
    targets = np.array([index.get(p["target_item"], -1) for p in prompts])
    out = np.ones(len(prompts))
    known = np.flatnonzero(targets >= 0)
    chunk = 2048
    for start in progress(range(0, len(known), chunk), desc="select uncertainty", unit="chunk"):
        part = known[start : start + chunk]
        out[part] = uncertainty_scores(history[part] @ similarity, targets[part], history[part])
    return out


def strategy_scores(config: SelectConfig, prompts: list[dict[str, Any]]) -> tuple[np.ndarray, dict[str, Any]]:
    """For random and uncertainty, one score per prompt (higher = chosen first) and what the score means."""
    if config.strategy == "random":
        return uniforms(config.seed, [p["prompt_id"] for p in prompts]), {"score": "seeded uniform draw"}
    items = read_items(config.run, columns=["item_id"])
    index = {item: i for i, item in enumerate(items["item_id"].to_list())}
    return collaborative_scores(config.run, prompts, index), {"score": UNCERTAINTY}


def kcenter_picks(config: SelectConfig, prompts: list[dict[str, Any]], quota: dict[str, int]) -> dict[int, float]:
    """Prompt index → covering radius when picked, farthest-first within each persona."""
    items = read_items(config.run, columns=["item_id", *LIST_FACTS, "collection"])
    index = {item: i for i, item in enumerate(items["item_id"].to_list())}
    features = user_features(
        user_item_matrix(prompts, index),
        item_fact_matrix(items, index),
        shown_reviews(config.run, prompts),
        config.dims,
        config.seed,
    )
    draws = uniforms(config.seed, [p["prompt_id"] for p in prompts])
    picks: dict[int, float] = {}
    for persona, count in quota.items():
        members = np.array([i for i, p in enumerate(prompts) if p["persona"] == persona])
        first = int(np.argmax(draws[members]))  # a seeded first centre
        order, radius = farthest_first(features[members], count, first)
        picks.update(zip(members[order].tolist(), radius.tolist(), strict=True))
    return picks


def rank_rows(prompts: list[dict[str, Any]], chosen: dict[int, float], position: dict[int, int]) -> list[dict]:
    """Selection rows ranked by interleaving personas in proportion: prefix of the ranking ≈ a smaller budget."""
    per_persona: dict[str, int] = {}
    for i in chosen:
        per_persona[prompts[i]["persona"]] = per_persona.get(prompts[i]["persona"], 0) + 1
    persona_order = {p.id: n for n, p in enumerate(PERSONAS)}

    def key(i: int) -> tuple[float, int, str]:
        persona = prompts[i]["persona"]
        return ((position[i] + 1) / per_persona[persona], persona_order.get(persona, 99), prompts[i]["prompt_id"])

    rows = []
    for rank, i in enumerate(sorted(chosen, key=key), 1):
        p = prompts[i]
        rows.append(
            {
                "prompt_id": p["prompt_id"],
                "user_id": p["user_id"],
                "persona": p["persona"],
                "rank": rank,
                "score": round(float(chosen[i]), 6),
            }
        )
    return rows


def choose(config: SelectConfig, prompts: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ranked selection rows and a description of how they were scored."""
    quota = persona_quotas([p["persona"] for p in prompts], config.budget)
    if config.strategy == "kcenter":
        picks = kcenter_picks(config, prompts, quota)
        position: dict[int, int] = {}
        for persona in quota:
            members = [i for i in picks if prompts[i]["persona"] == persona]
            position.update({i: n for n, i in enumerate(members)})
        described = {"representation": REPRESENTATION.format(dims=config.dims), "score": "covering radius"}
        return rank_rows(prompts, picks, position), described
    scores, described = strategy_scores(config, prompts)
    chosen: dict[int, float] = {}
    position = {}
    for persona, count in quota.items():
        members = [i for i, p in enumerate(prompts) if p["persona"] == persona]
        # Highest score first; the prompt id breaks ties so the order never depends on the file's.
        members.sort(key=lambda i: (-scores[i], prompts[i]["prompt_id"]))
        for n, i in enumerate(members[:count]):
            chosen[i] = float(scores[i])
            position[i] = n
    return rank_rows(prompts, chosen, position), described


def coverage(run: Path, prompts: list[dict[str, Any]]) -> dict[str, int]:
    """Distinct targets, items, genres and people a set of prompts brings into the generated dialogues."""
    items = read_items(run, columns=["item_id", "genres", "actors", "directors"])
    facts = {row["item_id"]: row for row in items.iter_rows(named=True)}
    seen = {p["target_item"] for p in prompts} | {h["item_id"] for p in prompts for h in p["history"]}
    known = [facts[i] for i in seen if i in facts]
    return {
        "prompts": len(prompts),
        "targets": len({p["target_item"] for p in prompts}),
        "items": len(seen),
        "genres": len({g for row in known for g in row["genres"] or []}),
        "people": len({n for row in known for n in (row["actors"] or []) + (row["directors"] or [])}),
    }


def run(config: SelectConfig) -> dict[str, Any]:
    """Run the stage; write ``selection.jsonl``; return its summary (also its manifest entry)."""
    prompts = read_prompts(config.run, fields=SELECT_FIELDS)
    if not prompts:
        raise StageError(f"{RunLayout(config.run).prompts} holds no prompts")
    note("select", f"{config.strategy}: {min(config.budget, len(prompts)):,} of {len(prompts):,} prompts")
    rows, described = choose(config, prompts)
    body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    write_bytes(config.run / SELECTION_FILE, body)
    picked = {row["prompt_id"] for row in rows}
    personas: dict[str, int] = {}
    for row in rows:
        personas[row["persona"]] = personas.get(row["persona"], 0) + 1
    entry = {
        "parameters": {k: v for k, v in asdict(config).items() if k != "run"},
        **described,
        "pool": coverage(config.run, prompts),
        "selected": coverage(config.run, [p for p in prompts if p["prompt_id"] in picked]),
        "per_persona": dict(sorted(personas.items())),
        "output": {"name": SELECTION_FILE, "rows": len(rows)},
    }
    record_stage(config.run, "select", entry)
    return entry


def summary_lines(entry: dict[str, Any]) -> list[str]:
    pool, chosen = entry["pool"], entry["selected"]
    return [
        f"select ({entry['parameters']['strategy']}): {chosen['prompts']:,} of {pool['prompts']:,} prompts "
        f"→ {SELECTION_FILE}; covers {chosen['targets']:,}/{pool['targets']:,} targets, "
        f"{chosen['items']:,}/{pool['items']:,} items, {chosen['genres']:,}/{pool['genres']:,} genres, "
        f"{chosen['people']:,}/{pool['people']:,} people; per persona: "
        + ", ".join(f"{k} {n}" for k, n in entry["per_persona"].items())
    ]
