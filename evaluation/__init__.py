"""CRS evaluation of a built DistillRecDial dataset (`distillrecdial evaluate`, after LLM-CRS).

Modules: :mod:`~evaluation.data` (loading), :mod:`~evaluation.tasks` (recommend examples),
:mod:`~evaluation.methods` / :mod:`~evaluation.llm` / :mod:`~evaluation.kbrd` (recommenders behind one
interface), :mod:`~evaluation.ranking` (full-catalog ranks), :mod:`~evaluation.metrics` (Recall@k, MRR,
NDCG@10, bootstrap), :mod:`~evaluation.leakage`, :mod:`~evaluation.respond`, :mod:`~evaluation.collaborate`,
:mod:`~evaluation.report` (results.json, eval.md, figure) and :mod:`~evaluation.stage` (the stage: config, run).

The markdown tables of a results.json (for eval.md and the card) are :mod:`dataset_card.eval_tables`.
This package sits above the builder: it may import ``builder`` (the published configs' shapes), ``dataset_card``,
``generation`` (backends, the dialogue format) and ``pipeline``; nothing imports it but the CLI.
The names of the tasks and methods live here, so the stage's options and the engine agree without importing
each other.
"""

TASKS = ("recommend", "respond", "collaborate", "slates")
METHODS = ("popularity", "item_knn", "bm25", "bm25_rationales", "llm", "kbrd")
DEFAULT_METHODS = ("popularity", "item_knn", "bm25", "llm")
