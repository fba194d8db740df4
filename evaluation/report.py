"""Writing RUN/eval/: results.json (sorted keys, no timestamps), eval.md and figures/recall.png.

The markdown tables come from :mod:`dataset_card.eval_tables`, which the dataset card shares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.dataset_card.eval_tables import persona_markdown, persona_name, results_markdown
from distillrecdial_kit.pipeline.atomic import atomic_path, write_bytes, write_text
from distillrecdial_kit.pipeline.layout import EVAL_RESULTS_FILE

__all__ = ["FIGURE", "RESULTS", "write_outputs"]

RESULTS = EVAL_RESULTS_FILE
MARKDOWN = "eval.md"
FIGURE = Path("figures") / "recall.png"


def dumps(results: dict[str, Any]) -> bytes:
    return orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def _figure(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import textwrap

    import matplotlib.pyplot as plt
    import numpy as np

    recommend = results.get("recommend") or {}
    methods = list(recommend)
    groups = ["all", *sorted({g for per in recommend.values() for g in per if g != "all"})]
    ks = [m for m in ("recall@1", "recall@10", "recall@50")]
    fig, axes = plt.subplots(1, len(ks), figsize=(15, 5.2), dpi=100, sharey=True)
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(groups))
    for ax, metric in zip(np.atleast_1d(axes), ks, strict=True):
        for m, method in enumerate(methods):
            values = [recommend[method].get(g, {}).get(metric) or 0.0 for g in groups]
            lo = [
                v - ((recommend[method].get(g, {}).get(f"{metric}_ci") or [v, v])[0])
                for g, v in zip(groups, values, strict=True)
            ]
            hi = [
                ((recommend[method].get(g, {}).get(f"{metric}_ci") or [v, v])[1]) - v
                for g, v in zip(groups, values, strict=True)
            ]
            ax.bar(x + (m - (len(methods) - 1) / 2) * width, values, width, yerr=[lo, hi], capsize=2, label=method)
        ax.set_title(metric.replace("recall", "Recall"))
        ax.set_xticks(x, [textwrap.fill(persona_name(g), 12) for g in groups], fontsize=7)
        ax.set_ylim(0, 1.05)
    np.atleast_1d(axes)[0].set_ylabel("share of recommendations")
    np.atleast_1d(axes)[-1].legend(fontsize=8)
    fig.suptitle("Recall@k per method and persona (bootstrap 95% CI)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)


def write_outputs(results: dict[str, Any], out: Path) -> dict[str, Path]:
    """results.json, eval.md and the figure into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    write_bytes(out / RESULTS, dumps(results))
    paths = {"results": out / RESULTS, "markdown": out / MARKDOWN}
    body = ["# Evaluation", "", results_markdown(results), persona_markdown(results)]
    if results.get("recommend"):
        _figure(results, out / FIGURE)
        paths["figure"] = out / FIGURE
        body += ["", f"![Recall@k per method and persona]({FIGURE.as_posix()})", ""]
    methods = (results.get("provenance") or {}).get("methods") or {}
    if methods:
        body += ["", "Methods: " + "; ".join(f"`{k}` {orjson.dumps(v).decode()}" for k, v in methods.items()), ""]
    write_text(out / MARKDOWN, "\n".join(body))
    return paths
