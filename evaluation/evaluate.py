"""The evaluation itself: data → examples → methods → metrics → the results dictionary (no file I/O here).

``results`` has DESIGN's shape: ``{task: {method: {persona | "all": {metric: value, metric + "_ci": [lo, hi]}}}}``
plus ``n`` (examples per task and persona) and ``provenance`` (inputs' hashes, split, seed, methods, versions).
Floats are rounded to 6 digits and nothing depends on time or paths, so the same inputs and seed give the same
dictionary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from distillrecdial_kit.evaluation import DEFAULT_METHODS, METHODS, TASKS
from distillrecdial_kit.evaluation.data import EvalData, split_rows
from distillrecdial_kit.evaluation.leakage import FIELDS, leak_flags, target_examples
from distillrecdial_kit.evaluation.llm import LLMRanker
from distillrecdial_kit.evaluation.methods import (
    BM25,
    ITEM_TEXT_FIELDS,
    RATIONALE_FIELD,
    ItemKNN,
    Method,
    Popularity,
    TrainData,
)
from distillrecdial_kit.evaluation.metrics import RANK_METRICS, per_example, summarise
from distillrecdial_kit.evaluation.ranking import Catalog, rank_targets
from distillrecdial_kit.evaluation.tasks import RecExample, recommend_examples
from distillrecdial_kit.pipeline.errors import StageError

__all__ = ["METHODS", "TASKS", "EvalOptions", "evaluate", "make_method", "train_data"]

ALL = "all"


@dataclass
class EvalOptions:
    tasks: Sequence[str] = ("recommend",)
    split: str = "test"
    methods: Sequence[str] = DEFAULT_METHODS
    seed: int = 42
    backend: str = "template"
    model: str | None = None
    adapter: str | None = None
    resamples: int = 1000
    respond_model: str | None = None
    respond_sample: int = 1000
    kbrd_epochs: int = 3
    extra: dict[str, Any] = field(default_factory=dict)


def make_method(name: str, options: EvalOptions) -> Method:
    if name == "popularity":
        return Popularity()
    if name == "item_knn":
        return ItemKNN()
    if name == "bm25":
        return BM25()
    if name == "bm25_rationales":
        try:
            return BM25(fields=(*ITEM_TEXT_FIELDS, RATIONALE_FIELD), name="bm25_rationales")
        except ValueError as err:
            raise StageError(str(err)) from None
    if name == "llm":
        return LLMRanker(options.backend, options.model, options.adapter)
    if name == "kbrd":
        from distillrecdial_kit.evaluation.kbrd import KBRD

        return KBRD(epochs=options.kbrd_epochs, seed=options.seed)
    raise StageError(f"unknown method {name!r}; choose from {', '.join(METHODS)}")


def _histories(data: EvalData) -> dict[str, tuple[str, list[str]]]:
    out: dict[str, tuple[str, list[str]]] = {}
    for frame in data.raw.values():
        for did, user, history in zip(
            frame["dialogue_id"].to_list(), frame["user_id"].to_list(), frame["history"].to_list(), strict=True
        ):
            out[did] = (user, [h["item_id"] for h in history or []])
    return out


def _interactions(data: EvalData, catalog: Catalog) -> tuple[sp.csr_matrix, np.ndarray]:
    """Binary users x items matrix with every non-train user's target removed; which rows are train users."""
    train_users = set(data.raw["train"]["user_id"].to_list()) if "train" in data.raw else set()
    held_out = {
        u for split, frame in data.raw.items() if split != "train" for u in frame["user_id"].to_list()
    } - train_users
    if data.interactions is not None:
        frame = data.interactions.filter(
            ~((pl.col("role") == "target") & pl.col("user_id").is_in(sorted(held_out)))
        ).select("user_id", "item_id")
    else:
        pairs: list[tuple[str, str]] = []
        for split, raw in data.raw.items():
            for user, target, history in zip(
                raw["user_id"].to_list(), raw["target_item"].to_list(), raw["history"].to_list(), strict=True
            ):
                pairs.extend((user, h["item_id"]) for h in history or [])
                if split == "train":
                    pairs.append((user, target))
        frame = pl.DataFrame(pairs, schema={"user_id": pl.String, "item_id": pl.String}, orient="row")
    positions = pl.DataFrame({"item_id": catalog.ids, "col": np.arange(len(catalog), dtype=np.int64)})
    frame = frame.unique().join(positions, on="item_id", how="inner").sort("user_id", "item_id")
    users = frame["user_id"].unique(maintain_order=True)
    rows = frame["user_id"].rank("dense").cast(pl.Int64).to_numpy() - 1
    cols = frame["col"].to_numpy()
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(users), len(catalog)))
    users = users.to_list()
    return matrix, np.array([u in train_users for u in users], dtype=bool)


