"""Markdown tables of an `evaluate` run's results.json, for eval.md and the dataset card.

They live with the card so that `build` can show the benchmark without importing the evaluation stage.
"""

from __future__ import annotations

from typing import Any

from distillrecdial_kit.generation.personas import PERSONA_BY_ID

HEADLINE = ("recall@1", "recall@10", "recall@50", "mrr", "ndcg@10")


def measured_on(results: dict[str, Any], data_files: dict[str, str]) -> bool:
    """Whether ``results`` were measured on exactly these data files (``config/file.parquet`` → SHA-256).

    A card must not show numbers of another build: `evaluate` records the hash of every parquet file it read,
    and every one of them must be among the files being published, byte for byte.
    """
    inputs = (results.get("provenance") or {}).get("inputs") or {}
    evaluated = {name: digest for name, digest in inputs.items() if name.endswith(".parquet") and "/" in name}
    return bool(evaluated) and all(data_files.get(name) == digest for name, digest in evaluated.items())


def persona_name(key: str) -> str:
    persona = PERSONA_BY_ID.get(key)
    return persona.name if persona is not None else key


def method_label(results: dict[str, Any], method: str) -> str:
    """A method's name as a table shows it; a rule-based stand-in for an LLM says so, so no reader takes it for one."""
    described = ((results.get("provenance") or {}).get("methods") or {}).get(method) or {}
    return f"{method} (rule-based stand-in, not an LLM)" if described.get("backend") == "template" else method


def _cell(stats: dict[str, Any], metric: str, digits: int = 3) -> str:
    value = stats.get(metric)
    if value is None:
        return "–"
    ci = stats.get(f"{metric}_ci")
    return f"{value:.{digits}f} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]" if ci else f"{value:.{digits}f}"


def headline_markdown(results: dict[str, Any]) -> str:
    """Recommend task, all personas: one row per method, mean [95% CI] per metric."""
    recommend = results.get("recommend") or {}
    if not recommend and not results.get("slates"):
        return ""
    n = (results.get("n") or {}).get("recommend", {}).get("all", 0)
    lines: list[str] = []
    if recommend:
        lines += [
            f"Recommend task: rank the full catalog at each recommendation ({n:,} examples, "
            f"split `{results.get('provenance', {}).get('split', 'test')}`); mean [bootstrap 95% CI].",
            "",
            "| method | "
            + " | ".join(m.replace("recall", "Recall").replace("mrr", "MRR").replace("ndcg", "NDCG") for m in HEADLINE)
            + " |",
            "|---|" + "---:|" * len(HEADLINE),
        ]
    for method, groups in recommend.items():
        stats = groups.get("all", {})
        lines.append(f"| {method_label(results, method)} | " + " | ".join(_cell(stats, m) for m in HEADLINE) + " |")
    for task, label in (("collaborate", "Collaborate"),):
        part = results.get(task) or {}
        if part:
            lines += [
                "",
                f"{label} (LLM-CRS directions), all personas:",
                "",
                "| setting | Recall@1 | Recall@10 | MRR |",
                "|---|---:|---:|---:|",
            ]
            for method, groups in part.items():
                stats = groups.get("all", {})
                lines.append(
                    f"| {method} | {_cell(stats, 'recall@1')} | {_cell(stats, 'recall@10')} | {_cell(stats, 'mrr')} |"
                )
    slates = results.get("slates") or {}
    if slates:
        count = (results.get("n") or {}).get("slates", {}).get("all", 0)
        lines += [
            "",
            f"Slate retrieval (walk dialogues, {count:,} slates): share of the next slate's items in the top k.",
            "",
            "| method | Hits@10 | Hits@50 |",
            "|---|---:|---:|",
        ]
        for method, groups in slates.items():
            stats = groups.get("all", {})
            lines.append(f"| {method} | {_cell(stats, 'hits@10')} | {_cell(stats, 'hits@50')} |")
    respond = results.get("respond") or {}
    if respond:
        metrics = ("bleu-1", "bleu-2", "bleu-4", "rouge-l", "distinct-1", "distinct-2", "perplexity")
        lines += [
            "",
            "Respond task (next Recommender utterance vs the reference):",
            "",
            "| responder | " + " | ".join(metrics) + " |",
            "|---|" + "---:|" * len(metrics),
        ]
        for method, groups in respond.items():
            stats = groups.get("all", {})
            lines.append(f"| {method} | " + " | ".join(_cell(stats, m, 3) for m in metrics) + " |")
    return "\n".join(lines) + "\n"


def leakage_markdown(results: dict[str, Any]) -> str:
    """Per persona: share of dialogues whose seeker names the target before it is recommended, and bm25 R@1."""
    leakage = (results.get("leakage") or {}).get("seeker_names_target") or {}
    if not leakage:
        return ""
    bm25 = (results.get("leakage") or {}).get("bm25") or {}
    counts = (results.get("n") or {}).get("leakage", {})
    lines = [
        "Leakage: share of dialogues whose seeker turns before the recommendation already name the target "
        "(title, actor, director or collection); `bm25` Recall@1 is its symptom.",
        "",
        "| persona | n | any | title | actor | director | collection | bm25 R@1 (leaked / clean) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for group in ["all", *sorted(k for k in leakage if k != "all")]:
        stats = leakage[group]
        sym = bm25.get(group, {})
        leaked, clean = sym.get("recall@1_leaked"), sym.get("recall@1_clean")
        symptom = (
            f"{_cell(sym, 'recall@1', 2)} ({'–' if leaked is None else f'{leaked:.2f}'} / "
            f"{'–' if clean is None else f'{clean:.2f}'})"
            if sym
            else "–"
        )
        lines.append(
            f"| {persona_name(group)} | {counts.get(group, 0)} | {_cell(stats, 'any', 2)} | "
            + " | ".join(_cell(stats, f, 2).split(" [")[0] for f in ("title", "actor", "director", "collection"))
            + f" | {symptom} |"
        )
    return "\n".join(lines) + "\n"


def persona_markdown(results: dict[str, Any], metric: str = "recall@10") -> str:
    recommend = results.get("recommend") or {}
    if not recommend:
        return ""
    groups = sorted({g for per in recommend.values() for g in per if g != "all"})
    lines = [
        f"{metric.replace('recall', 'Recall')} per persona:",
        "",
        "| method | " + " | ".join(persona_name(g) for g in groups) + " |",
        "|---|" + "---:|" * len(groups),
    ]
    for method, per in recommend.items():
        cells = " | ".join(_cell(per.get(g, {}), metric, 2) for g in groups)
        lines.append(f"| {method_label(results, method)} | {cells} |")
    return "\n".join(lines) + "\n"


def results_markdown(results: dict[str, Any]) -> str:
    """The headline and leakage tables, for a dataset card (empty string when there is nothing to show)."""
    parts = [p for p in (headline_markdown(results), leakage_markdown(results)) if p]
    return "\n".join(parts)
