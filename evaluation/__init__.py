"""CRS evaluation of a built DistillRecDial dataset (`distillrecdial evaluate`, after LLM-CRS).

Modules: :mod:`~evaluation.data` (loading), :mod:`~evaluation.tasks` (recommend examples),
:mod:`~evaluation.methods` / :mod:`~evaluation.llm` / :mod:`~evaluation.kbrd` (recommenders behind one
interface), :mod:`~evaluation.ranking` (full-catalog ranks), :mod:`~evaluation.metrics` (Recall@k, MRR,
NDCG@10, bootstrap), :mod:`~evaluation.leakage`, :mod:`~evaluation.respond`, :mod:`~evaluation.collaborate`,
:mod:`~evaluation.report` (results.json, eval.md, figure) and :mod:`~evaluation.stage` (the CLI).

The markdown tables of a results.json (for eval.md and the card) are :mod:`dataset_card.eval_tables`.
"""
