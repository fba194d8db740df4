"""The report's figures as small, deterministic PNGs (matplotlib, Agg backend, no timestamps or version tag).

Each function takes the ``report.json`` dictionary and returns PNG bytes, so the caller decides where
(and how atomically) they are written.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from generation.personas import PERSONAS

__all__ = ["FIGURES", "distinct_bars", "persona_bars", "render_all", "turns_histogram"]

DPI = 80
_STYLE = {
    "font.size": 8,
    "axes.titlesize": 9,
    "figure.dpi": DPI,
    "svg.hashsalt": "distillrecdial",
    "path.simplify": True,
}


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _generators(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return sorted(report.get("by_generator", {}).items())


def _finish(fig: Any, ax: Any, series: int) -> None:
    """Legend under the axes (it never hides a bar), then a tight layout."""
    if series:
        handles, labels = ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=1, fontsize=6, frameon=False)
    fig.tight_layout(rect=(0, min(0.07 * series, 0.5), 1, 1))


def _bar_positions(groups: int, series: int) -> tuple[list[list[float]], float]:
    width = 0.8 / max(series, 1)
    return [[g + (s - (series - 1) / 2) * width for g in range(groups)] for s in range(series)], width


def turns_histogram(report: dict[str, Any]) -> bytes:
    """Dialogues per number of turns, one bar series per generator."""
    generators = _generators(report)
    turns = sorted({int(k) for _, g in generators for k in g["turns"]["histogram"]}) or [0]
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        positions, width = _bar_positions(len(turns), len(generators))
        for (label, entry), xs in zip(generators, positions, strict=True):
            histogram = entry["turns"]["histogram"]
            ax.bar(xs, [histogram.get(str(t), 0) for t in turns], width=width, label=label)
        ax.set_xticks(range(len(turns)), [str(t) for t in turns])
        ax.set_xlabel("turns per dialogue")
        ax.set_ylabel("dialogues")
        ax.set_title("Turns per dialogue")
        _finish(fig, ax, len(generators))
        return _png(fig)


def persona_bars(report: dict[str, Any]) -> bytes:
    """Per persona: valid share and target-recommended share, one bar series per generator."""
    generators = _generators(report)
    personas = [p.id for p in PERSONAS]
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.5), sharey=True)
        positions, width = _bar_positions(len(personas), len(generators))
        for ax, (key, title) in zip(
            axes, (("valid_share", "Valid share"), ("target_recommended_share", "Target recommended")), strict=True
        ):
            for (label, entry), xs in zip(generators, positions, strict=True):
                values = [(entry["by_persona"].get(p) or {}).get(key) or 0.0 for p in personas]
                ax.bar(xs, values, width=width, label=label)
            ax.set_xticks(range(len(personas)), [p.replace("_", "\n") for p in personas], fontsize=6)
            ax.set_ylim(0, 1)
            ax.set_title(title)
        axes[0].set_ylabel("share of dialogues")
        _finish(fig, axes[0], len(generators))
        return _png(fig)


def distinct_bars(report: dict[str, Any]) -> bytes:
    """distinct-1..4 per generator."""
    generators = _generators(report)
    orders = ["distinct_1", "distinct_2", "distinct_3", "distinct_4"]
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        positions, width = _bar_positions(len(orders), len(generators))
        for (label, entry), xs in zip(generators, positions, strict=True):
            ax.bar(xs, [entry["diversity"].get(o) or 0.0 for o in orders], width=width, label=label)
        ax.set_xticks(range(len(orders)), [o.replace("_", "-") for o in orders])
        ax.set_ylim(0, 1)
        ax.set_ylabel("distinct n-grams / n-grams")
        ax.set_title("Lexical diversity")
        _finish(fig, ax, len(generators))
        return _png(fig)


#: File name → figure function.
FIGURES = {
    "turns_histogram.png": turns_histogram,
    "persona_bars.png": persona_bars,
    "distinct_n.png": distinct_bars,
}


def render_all(report: dict[str, Any]) -> dict[str, bytes]:
    """Every figure of :data:`FIGURES` rendered from ``report``."""
    return {name: draw(report) for name, draw in FIGURES.items()}
