"""Everything the card shows, gathered from the build's plan, its configs and the quality report.

Kept apart from ``builder.build`` so the card's wording and numbers live with the template; ``build`` only
passes in what it built (this package never imports the builder: the example dialogue arrives as its `sft`
messages).
"""

from __future__ import annotations

import html
from typing import Any

from distillrecdial_kit.dataset_card.fields import FIELDS, field_rows
from distillrecdial_kit.dataset_card.provenance import generator_label, rule_based_only
from distillrecdial_kit.dataset_card.quality import persona_markdown
from distillrecdial_kit.distillrecdial import FEATURES
from distillrecdial_kit.generation.dialogue_parser import TAG

SPEAKERS = {"user": "Seeker", "assistant": "Recommender"}
FIGURE_TEXT = {
    "turns_histogram.png": "Dialogues per number of turns, per generator",
    "persona_bars.png": "Valid share and target-recommended share per persona, per generator",
    "distinct_n.png": "distinct-1..4 per generator on equal-size samples",
}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def quality_markdown(report: dict[str, Any]) -> str:
    """One row per published generator (no mixed "all" row); distinct-n from the equal-size samples."""
    equal = report["diversity_equal_size"]["by_generator"]["values"]
    lines = [
        "| generator | dialogues | valid % | target recommended % | turns (mean) | distinct-1 | distinct-2 "
        "| self-BLEU | unknown-id % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, s in sorted(report["by_generator"].items()):
        d = equal.get(label) or {}
        lines.append(
            f"| {label} | {s['dialogues']} | {_pct(s['valid_share'])} | {_pct(s['target_recommended_share'])} "
            f"| {_num(s['turns']['mean'], 1)} | {_num(d.get('distinct_1'))} | {_num(d.get('distinct_2'))} "
            f"| {_num(s['diversity'].get('self_bleu'), 1)} | {_pct(s['grounding']['unknown_item_rate'])} |"
        )
    return "\n".join(lines) + "\n"


def _inline(text: str) -> str:
    """One line of markdown that shows ``text`` literally (``<rec>`` stays visible, no stray formatting)."""
    text = html.escape(" ".join(text.split()), quote=False)
    for char in "*_`[]#|":
        text = text.replace(char, "\\" + char)
    return text


def example_row(plan: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The dialogue the card shows: the first valid train dialogue by id."""
    rows = [r for r in plan if r["valid"] and r["split"] == "train"]
    return min(rows, key=lambda r: r["dialogue_id"]) if rows else None


def example_dialogue(
    row: dict[str, Any] | None, messages: list[dict[str, str]], catalog: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """``row`` (see :func:`example_row`) as ``sft`` shows it: its ``messages`` (titles, ``<rec>`` markers)."""
    if row is None:
        return None
    target = catalog.get(row["target_item"]) or {}
    title = f"{target.get('title')} ({target.get('year')})" if target.get("year") else target.get("title")
    return {
        "dialogue_id": row["dialogue_id"],
        "persona": row["persona"],
        "generator": generator_label(row["generator"]),
        "target": _inline(f"{title or row['target_item']} ({row['target_item']})"),
        "turns": [(SPEAKERS[m["role"]], _inline(m["content"])) for m in messages if m["role"] in SPEAKERS],
    }


def walk_example(rows: list[dict[str, Any]], catalog: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The first valid train walk by id: its slates as titles, each with the relation behind the move."""
    valid = sorted((r for r in rows if r["valid"]), key=lambda r: r["dialogue_id"])
    if not valid:
        return None
    row = valid[0]

    def title(item: str) -> str:
        facts = catalog.get(item) or {}
        name = facts.get("title") or item
        return f"{name} ({facts['year']})" if facts.get("year") else name

    return {
        "persona": row["persona"],
        "start": _inline(title(row["start_item"])),
        "moves": [
            (edge.replace("_", " "), _inline(", ".join(title(i) for i in slate)))
            for edge, slate in zip(row["edges"], row["slates"], strict=False)
        ],
        "turns": [
            (SPEAKERS[t["role"]], _inline(TAG.sub(lambda m: title(m[1]), t["content"])))
            for t in row["turns"]
            if t["role"] in SPEAKERS
        ],
    }


def writers(stats: dict[str, Any]) -> list[str]:
    """Every published generator in words: ``student · vllm · meta-llama/... — 95.0 % of valid dialogues``."""
    return [
        f"{g['label']}{' (the rule-based template writer)' if g['rule_based'] else ''}: {g['raw']} generated, "
        f"{g['valid']} valid ({g['valid_share']} % of valid dialogues)"
        for g in stats["generators"]
    ]


def writers_short(stats: dict[str, Any]) -> str:
    """The generators of the valid dialogues, largest share first, for the card's first sentence."""
    useful = sorted((g for g in stats["generators"] if g["valid"]), key=lambda g: (-g["valid"], g["label"]))
    return " and ".join(f"{g['label']} ({g['valid_share']} % of valid dialogues)" for g in useful) or "no generator"


def card_context(
    *,
    plan: list[dict[str, Any]],
    stats: dict[str, Any],
    quality: dict[str, Any],
    configs: dict[str, dict[str, Any]],
    catalog: dict[str, dict[str, Any]],
    figures: list[str],
    repo_id: str,
    k: int,
    citation: str,
    descriptions: dict[str, str],
    example: dict[str, Any] | None = None,
    benchmark: dict[str, Any] | None = None,
    walks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The template's variables; ``example`` is :func:`example_dialogue`'s."""
    equal = quality["diversity_equal_size"]["by_generator"]
    template_share = sum(g["valid_share"] for g in stats["generators"] if g["rule_based"])
    return {
        "s": stats,
        "rule_based": rule_based_only(plan),
        "writers": writers(stats),
        "writers_short": writers_short(stats),
        "other_raw": sum(g["raw"] for g in stats["generators"] if not g["rule_based"]),
        "template_share": round(template_share, 1) if template_share else 0,
        "example": example,
        "benchmark": benchmark,
        "walk": walk_example(walks, catalog) if walks else None,
        "repo_id": repo_id,
        "k": k,
        "citation": citation,
        "quality": quality_markdown(quality),
        "quality_personas": persona_markdown(quality),
        "equal_tokens": f"{equal['tokens']:,}",
        "equal_draws": equal["draws"],
        "equal_seed": equal["seed"],
        "bleu_pool": quality["sources"]["self_bleu_pool"],
        "figures": [{"name": name, "alt": FIGURE_TEXT.get(name, name)} for name in figures],
        "configs": [
            {
                "name": name,
                "rows": sum(rows for rows, _ in config["splits"].values()),
                "description": descriptions[name],
                "fields": [
                    {"name": field, "type": kind, "doc": FIELDS[name][field]}
                    for field, kind in field_rows(FEATURES[name])
                ],
            }
            for name, config in configs.items()
        ],
    }
