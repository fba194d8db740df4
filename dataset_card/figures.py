"""The report's figures as deterministic PNGs (matplotlib, Agg backend, no timestamps or version tag).

Each function takes the ``report.json`` dictionary and returns PNG bytes, so the caller decides where
(and how atomically) they are written. Figures are 1000 px wide with 12-14 pt text so they stay legible
when the Hub scales them to the page; every bar carries its value, so a zero is a visible "0", not a gap.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from distillrecdial_kit.generation.personas import PERSONAS

__all__ = ["FIGURES", "distinct_bars", "persona_bars", "render_all", "turns_histogram"]

DPI = 100
WIDTH_IN = 10.0  # x DPI = 1000 px
_STYLE = {
    "font.size": 12,
    "axes.titlesize": 14,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
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
        fig.legend(handles, labels, loc="lower center", ncol=1, frameon=False)
    fig.tight_layout(rect=(0, min(0.35 / fig.get_size_inches()[1] * series, 0.5), 1, 1))


def _bars(ax: Any, xs: list[float], values: list[float | None], width: float, label: str, fmt: str) -> None:
    """Bars with an outline (a zero bar is still a line on the axis) and each value written on top ("n/a": none)."""
    heights = [v or 0 for v in values]
    bars = ax.bar(xs, heights, width=width, label=label, edgecolor="black", linewidth=0.8)
    ax.bar_label(bars, labels=["n/a" if v is None else fmt.format(v) for v in values], padding=2, fontsize=9)


def _bar_positions(groups: int, series: int) -> tuple[list[list[float]], float]:
    width = 0.8 / max(series, 1)
    return [[g + (s - (series - 1) / 2) * width for g in range(groups)] for s in range(series)], width


def turns_histogram(report: dict[str, Any]) -> bytes:
    """Dialogues per number of turns, one bar series per generator."""
    generators = _generators(report)
    turns = sorted({int(k) for _, g in generators for k in g["turns"]["histogram"]}) or [0]
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 5.5))
        positions, width = _bar_positions(len(turns), len(generators))
        for (label, entry), xs in zip(generators, positions, strict=True):
            histogram = entry["turns"]["histogram"]
            _bars(ax, xs, [histogram.get(str(t), 0) for t in turns], width, label, "{:d}")
        ax.margins(y=0.12)
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
        fig, axes = plt.subplots(2, 1, figsize=(WIDTH_IN, 9), sharex=True)
        positions, width = _bar_positions(len(personas), len(generators))
        for ax, (key, title) in zip(
            axes, (("valid_share", "Valid share"), ("target_recommended_share", "Target recommended")), strict=True
        ):
            for (label, entry), xs in zip(generators, positions, strict=True):
                values = [(entry["by_persona"].get(p) or {}).get(key) for p in personas]
                _bars(ax, xs, values, width, label, "{:.2f}")
            ax.set_xticks(range(len(personas)), [p.replace("_", "\n") for p in personas])
            ax.set_ylim(0, 1.15)
            ax.set_ylabel("share of dialogues")
            ax.set_title(title)
        _finish(fig, axes[0], len(generators))
        return _png(fig)


def distinct_bars(report: dict[str, Any]) -> bytes:
    """distinct-1..4 per generator; on equal-size samples when the report has them."""
    generators = _generators(report)
    orders = ["distinct_1", "distinct_2", "distinct_3", "distinct_4"]
    equal = (report.get("diversity_equal_size") or {}).get("by_generator")
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 5.5))
        positions, width = _bar_positions(len(orders), len(generators))
        for (label, entry), xs in zip(generators, positions, strict=True):
            values = (equal["values"].get(label) or {}) if equal else entry["diversity"]
            _bars(ax, xs, [values.get(o) for o in orders], width, label, "{:.3f}")
        ax.set_xticks(range(len(orders)), [o.replace("_", "-") for o in orders])
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("distinct n-grams / n-grams")
        title = "Lexical diversity"
        if equal:
            title += f" (equal samples of {equal['tokens']:,} tokens per generator)"
        ax.set_title(title)
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
