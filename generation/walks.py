"""Talk the Walk for movies: per user, a seeded walk over the item graph from a liked movie to the target.

A walk is a path ``start → a1 → … → a_steps = target`` in which every hop is a
real edge of the item graph and records its relation. Around each hop's end
the walk builds a *slate*: the hop's item plus the source's other heaviest
neighbours (same relation first), so slate ``i`` is "more like ``a_{i-1}``, by
this relation", and the last slate holds the target. A dialogue writer then
turns each hop into a seeker utterance that asks for the shift and a
recommender turn that presents the slate.

To end exactly on the target in ``steps`` hops, the sampler first marks, for
``j < steps``, the items from which some ``j``-hop walk reaches the target
(walking the graph backwards), then walks forwards choosing only among edges
into the marked set, weighted by edge weight, backtracking on a dead end. All
randomness comes from a per-user stream seeded by SHA-256 of the seed and the
user, so the same inputs and seed give the same walks in any order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from distillrecdial_kit.generation.item_graph import RELATION_COLUMNS, RELATIONS, ItemGraph, shared_values
from distillrecdial_kit.pipeline.seeded import stable_id, stable_int

#: Why a user got no walk (counted in the stage summary).
NO_LIKED_START = "no_liked_history_item"
TARGET_NOT_IN_GRAPH = "target_not_in_graph"
NO_PATH = "no_path_of_this_length"


@dataclass(frozen=True)
class WalkOptions:
    """What decides a walk besides the graph."""

    steps: int = 3
    slate: int = 4
    seed: int = 42
    max_expansions: int = 64
    max_frontier: int = 256

    def as_dict(self) -> dict[str, int]:
        return {
            "steps": self.steps,
            "slate": self.slate,
            "seed": self.seed,
            "max_expansions": self.max_expansions,
            "max_frontier": self.max_frontier,
        }


@dataclass(frozen=True)
class UserStart:
    """What a walk needs from one user: their target and their history (oldest first)."""

    user_id: str
    persona: str
    target_item: str
    history: list[dict[str, Any]]  # {item_id, rating}


def user_rng(seed: int, user_id: str) -> np.random.Generator:
    """The user's own random stream (independent of the order users are walked in)."""
    # Philox keyed directly: no SeedSequence hashing, a tenth of PCG64's set-up time per user.
    return np.random.Generator(np.random.Philox(key=stable_int("walks", seed, user_id, nbytes=16)))