def train_data(data: EvalData, catalog: Catalog, histories: dict[str, tuple[str, list[str]]]) -> TrainData:
    train_rows = data.crslab["train"].to_dicts() if "train" in data.crslab else []
    matrix, train_users = _interactions(data, catalog)
    return TrainData(
        catalog=catalog,
        items=data.items,
        examples=recommend_examples(train_rows, histories, []),
        interactions=matrix,
        train_users=train_users,
        location=data.location,
    )


def grouped(
    columns: dict[str, np.ndarray], personas: Sequence[str], seed: int, resamples: int
) -> dict[str, dict[str, Any]]:
    """``summarise`` overall (``"all"``) and per persona (sorted)."""
    labels = np.asarray(personas, dtype=object)
    out = {ALL: summarise(columns, seed, resamples)}
    for persona in sorted(set(personas)):
        mask = labels == persona
        out[persona] = summarise({k: v[mask] for k, v in columns.items()}, seed, resamples)
    return out


def _counts(personas: Sequence[str]) -> dict[str, int]:
    out = {ALL: len(personas)}
    for p in sorted(set(personas)):
        out[p] = sum(1 for x in personas if x == p)
    return out


def evaluate(
    data: EvalData,
    options: EvalOptions,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> dict[str, Any]:
    """Run the requested tasks; ``progress(label, total)`` returns a callback advanced by examples done."""
    unknown = [t for t in options.tasks if t not in TASKS]
    if unknown:
        raise StageError(f"unknown task {unknown[0]!r}; choose from {', '.join(TASKS)}")
    catalog = Catalog(data.item_ids)
    histories = _histories(data)
    rows = split_rows(data.crslab, options.split, f"{data.source} crslab")
    problems: list[str] = []
    examples = recommend_examples(rows, histories, problems)
    personas = [ex.persona for ex in examples]
    train = train_data(data, catalog, histories)
    results: dict[str, Any] = {
        "n": {"recommend": _counts(personas), "dialogues": len(rows), "skipped_dialogues": len(problems)}
    }
    methods_info: dict[str, Any] = {}
    ranks: dict[str, np.ndarray] = {}
    fitted: dict[str, Method] = {}

    def run_method(name: str) -> Method:
        if name not in fitted:
            method = make_method(name, options)
            try:
                method.fit(train)
            except ValueError as err:
                raise StageError(f"{name}: {err}") from None
            fitted[name] = method
            methods_info[method.name] = getattr(method, "describe", dict)()
        return fitted[name]

    def tick(label: str) -> Callable[[int], None] | None:
        return progress(label, len(examples)) if progress is not None else None

    if "recommend" in options.tasks or "collaborate" in options.tasks:
        for name in options.methods:
            method = run_method(name)
            ranks[method.name], _ = rank_targets(
                method.score, examples, catalog, options.seed, progress=tick(f"recommend {method.name}")
            )
        results["recommend"] = {
            name: grouped(per_example(r), personas, options.seed, options.resamples) for name, r in ranks.items()
        }
        results["leakage"] = _leakage(data, rows, examples, ranks, options)
        results["n"]["leakage"] = _counts([examples[i].persona for i in target_examples(examples, _targets(rows))])
    if "collaborate" in options.tasks:
        from distillrecdial_kit.evaluation.collaborate import collaborate

        results["collaborate"] = collaborate(
            examples, catalog, ranks, {k: fitted[k] for k in fitted}, run_method, options, tick
        )
    if "slates" in options.tasks:
        results["slates"], results["n"]["slates"] = _slates(data, catalog, options, run_method, tick)
    if "respond" in options.tasks:
        from distillrecdial_kit.evaluation.respond import respond

        results["respond"], results["n"]["respond"] = respond(rows, data, options)
    for method in fitted.values():
        close = getattr(method, "close", None)
        if close is not None:
            close()
    results["provenance"] = {
        "source": data.source,
        "inputs": data.fingerprints,
        "split": options.split,
        "seed": options.seed,
        "tasks": [t for t in TASKS if t in options.tasks],
        "methods": methods_info,
        "catalog_items": len(catalog),
        "bootstrap_resamples": options.resamples,
        "metrics": list(RANK_METRICS),
        "exclusion": "items mentioned before the recommendation are not ranked",
        "leakage_fields": list(FIELDS),
        "skipped": problems[:20],
    }
    return results


SLATE_METHODS = ("bm25", "item_knn")


def _slates(
    data: EvalData,
    catalog: Catalog,
    options: EvalOptions,
    run_method: Callable[[str], Method],
    tick: Callable[[str], Callable[[int], None] | None],
) -> tuple[dict[str, Any], dict[str, int]]:
    """Slate retrieval on the walk dialogues of the split, by the text and collaborative baselines."""
    from distillrecdial_kit.evaluation.slates import slate_examples, slate_hits

    if not data.walks:
        raise StageError("the slates task needs the `walks` config: run `distillrecdial walks`, generate and build")
    rows = split_rows(data.walks, options.split, "walks")
    titles = dict(zip(data.items["item_id"].to_list(), data.items["title"].to_list(), strict=True))
    slates = slate_examples(rows, titles)
    examples = [item for slate in slates for item in slate.items]
    personas = [slate.persona for slate in slates]
    out = {}
    for name in SLATE_METHODS:
        method = run_method(name)
        ranks, _ = rank_targets(method.score, examples, catalog, options.seed, progress=tick(f"slates {name}"))
        out[name] = grouped(slate_hits(ranks, slates), personas, options.seed, options.resamples)
    return out, _counts(personas)


def _targets(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    return {row["conv_id"]: row["target_item"] for row in rows}


def _leakage(
    data: EvalData,
    rows: Sequence[dict[str, Any]],
    examples: Sequence[RecExample],
    ranks: dict[str, np.ndarray],
    options: EvalOptions,
) -> dict[str, Any]:
    chosen = target_examples(examples, _targets(rows))
    picked = [examples[i] for i in chosen]
    items = {row["item_id"]: row for row in data.items.to_dicts()}
    flags = leak_flags(picked, items)
    personas = [ex.persona for ex in picked]
    out: dict[str, Any] = {"seeker_names_target": grouped(flags, personas, options.seed, options.resamples)}
    if "bm25" in ranks and picked:
        hit = (ranks["bm25"][chosen] <= 1).astype(np.float64)
        leaked = flags["any"] > 0
        symptom = grouped({"recall@1": hit}, personas, options.seed, options.resamples)
        for group, stats in symptom.items():
            mask = leaked if group == ALL else leaked & (np.asarray(personas, dtype=object) == group)
            clean = (~leaked) if group == ALL else (~leaked) & (np.asarray(personas, dtype=object) == group)
            stats["recall@1_leaked"] = round(float(hit[mask].mean()), 6) if mask.any() else None
            stats["recall@1_clean"] = round(float(hit[clean].mean()), 6) if clean.any() else None
        out["bm25"] = symptom
    return out
