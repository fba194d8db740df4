"""collaborate: the two directions of LLM-CRS collaboration, each against its parts alone.

- **CRS assisting LLM** (``crs_to_llm``): the best CRS method of the recommend task (highest Recall@10 among
  popularity, item_knn, bm25, kbrd) proposes its top-10 items; the LLM orders them (the rest of the catalog
  follows in the CRS's order). Compared with ``crs_alone`` and ``llm_alone`` (the LLM ranking the whole catalog).
- **LLM assisting CRS** (``llm_to_crs``): the LLM's short summary of the seeker's needs is the ``bm25`` query,
  compared with ``bm25_context`` (bm25 on the raw seeker context).

With ``--backend template`` the LLM is the rule-based stand-in of :mod:`evaluation.llm` (labelled as such).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from distillrecdial_kit.evaluation.metrics import per_example
from distillrecdial_kit.evaluation.ranking import Catalog, rank_targets
from distillrecdial_kit.evaluation.tasks import RecExample

__all__ = ["COLLAB_K", "collaborate"]

COLLAB_K = 10
CRS = ("popularity", "item_knn", "bm25", "kbrd")


def collaborate(
    examples: Sequence[RecExample],
    catalog: Catalog,
    ranks: dict[str, np.ndarray],
    fitted: dict[str, Any],
    run_method: Callable[[str], Any],
    options: Any,
    tick: Callable[[str], Callable[[int], None] | None],
) -> dict[str, Any]:
    from distillrecdial_kit.evaluation.evaluate import grouped

    personas = [ex.persona for ex in examples]
    seed, resamples = options.seed, options.resamples
    for name in ("bm25", "llm"):
        method = run_method(name)
        if method.name not in ranks:
            ranks[method.name], _ = rank_targets(method.score, examples, catalog, seed, progress=tick(method.name))
    llm = run_method("llm")
    bm25 = run_method("bm25")
    crs_names = [n for n in CRS if n in ranks]
    recall10 = {n: float((ranks[n] <= 10).mean()) if len(ranks[n]) else 0.0 for n in crs_names}
    best = max(crs_names, key=lambda n: (recall10[n], -crs_names.index(n)))
    crs = run_method(best)
    _, tops = rank_targets(crs.score, examples, catalog, seed, top_k=COLLAB_K, progress=tick(f"{best} top-10"))
    where = {id(ex): i for i, ex in enumerate(examples)}

    def reranked(block: Sequence[RecExample]) -> np.ndarray:
        return llm.rerank(block, tops[[where[id(ex)] for ex in block]])

    def summarised(block: Sequence[RecExample]) -> np.ndarray:
        return bm25.score_texts(llm.summaries(block))

    crs_to_llm, _ = rank_targets(reranked, examples, catalog, seed, progress=tick("crs → llm"))
    llm_to_crs, _ = rank_targets(summarised, examples, catalog, seed, progress=tick("llm → crs"))
    settings = {
        f"crs_alone[{best}]": ranks[best],
        f"llm_alone[{llm.name}]": ranks[llm.name],
        f"crs_to_llm[{best}@{COLLAB_K}→{llm.name}]": crs_to_llm,
        "bm25_context": ranks[bm25.name],
        f"llm_to_crs[{llm.name} summary→bm25]": llm_to_crs,
    }
    return {name: grouped(per_example(r), personas, seed, resamples) for name, r in settings.items()}
