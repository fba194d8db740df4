"""CRS evaluation of a built DistillRecDial dataset (`distillrecdial evaluate`, after LLM-CRS).

Modules: :mod:`~evaluation.data` (loading), :mod:`~evaluation.tasks` (recommend examples),
:mod:`~evaluation.methods` / :mod:`~evaluation.llm` / :mod:`~evaluation.kbrd` (recommenders behind one
interface), :mod:`~evaluation.ranking` (full-catalog ranks), :mod:`~evaluation.metrics` (Recall@k, MRR,
NDCG@10, bootstrap), :mod:`~evaluation.leakage`, :mod:`~evaluation.respond`, :mod:`~evaluation.collaborate`,
:mod:`~evaluation.report` (results.json, eval.md, figure, card tables) and :mod:`~evaluation.stage` (the CLI).

For a card: ``evaluation.results_markdown(json.load(open("RUN/eval/results.json")))`` → headline + leakage tables.
"""

from __future__ import annotations

from typing import Any

__all__ = ["results_markdown"]


def results_markdown(results: dict[str, Any]) -> str:
    """The headline (recommend, collaborate, respond) and leakage markdown tables of a results.json."""
    from evaluation.report import results_markdown as render

    return render(results)
