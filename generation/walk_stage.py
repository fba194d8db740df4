"""`distillrecdial walks`: item-set trajectories over the item graph → walk records and walk prompts.

Builds the item graph from the run's catalog and k-core (same collection,
director, actor, keyword; co-interaction from likes outside the targets), then
per user (the users of ``prompts.jsonl``, with their personas) walks from a
liked history item through ``--steps`` slates of ``--slate`` items to the
target. Writes ``RUN/walks/walks.jsonl`` (one walk per user), the walk prompts
``RUN/walks/prompts.jsonl`` that `generate --prompts walks` turns into
dialogues, and ``RUN/walks/graph.json`` (edge counts per relation). Users
without a walk (no liked history item, no path of that length) are counted by
reason. A rerun with the same inputs and options finds its outputs and stops;
anything else is recomputed (it takes seconds) and replaced atomically.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from distillrecdial_kit.generation.item_graph import GraphOptions, build_graph
from distillrecdial_kit.generation.walk_prompts import build_walk_prompt
from distillrecdial_kit.generation.walks import UserStart, WalkOptions, sample_walks
from distillrecdial_kit.pipeline.atomic import atomic_path, write_bytes
from distillrecdial_kit.pipeline.console import note, progress, warn
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import (
    INTERACTIONS_FILE,
    ITEMS_FILE,
    PROMPTS_FILE,
    WALK_PROMPTS_FILE,
    WALKS_DIR,
    WALKS_FILE,
    RunLayout,
    read_items,
)
from distillrecdial_kit.pipeline.layout import WALK_GRAPH_FILE as GRAPH_FILE
from distillrecdial_kit.pipeline.manifest import read_manifest, record_stage, sha256_file
from distillrecdial_kit.pipeline.stage import config_from


@dataclass(frozen=True)
class WalksConfig:
    """The item graph's options and the walks' shape for one run folder."""

    run: Path
    steps: int = 3
    slate: int = 4
    seed: int = 42
    neighbours: int = 10
    max_share: int = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", required=True, type=Path, help="prepared run folder (items, interactions, prompts)")
    parser.add_argument("--steps", type=int, default=3, help="slates per walk, i.e. moves from the start (default 3)")
    parser.add_argument("--slate", type=int, default=4, help="items per slate (default 4)")
    parser.add_argument("--seed", type=int, default=42, help="seed of every user's walk (default 42)")
    parser.add_argument(
        "--neighbours", type=int, default=10, help="partners kept per item and relation, heaviest first (default 10)"
    )
    parser.add_argument(
        "--max-share",
        type=int,
        default=100,
        help="leave out values (a keyword, a user's likes) shared by more items than this (default 100)",
    )


def config_from_args(args: argparse.Namespace) -> WalksConfig:
    return config_from(WalksConfig, args)


def read_users(path: Path) -> tuple[list[UserStart], int]:
    """The users of ``prompts.jsonl``; a malformed line is reported with its number and skipped."""
    if not path.exists():
        raise StageError(f"{path} not found; run `distillrecdial prepare --out {path.parent}` first")
    users, bad = [], 0
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
            users.append(UserStart(record["user_id"], record["persona"], record["target_item"], record["history"]))
        except (orjson.JSONDecodeError, KeyError, TypeError) as err:
            bad += 1
            field = f"field {err.args[0]!r} missing" if isinstance(err, KeyError) else type(err).__name__
            warn("walks", f"{path}:{number}: skipped a bad prompt record ({field})")
    return users, bad


def _read_parquet(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise StageError(f"{path} not found; run `distillrecdial prepare --out {path.parent}` first")
    return pl.read_parquet(path)


def walks(run: Path, graph_options: GraphOptions, options: WalkOptions) -> dict[str, Any]:
    """Sample the walks and write their prompts; return the manifest entry."""
    out = run / WALKS_DIR
    inputs = {
        name: sha256_file(run / name) for name in (ITEMS_FILE, INTERACTIONS_FILE, PROMPTS_FILE) if (run / name).exists()
    }
    parameters = {**graph_options.as_dict(), **options.as_dict()}
    before = read_manifest(run).get("stages", {}).get("walks")
    outputs = (WALKS_FILE, WALK_PROMPTS_FILE, GRAPH_FILE)
    if (
        before
        and before.get("inputs") == inputs
        and before.get("parameters") == parameters
        and all((out / name).exists() and sha256_file(out / name) == before["outputs"].get(name) for name in outputs)
    ):
        note("walks", "outputs are up to date with these inputs and options; nothing to do")
        return {**before, "already_done": True}

    items = read_items(run)
    interactions = _read_parquet(RunLayout(run).interactions)
    users, bad = read_users(RunLayout(run).prompts)
    liked = interactions.filter(pl.col("liked") & (pl.col("role") != "target")).select("user_id", "item_id")
    graph = build_graph(items, liked, graph_options)
    note("walks", f"item graph: {graph.n_items:,} items, {graph.n_edges:,} edges " + str(graph.edge_counts()))
    catalog = {row["item_id"]: row for row in items.iter_rows(named=True)}
    with progress(total=len(users), desc="walks", unit="user") as bar:
        found, skipped = sample_walks(graph, users, catalog, options, progress=bar)
    prompts = [build_walk_prompt(walk, catalog) for walk in found]

    with atomic_path(out / WALKS_FILE) as tmp, open(tmp, "wb") as handle:
        for walk in found:
            handle.write(orjson.dumps(walk) + b"\n")
    with atomic_path(out / WALK_PROMPTS_FILE) as tmp, open(tmp, "wb") as handle:
        for prompt in prompts:
            handle.write(orjson.dumps(prompt) + b"\n")
    summary = {"items": graph.n_items, "edges": graph.n_edges, "edges_per_relation": graph.edge_counts()}
    write_bytes(out / GRAPH_FILE, orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    relations: dict[str, int] = {}
    for walk in found:
        for edge in walk["edges"]:
            relations[edge] = relations.get(edge, 0) + 1
    entry = {
        "inputs": inputs,
        "parameters": parameters,
        "graph": summary,
        "counts": {
            "users": len(users),
            "walks": len(found),
            "skipped": dict(sorted(skipped.items())),
            "bad_prompt_lines": bad,
            "moves_per_relation": dict(sorted(relations.items())),
        },
        "outputs": {name: sha256_file(out / name) for name in outputs},
    }
    record_stage(run, "walks", entry)
    return entry


def run(config: WalksConfig) -> dict[str, Any]:
    """Build the item graph, walk every user and write the walk prompts; return the summary (manifest entry)."""
    if config.steps < 1 or config.slate < 1 or config.neighbours < 1 or config.max_share < 2:
        raise StageError("--steps, --slate and --neighbours must be >= 1, --max-share >= 2")
    return walks(
        config.run,
        GraphOptions(neighbours=config.neighbours, max_share=config.max_share),
        WalkOptions(steps=config.steps, slate=config.slate, seed=config.seed),
    )


def summary_lines(entry: dict[str, Any]) -> list[str]:
    counts, shape = entry["counts"], entry["parameters"]
    skipped = ", ".join(f"{reason} {n:,}" for reason, n in counts["skipped"].items()) or "none"
    moves = ", ".join(f"{relation} {n:,}" for relation, n in counts["moves_per_relation"].items()) or "none"
    return [
        f"walks: {counts['users']:,} users → {counts['walks']:,} walks of {shape['steps']} slates × {shape['slate']} "
        f"over {entry['graph']['items']:,} items / {entry['graph']['edges']:,} edges"
        + (" (already up to date)" if entry.get("already_done") else "")
        + f"; moves: {moves}; skipped: {skipped}"
        + (f"; {counts['bad_prompt_lines']:,} bad prompt lines" if counts["bad_prompt_lines"] else "")
        + f"; prompts in {WALKS_DIR}/{WALK_PROMPTS_FILE}"
    ]


def failure(entry: dict[str, Any]) -> str | None:
    counts = entry["counts"]
    return "no user got a walk" if counts["users"] and not counts["walks"] else None
