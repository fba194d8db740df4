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
from pathlib import Path
from typing import Any

from distillrecdial_kit.pipeline.console import progress
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import EVAL_DIR
from distillrecdial_kit.pipeline.manifest import package_versions, record_stage

TASKS = ("recommend", "respond", "collaborate", "slates")
METHODS = ("popularity", "item_knn", "bm25", "bm25_rationales", "llm", "kbrd")
DEFAULT_METHODS = ("popularity", "item_knn", "bm25", "llm")


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


def with_profiles(methods: list[str], profile: str) -> list[str]:
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


def run(args: argparse.Namespace) -> int:
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
        tasks=args.tasks,
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
    best = ""
    if results.get("recommend"):
        scored = {m: v["all"]["recall@10"] or 0.0 for m, v in results["recommend"].items()}
        top = max(sorted(scored), key=lambda m: scored[m])
        best = f"; best Recall@10: {top} {scored[top]:.3f}"
    leak = (results.get("leakage") or {}).get("seeker_names_target", {}).get("all", {}).get("any")
    print(
        f"evaluate: {summary['examples']:,} recommendations in {summary['dialogues']:,} {args.split} dialogues, "
        f"{len(summary['methods'])} methods, tasks {' '.join(summary['tasks'])}{best}"
        + (f"; leakage {leak:.1%}" if leak is not None else "")
        + (f"; {n['skipped_dialogues']:,} malformed dialogues skipped" if n.get("skipped_dialogues") else "")
        + f" → {out}"
    )
    return 0