def _gather(indptr: np.ndarray, indices: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Concatenated CSR rows ``nodes`` (one vectorised gather, no Python loop over nodes)."""
    if nodes.size == 1:
        return indices[indptr[nodes[0]] : indptr[nodes[0] + 1]]
    starts = indptr[nodes]
    lengths = indptr[nodes + 1] - starts
    ends = np.cumsum(lengths)
    if not ends.size or ends[-1] == 0:
        return np.zeros(0, dtype=indices.dtype)
    return indices[np.repeat(starts - ends + lengths, lengths) + np.arange(ends[-1])]


def _weighted_order(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order, heavier first in expectation (Efraimidis–Spirakis keys ``u ** (1 / w)``)."""
    keys = rng.random(weights.size) ** (1.0 / np.maximum(weights, 1e-6))
    return np.argsort(-keys, kind="stable")


class WalkSampler:
    """Samples walks over one graph; holds the scratch marks reused across users."""

    def __init__(self, graph: ItemGraph, options: WalkOptions) -> None:
        if options.steps < 1 or options.slate < 1:
            raise ValueError("--steps and --slate must be >= 1")
        self.graph = graph
        self.options = options
        n = graph.n_items
        # levels[j][i] == token: item i starts a j-hop walk to the current user's target.
        self.levels = np.zeros((options.steps, n), dtype=np.int64)
        self.blocked = np.zeros(n, dtype=np.int64)
        self.scratch = np.zeros(n, dtype=np.int64)
        self.token = 0

    def _mark_levels(self, target: int, rng: np.random.Generator) -> None:
        """Mark ``levels[j]`` for j < steps; a frontier past ``max_frontier`` is sampled down (fewer choices)."""
        token, rev = self.token, self.graph.reverse
        frontier = np.array([target], dtype=np.int64)
        self.levels[0, frontier] = token
        for j in range(1, self.options.steps):
            found = _gather(rev.indptr, rev.indices, frontier)
            self.levels[j, found] = token
            if j == self.options.steps - 1 or not found.size:
                break
            # Distinct items of ``found`` without sorting: keep the occurrence whose position survives a scatter.
            positions = np.arange(found.size)
            self.scratch[found] = positions
            frontier = found[self.scratch[found] == positions].astype(np.int64)
            if frontier.size > self.options.max_frontier:
                frontier = rng.choice(frontier, self.options.max_frontier, replace=False)

    def _extend(
        self, path: list[int], rels: list[int], target: int, rng: np.random.Generator, budget: list[int]
    ) -> bool:
        remaining = self.options.steps - len(rels)
        cols, codes, weights = self.graph.edges_from(path[-1])
        if remaining == 1:
            ok = cols == target
        else:
            ok = (self.levels[remaining - 1, cols] == self.token) & (self.blocked[cols] != self.token)
            ok &= cols != target
            for item in path:
                ok &= cols != item
        choices = np.flatnonzero(ok)
        if not choices.size:
            return False
        # Each relation on offer gets an equal share, so heavy co-interaction counts do not crowd out the
        # curated relations; within a relation, heavier edges are likelier.
        share = weights[choices] / np.bincount(codes[choices], weights=weights[choices])[codes[choices]]
        for pick in choices[_weighted_order(share, rng)]:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            path.append(int(cols[pick]))
            rels.append(int(codes[pick]))
            if remaining == 1 or self._extend(path, rels, target, rng, budget):
                return True
            path.pop()
            rels.pop()
        return False

    def path(self, user: UserStart, rng: np.random.Generator) -> tuple[list[int], list[int]] | str:
        """(items start…target, relation codes) of one walk, or the reason there is none."""
        index = self.graph.index
        if user.target_item not in index:
            return TARGET_NOT_IN_GRAPH
        target = index[user.target_item]
        starts = [
            index[h["item_id"]]
            for h in user.history
            if h["rating"] > 3 and h["item_id"] in index and h["item_id"] != user.target_item
        ]
        starts = list(dict.fromkeys(starts))
        if not starts:
            return NO_LIKED_START
        self.token += 1
        self._mark_levels(target, rng)
        seen = np.array([index[h["item_id"]] for h in user.history if h["item_id"] in index], dtype=np.int64)
        self.blocked[seen] = self.token  # the user's own history is where they come from, not where they go
        # Only starts with an edge into the last marked level can reach the target in time: find them at once.
        graph, last = self.graph, self.options.steps - 1
        starts_array = np.asarray(starts, dtype=np.int64)
        lengths = graph.indptr[starts_array + 1] - graph.indptr[starts_array]
        hits = self.levels[last, _gather(graph.indptr, graph.targets, starts_array)] == self.token
        viable = np.unique(np.repeat(np.arange(len(starts)), lengths)[hits])
        budget = [self.options.max_expansions]
        for position in rng.permutation(viable):
            start = starts[int(position)]
            path, rels = [start], []
            if self._extend(path, rels, target, rng, budget):
                return path, rels
        return NO_PATH

    def slates(self, path: list[int], rels: list[int], user: UserStart, rng: np.random.Generator) -> list[list[int]]:
        """One slate per hop: its end plus the source's heaviest other partners, same relation first."""
        used = set(path) | {self.graph.index[h["item_id"]] for h in user.history if h["item_id"] in self.graph.index}
        slates: list[list[int]] = []
        for hop, relation in enumerate(rels):
            source, anchor = path[hop], path[hop + 1]
            cols, codes, weights = self.graph.edges_from(source)
            order = np.lexsort((cols, -weights, codes != relation))
            fillers: list[int] = []
            for pick in order:
                item = int(cols[pick])
                if len(fillers) == self.options.slate - 1:
                    break
                if item not in used and item not in fillers:
                    fillers.append(item)
            used.update(fillers)
            slate = list(fillers)
            slate.insert(int(rng.integers(0, len(fillers) + 1)), anchor)
            slates.append(slate)
        return slates

    def _related(
        self, source: int, slate: list[str], code: int, shared: list[str], catalog: dict[str, dict[str, Any]]
    ) -> list[str]:
        """The slate's items that the move's first shared fact (or, for co-interaction, the same viewers) also joins."""
        relation = RELATIONS[code]
        column = RELATION_COLUMNS.get(relation)
        if column is None or not shared:
            cols, codes, _ = self.graph.edges_from(source)
            joined = {self.graph.item_ids[int(c)] for c in cols[codes == code]}
            return [item for item in slate if item in joined]
        key = shared[0]
        related = []
        for item in slate:
            value = catalog.get(item, {}).get(column)
            if value == key or (isinstance(value, list) and key in value):
                related.append(item)
        return related

    def walk(self, user: UserStart, catalog: dict[str, dict[str, Any]]) -> dict[str, Any] | str:
        """The walk record of one user, or the reason there is none."""
        rng = user_rng(self.options.seed, user.user_id)
        found = self.path(user, rng)
        if isinstance(found, str):
            return found
        path, rels = found
        ids = self.graph.item_ids
        slates = self.slates(path, rels, user, rng)
        steps = []
        for hop, code in enumerate(rels):
            source, anchor = ids[path[hop]], ids[path[hop + 1]]
            relation = RELATIONS[code]
            cols, codes, weights = self.graph.edges_from(path[hop])
            weight = float(weights[(cols == path[hop + 1]) & (codes == code)][0])
            shared = shared_values(catalog.get(source, {}), catalog.get(anchor, {}), relation)
            steps.append(
                {
                    "relation": relation,
                    "from": source,
                    "to": anchor,
                    "shared": shared,
                    "weight": weight,
                    "related": self._related(path[hop], [ids[i] for i in slates[hop]], code, shared, catalog),
                }
            )
        return {
            "walk_id": walk_id(user.user_id, user.persona, self.options),
            "user_id": user.user_id,
            "persona": user.persona,
            "target_item": user.target_item,
            "start_item": ids[path[0]],
            "history": user.history,
            "anchors": [ids[i] for i in path],
            "edges": [RELATIONS[c] for c in rels],
            "slates": [[ids[i] for i in slate] for slate in slates],
            "steps": steps,
        }


def walk_id(user_id: str, persona: str, options: WalkOptions) -> str:
    """Stable id of a walk: user, persona and the walk options (a SHA-256 prefix)."""
    return stable_id("walk", user_id, persona, options.steps, options.slate, options.seed)


def sample_walks(
    graph: ItemGraph,
    users: Sequence[UserStart],
    catalog: dict[str, dict[str, Any]],
    options: WalkOptions,
    progress: Any = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Walks for ``users`` (in their order) and the count of users skipped per reason."""
    sampler = WalkSampler(graph, options)
    walks: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    for user in users:
        result = sampler.walk(user, catalog)
        if isinstance(result, str):
            skipped[result] = skipped.get(result, 0) + 1
        else:
            walks.append(result)
        if progress is not None:
            progress.update(1)
    return walks, skipped
