"""evaluate: the CRS benchmark of a built dataset → RUN/eval/ (results.json, eval.md, figures/recall.png).

Tasks (on --split, default test; anything trainable learns from the train split):
  recommend    at every Recommender utterance that recommends an item, rank the whole catalog from the dialogue
               before it (items already mentioned are excluded); Recall@1/10/50, MRR, NDCG@10 overall and per
               persona with seeded bootstrap 95% intervals; also leakage (does the seeker name the target first?)
  respond      the next Recommender utterance vs the reference: BLEU-1..4, ROUGE-L, distinct-1/2, perplexity
  collaborate  CRS → LLM (the best CRS method's top-10 in the LLM's prompt) and LLM → CRS (the LLM's summary of
               the seeker's needs as the bm25 query), each against its parts alone
  slates       walk dialogues (config walks): from the context before each slate, Hits@10/50 of the slate's
               items over the full catalog, with bm25 and item_knn

Methods: popularity, item_knn, bm25, llm (--backend template is a rule-based stand-in, labelled), kbrd (CRSLab).
Same inputs and --seed give a byte-identical results.json.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillrecdial_kit.evaluation import DEFAULT_METHODS, METHODS, TASKS
from distillrecdial_kit.pipeline.console import progress
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import EVAL_DIR
from distillrecdial_kit.pipeline.manifest import package_versions, record_stage
from distillrecdial_kit.pipeline.stage import config_from


@dataclass(frozen=True)
class EvaluateConfig:
    """What to evaluate (a built run, or a dataset folder / Hub repo), on which tasks, with which methods."""

    run: Path | None = None
    dataset: str | None = None
    out: Path | None = None
    tasks: tuple[str, ...] = ("recommend",)
    split: str = "test"
    methods: tuple[str, ...] = DEFAULT_METHODS
    seed: int = 42
    bootstrap: int = 1000
    backend: str = "template"
    model: str | None = None
    adapter: str | None = None
    respond_model: str | None = None
    respond_sample: int = 1000
    kbrd_epochs: int = 3
    item_profile: str = "facts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run", type=Path, help="run folder holding hub/ (from `build`); results go to RUN/eval")
    parser.add_argument(
        "--dataset", help="evaluate this local folder or Hub repo instead of RUN/hub (configs crslab, raw, items)"
    )
    parser.add_argument("--out", type=Path, help="output folder (default: RUN/eval)")
    parser.add_argument("--tasks", nargs="+", default=["recommend"], choices=TASKS, help="default: recommend")
    parser.add_argument("--split", default="test", help="split evaluated (default: test)")
    parser.add_argument(
        "--methods", nargs="+", default=list(DEFAULT_METHODS), choices=METHODS, help="default: %(default)s"
    )
    parser.add_argument("--seed", type=int, default=42, help="bootstrap and tie-breaking seed")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default: 1000)")
    parser.add_argument(
        "--backend", default="template", choices=("template", "vllm", "openai", "transformers"), help="llm backend"
    )
    parser.add_argument("--model", help="LLM for the llm method (vllm / openai / transformers)")
    parser.add_argument("--adapter", help="LoRA adapter on top of --model")
    parser.add_argument("--respond-model", help="causal LM (local folder or Hub name) for respond + perplexity")
    parser.add_argument("--respond-sample", type=int, default=1000, help="utterances per responder (seeded)")
    parser.add_argument("--kbrd-epochs", type=int, default=3, help="KBRD training epochs (method kbrd)")
    parser.add_argument(
        "--item-profile",
        choices=("facts", "facts+rationales"),
        default="facts",
        help="bm25's item text; facts+rationales also runs bm25_rationales (facts + the items' RDRec rationales) "
        "beside bm25, so the gain is measured",
    )


def config_from_args(args: argparse.Namespace) -> EvaluateConfig:
    return config_from(EvaluateConfig, args)


def with_profiles(methods: list[str] | tuple[str, ...], profile: str) -> list[str]:
    """The methods to run: ``bm25_rationales`` right after ``bm25`` when rationale profiles are asked for."""
    chosen = list(dict.fromkeys(methods))
    if profile == "facts+rationales" and "bm25_rationales" not in chosen:
        chosen.insert(chosen.index("bm25") + 1 if "bm25" in chosen else len(chosen), "bm25_rationales")
    return chosen


class _Bars:
    """One tqdm bar per labelled piece of work."""

    def __init__(self) -> None:
        self.bars: list[Any] = []

    def __call__(self, label: str, total: int):
        self.close()  # one piece of work at a time: the previous bar is done
        bar = progress(total=total, desc=f"evaluate: {label}", unit="ex", leave=False)
        self.bars.append(bar)
        return bar.update

    def close(self) -> None:
        for bar in self.bars:
            bar.close()
        self.bars.clear()


def run(args: EvaluateConfig) -> dict[str, Any]:
    """Evaluate; write results.json, eval.md and the figure; return the summary (the manifest entry)."""
    from distillrecdial_kit.evaluation.data import load_data
    from distillrecdial_kit.evaluation.evaluate import EvalOptions, evaluate
    from distillrecdial_kit.evaluation.report import write_outputs

    if args.run is None and args.dataset is None:
        raise StageError("give --run RUN (a built run) or --dataset FOLDER_OR_REPO with --out")
    out = args.out or (args.run / EVAL_DIR if args.run is not None else None)
    if out is None:
        raise StageError("--dataset without --run needs --out")
    data = load_data(args.run if args.dataset is None else None, args.dataset)
    options = EvalOptions(
        tasks=list(args.tasks),
        split=args.split,
        methods=with_profiles(args.methods, args.item_profile),
        seed=args.seed,
        backend=args.backend,
        model=args.model,
        adapter=args.adapter,
        resamples=args.bootstrap,
        respond_model=args.respond_model,
        respond_sample=args.respond_sample,
        kbrd_epochs=args.kbrd_epochs,
    )
    bars = _Bars()
    try:
        results = evaluate(data, options, progress=bars)
    finally:
        bars.close()
    results["provenance"]["versions"] = package_versions(("distillrecdial", "numpy", "scipy", "bm25s", "polars"))
    paths = write_outputs(results, out)
    n = results["n"]
    summary = {
        "source": results["provenance"]["source"],
        "split": args.split,
        "seed": args.seed,
        "tasks": results["provenance"]["tasks"],
        "methods": sorted(results["provenance"]["methods"]),
        "examples": n.get("recommend", {}).get("all", 0),
        "dialogues": n.get("dialogues", 0),
        "outputs": sorted(str(p.relative_to(out)) for p in paths.values()),
    }
    if args.run is not None:
        record_stage(args.run, "evaluate", summary)
    return {**summary, "headline": _headline(results), "out": str(out)}


def _headline(results: dict[str, Any]) -> dict[str, Any]:
    """What the summary line shows: the best Recall@10, the leakage share and the skipped dialogues."""
    best = None
    if results.get("recommend"):
        scored = {m: v["all"]["recall@10"] or 0.0 for m, v in results["recommend"].items()}
        top = max(sorted(scored), key=lambda m: scored[m])
        best = [top, scored[top]]
    leak = (results.get("leakage") or {}).get("seeker_names_target", {}).get("all", {}).get("any")
    return {"best_recall@10": best, "leakage": leak, "skipped_dialogues": results["n"].get("skipped_dialogues", 0)}


def summary_lines(summary: dict[str, Any]) -> list[str]:
    head = summary["headline"]
    best = (
        f"; best Recall@10: {head['best_recall@10'][0]} {head['best_recall@10'][1]:.3f}"
        if head["best_recall@10"]
        else ""
    )
    return [
        f"evaluate: {summary['examples']:,} recommendations in {summary['dialogues']:,} {summary['split']} dialogues, "
        f"{len(summary['methods'])} methods, tasks {' '.join(summary['tasks'])}{best}"
        + (f"; leakage {head['leakage']:.1%}" if head["leakage"] is not None else "")
        + (f"; {head['skipped_dialogues']:,} malformed dialogues skipped" if head["skipped_dialogues"] else "")
        + f" → {summary['out']}"
    ]
