"""Quality metrics of a run's dialogues: what the `report` stage writes and the card's tables show.

Reads every ``RUN/raw/<role>/dialogues.jsonl`` (and, when ``distillrecdial build`` has run,
``RUN/build/plan.jsonl`` for the re-validated problems and the split of each built dialogue) plus
``RUN/items.parquet``, and computes the metrics of :mod:`dataset_card.metrics` overall, per persona, per
split, per generator (role / backend / model / adapter; with its own per-persona breakdown) and, when both
roles exist, teacher and student side by side with their agreement on recommended items.

``report.json`` has sorted keys and no timestamps: the same run gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from distillrecdial_kit.dataset_card import figures
from distillrecdial_kit.dataset_card.metrics import (
    SELF_BLEU_POOL,
    DialogueFeatures,
    NgramIndex,
    PeopleIndex,
    TitleMatcher,
    agreement,
    dialogue_features,
    distribution,
    problem_shares,
    ratio,
    self_bleu,
)
from distillrecdial_kit.dataset_card.provenance import generator_label
from distillrecdial_kit.generation.personas import PERSONAS
from distillrecdial_kit.generation.title_tags import Candidate
from distillrecdial_kit.pipeline.atomic import write_bytes, write_text
from distillrecdial_kit.pipeline.collector import rare_collections
from distillrecdial_kit.pipeline.console import progress, warn
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import BUILD_DIR, ITEMS_FILE, MERGED_FILE, PLAN_FILE, RAW_DIR
from distillrecdial_kit.pipeline.seeded import order_key

__all__ = ["build_report", "card_report", "headline_markdown", "persona_markdown", "write_report"]

RAW_NAME = MERGED_FILE
PLAN_PATH = Path(BUILD_DIR) / PLAN_FILE
ITEMS_PATH = ITEMS_FILE
WORD_BINS = [0, 5, 10, 15, 20, 25, 30, 40, 50, 75, 100]
ROLE_ORDER = ("teacher", "student")
TITLE_SAMPLE = 5000
#: distinct-n on equal-size samples: at most this many tokens per group, this many seeded draws.
EQUAL_SIZE_TOKENS = 20_000
EQUAL_SIZE_SEED = 0
EQUAL_SIZE_DRAWS = 5


# ------------------------------------------------------------------------------------------------- loading


@dataclass
class _Catalog:
    ids: set[str] = field(default_factory=set)
    titles: dict[str, Candidate] = field(default_factory=dict)
    people: PeopleIndex = field(default_factory=PeopleIndex)


def _load_catalog(run: Path) -> _Catalog:
    path = run / ITEMS_PATH
    if not path.exists():
        return _Catalog()
    import polars as pl

    frame = pl.read_parquet(path)
    columns = set(frame.columns)
    titles = {}
    for item_id, title, year in zip(
        frame["item_id"].to_list(),
        frame["title"].to_list() if "title" in columns else [None] * len(frame),
        frame["year"].to_list() if "year" in columns else [None] * len(frame),
        strict=True,
    ):
        if title:
            titles[item_id] = Candidate(item_id, title, year)
    names: set[str] = set()
    for column in ("actors", "directors"):
        if column in columns:
            names.update(n for row in frame[column].to_list() if row for n in row if n)
    return _Catalog(set(frame["item_id"].to_list()), titles, PeopleIndex.from_names(sorted(names)))


def _lines(path: Path) -> Iterator[bytes]:
    """The lines of a (possibly large) file, read as a stream, without their line ends."""
    with open(path, "rb") as handle:
        for line in handle:
            yield line.rstrip(b"\r\n")


def _count_lines(path: Path, chunk: int = 1 << 24) -> int:
    """How many lines :func:`_lines` yields, counted in chunks (no line is decoded or kept)."""
    count, last = 0, b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def _load_plan(run: Path) -> dict[str, tuple[str, bool, list[str]]]:
    """dialogue_id → (split, valid, problems) from the build plan, if there is one (read as a stream)."""
    path = run / PLAN_PATH
    if not path.exists():
        return {}
    plan = {}
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
            plan[row["dialogue_id"]] = (row["split"], bool(row["valid"]), list(row["problems"]))
        except (orjson.JSONDecodeError, KeyError, TypeError) as err:
            warn("report", f"skipping {path}:{number}: {err}")
    return plan


def _generator_label(generator: dict[str, Any]) -> str:
    label = f"{generator.get('role')}/{generator.get('backend')}/{generator.get('model')}"
    adapter = generator.get("adapter")
    return f"{label}+{Path(str(adapter)).name}" if adapter else label


@dataclass
class _Corpus:
    """Per-dialogue features of every record, with parallel columns for grouping."""

    features: list[DialogueFeatures] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    personas: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    generators: list[str] = field(default_factory=list)
    splits: list[str | None] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    generator_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    index: NgramIndex = field(default_factory=NgramIndex)
    first_turn: list[int] = field(default_factory=list)


def _hash64(key: str) -> int:
    return int.from_bytes(order_key(key), "big")


def _raw_files(run: Path, roles: Sequence[str] | None) -> list[Path]:
    files = sorted((run / RAW_DIR).glob(f"*/{RAW_NAME}"))
    return [f for f in files if roles is None or f.parent.name in roles]


def _read(
    run: Path,
    catalog: _Catalog,
    title_sample: int,
    roles: Sequence[str] | None = None,
    label: Callable[[dict[str, Any]], str] = _generator_label,
) -> _Corpus:
    files = _raw_files(run, roles)
    if not files:
        raise StageError(f"no raw dialogues in {run / RAW_DIR} (expected raw/<role>/{RAW_NAME}); run generate first")
    plan = _load_plan(run)
    corpus = _Corpus()
    titles = TitleMatcher(catalog.titles)
    counts = [_count_lines(path) for path in files]
    total = sum(counts)
    # Titles are looked for in a hashed sample of about ``title_sample`` dialogues (find_titles is slow).
    threshold = (1 << 64) if total <= title_sample else (title_sample << 64) // max(total, 1)
    for path, count in zip(files, counts, strict=True):
        lines = progress(_lines(path), total=count, desc=f"report {path.parent.name}", unit="dlg", disable=None)
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                generator = record.get("generator") or {}
                if record["dialogue_id"] in plan:
                    split, valid, problems = plan[record["dialogue_id"]]
                    record["valid"], record["problems"] = valid, problems
                else:
                    split = None
                start = len(corpus.index)
                sampled = _hash64(record["dialogue_id"]) < threshold
                features = dialogue_features(record, corpus.index, catalog.ids, titles, catalog.people, sampled)
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
                corpus.skipped.append(f"{path}:{number}: {type(err).__name__}: {err}")
                continue
            name = label(generator)
            corpus.generator_info.setdefault(
                name, {k: generator.get(k) for k in ("role", "backend", "model", "adapter")}
            )
            corpus.features.append(features)
            corpus.first_turn.append(start)
            corpus.ids.append(record["dialogue_id"])
            corpus.users.append(str(record.get("user_id")))
            corpus.targets.append(record["target_item"])
            corpus.personas.append(record["persona"])
            corpus.roles.append(str(generator.get("role") or path.parent.name))
            corpus.generators.append(name)
            corpus.splits.append(split)
            corpus.texts.append(" ".join(t["content"] for t in record.get("turns") or []))
    if not corpus.features:
        raise StageError(f"no readable raw dialogues in {', '.join(str(f) for f in files)}")
    corpus.index.finish()
    return corpus


# ----------------------------------------------------------------------------------------------- aggregates


class _Columns:
    """The corpus as numpy columns, and the metrics of any subset of dialogues."""

    def __init__(self, corpus: _Corpus, pool: int) -> None:
        f = corpus.features
        self.corpus = corpus
        self.pool = pool
        self.bleu_cache: dict[str, list[str]] = {}
        self.n = len(f)
        self.valid = np.fromiter((x.valid for x in f), dtype=bool, count=self.n)
        self.turns = np.fromiter((x.turns for x in f), dtype=np.int64, count=self.n)
        self.target = np.fromiter((x.target_recommended for x in f), dtype=bool, count=self.n)
        self.position = np.fromiter((x.position or 0 for x in f), dtype=np.int64, count=self.n)
        self.recommended = np.fromiter((len(x.recommended) for x in f), dtype=np.int64, count=self.n)
        self.mentions = np.fromiter((x.tag_mentions for x in f), dtype=np.int64, count=self.n)
        self.unknown = np.fromiter((x.unknown for x in f), dtype=np.int64, count=self.n)
        self.missing = np.fromiter((x.not_in_catalog for x in f), dtype=np.int64, count=self.n)
        self.titles = np.fromiter((x.titles or 0 for x in f), dtype=np.int64, count=self.n)
        self.title_checked = np.fromiter((x.titles is not None for x in f), dtype=bool, count=self.n)
        self.cold = np.fromiter((x.cold_start for x in f), dtype=bool, count=self.n)
        self.cites = np.fromiter((x.cites_history for x in f), dtype=bool, count=self.n)
        self.people = np.fromiter((x.people for x in f), dtype=np.int64, count=self.n)
        self.unsupported = np.fromiter((x.unsupported for x in f), dtype=np.int64, count=self.n)
        self.words = np.fromiter((w for x in f for w in x.words), dtype=np.int64)
        self.turn_owner = np.repeat(np.arange(self.n), self.turns)
        opening = np.zeros(len(self.words), dtype=bool)
        for start, x in zip(corpus.first_turn, f, strict=True):
            if x.opening_turn is not None:
                opening[start + x.opening_turn] = True
        self.opening = opening

    def summary(self, mask: np.ndarray, heavy: bool = True) -> dict[str, Any]:
        n = int(mask.sum())
        features = self.corpus.features
        chosen = np.flatnonzero(mask)
        turn_mask = mask[self.turn_owner]
        hit = mask & self.target
        cold = mask & self.cold
        checked = mask & self.title_checked
        out: dict[str, Any] = {
            "dialogues": n,
            "valid": int((mask & self.valid).sum()),
            "valid_share": ratio(int((mask & self.valid).sum()), n),
            "target_recommended_share": ratio(int(hit.sum()), n),
            "problems": problem_shares([features[i].problems for i in chosen]) if n else {},
            "turns": distribution(self.turns[mask]),
            "words_per_turn": distribution(self.words[turn_mask], bins=WORD_BINS),
            "recommendation": {
                "target_recommended_share": ratio(int(hit.sum()), n),
                "target_position": distribution(self.position[hit]),
                "recommended_per_dialogue": distribution(self.recommended[mask]),
            },
            "grounding": {
                "tag_mentions": int(self.mentions[mask].sum()),
                "unknown_item_rate": ratio(int(self.unknown[mask].sum()), int(self.mentions[mask].sum())),
                "not_in_catalog_rate": ratio(int(self.missing[mask].sum()), int(self.mentions[mask].sum())),
                "title_checked_dialogues": int(checked.sum()),
                "title_instead_of_tag_dialogue_share": ratio(int((self.titles[checked] > 0).sum()), int(checked.sum())),
                "title_instead_of_tag_rate": ratio(
                    int(self.titles[checked].sum()), int(self.titles[checked].sum() + self.mentions[checked].sum())
                ),
                "cold_start_dialogues": int(cold.sum()),
                "cold_start_cites_history_share": ratio(int((cold & self.cites).sum()), int(cold.sum())),
                "people_mentions": int(self.people[mask].sum()),
                "unsupported_people_rate": ratio(int(self.unsupported[mask].sum()), int(self.people[mask].sum())),
                "unsupported_people_dialogue_share": ratio(int((self.unsupported[mask] > 0).sum()), n),
            },
        }
        if heavy:
            index = self.corpus.index
            openings = turn_mask & self.opening
            diversity: dict[str, Any] = dict(index.distinct(turn_mask))
            diversity["vocabulary_size"] = index.counts(1, turn_mask)[0]
            diversity["self_bleu"] = self_bleu(
                [self.corpus.texts[i] for i in chosen],
                [self.corpus.ids[i] for i in chosen],
                pool=self.pool,
                cache=self.bleu_cache,
            )
            distinct_openings = len({features[i].opening for i in chosen if features[i].opening is not None})
            diversity["opening"] = {
                "openings": int(openings.sum()),
                "distinct_share": ratio(distinct_openings, int(openings.sum())),
                "distinct_2": index.distinct(openings)["distinct_2"],
            }
            out["diversity"] = diversity
        return out

    def equal_size_distinct(
        self, masks: dict[str, np.ndarray], seed: int = EQUAL_SIZE_SEED, draws: int = EQUAL_SIZE_DRAWS
    ) -> dict[str, Any]:
        """distinct-1..4 of each group on samples of the same number of tokens, averaged over seeded draws.

        Distinct-n falls as a corpus grows, so groups of different sizes are compared on equal budgets: the
        smallest group's token count (at most :data:`EQUAL_SIZE_TOKENS`). Each draw shuffles the group's
        turns with ``numpy.random.default_rng(seed)`` and keeps whole turns until the budget is reached.
        """
        turn_masks = {key: mask[self.turn_owner] for key, mask in masks.items()}
        sizes = {key: int(self.words[m].sum()) for key, m in turn_masks.items()}
        budget = min([size for size in sizes.values() if size > 0] + [EQUAL_SIZE_TOKENS])
        values: dict[str, Any] = {}
        for key, turn_mask in turn_masks.items():
            if not sizes[key]:
                values[key] = None
                continue
            rng = np.random.default_rng(seed)
            chosen = np.flatnonzero(turn_mask)
            sums: dict[str, list[float]] = {}
            for _ in range(draws):
                order = rng.permutation(chosen)
                keep = order[: int(np.searchsorted(np.cumsum(self.words[order]), budget)) + 1]
                sample = np.zeros(len(self.words), dtype=bool)
                sample[keep] = True
                for name, value in self.corpus.index.distinct(sample).items():
                    sums.setdefault(name, []).append(value or 0.0)
            values[key] = {name: round(float(np.mean(v)), 4) for name, v in sums.items()}
        return {"tokens": budget, "seed": seed, "draws": draws, "values": values}


def _masks(labels: Sequence[Any]) -> dict[Any, np.ndarray]:
    """One boolean mask per distinct (non-None) label."""
    array = np.asarray([str(x) if x is not None else "" for x in labels], dtype=object)
    return {label: array == label for label in sorted({str(x) for x in labels if x is not None})}


def _persona_masks(personas: list[str]) -> dict[str, np.ndarray]:
    """A mask per persona: the five of DESIGN first (empty ones too, so tables line up), then any other."""
    masks = _masks(personas)
    known = [p.id for p in PERSONAS]
    empty = np.zeros(len(personas), dtype=bool)
    return {p: masks.get(p, empty) for p in known} | {p: masks[p] for p in sorted(set(masks) - set(known))}


def _recommended_by_user(columns: _Columns, mask: np.ndarray) -> dict[str, set[str]]:
    """user → recommended items of that user's first dialogue (by id) in ``mask``."""
    corpus = columns.corpus
    out: dict[str, set[str]] = {}
    for i in sorted(np.flatnonzero(mask), key=lambda i: corpus.ids[i]):
        out.setdefault(corpus.users[i], corpus.features[i].recommended)
    return out


#: Headline metrics shown side by side for teacher and student: name → path in a summary.
SIDE_BY_SIDE = {
    "dialogues": ("dialogues",),
    "valid_share": ("valid_share",),
    "target_recommended_share": ("target_recommended_share",),
    "turns_mean": ("turns", "mean"),
    "words_per_turn_mean": ("words_per_turn", "mean"),
    "distinct_1": ("diversity", "distinct_1"),
    "distinct_2": ("diversity", "distinct_2"),
    "self_bleu": ("diversity", "self_bleu"),
    "opening_distinct_share": ("diversity", "opening", "distinct_share"),
    "unknown_item_rate": ("grounding", "unknown_item_rate"),
    "not_in_catalog_rate": ("grounding", "not_in_catalog_rate"),
    "title_instead_of_tag_rate": ("grounding", "title_instead_of_tag_rate"),
    "cold_start_cites_history_share": ("grounding", "cold_start_cites_history_share"),
    "unsupported_people_rate": ("grounding", "unsupported_people_rate"),
}


def _get(summary: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = summary
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def build_report(
    run: Path,
    self_bleu_pool: int = SELF_BLEU_POOL,
    title_sample: int = TITLE_SAMPLE,
    *,
    roles: Sequence[str] | None = None,
    label: Callable[[dict[str, Any]], str] = _generator_label,
    equal_size: bool = False,
) -> dict[str, Any]:
    """Every metric of the run's dialogues, overall and per persona / split / generator / role (JSON-ready).

    Self-BLEU uses at most ``self_bleu_pool`` dialogues per group, titles-instead-of-tags at most about
    ``title_sample`` dialogues of the run (both chosen by a hash of the dialogue id, so deterministic).
    ``roles`` restricts it to those roles' dialogues (what ``build`` publishes), ``label`` names each
    generator, and ``equal_size`` adds ``diversity_equal_size``: distinct-n per generator and per split on
    equal-size, seeded samples, so groups of different sizes can be compared.
    """
    run = Path(run)
    catalog = _load_catalog(run)
    with rare_collections():  # reading creates ~10 containers per turn, none in a cycle
        corpus = _read(run, catalog, title_sample, roles, label)
    columns = _Columns(corpus, self_bleu_pool)
    everything = np.ones(columns.n, dtype=bool)

    personas = _persona_masks(corpus.personas)
    splits = _masks(corpus.splits)
    by_generator = {}
    for label, mask in _masks(corpus.generators).items():
        entry = {**corpus.generator_info[label], **columns.summary(mask)}
        entry["by_persona"] = {p: columns.summary(mask & personas[p], heavy=False) for p in personas}
        by_generator[label] = entry

    report: dict[str, Any] = {
        "run": run.name,
        "sources": {
            "raw_files": sorted(str(p.relative_to(run)) for p in _raw_files(run, roles)),
            "build_plan": (run / PLAN_PATH).exists(),
            "catalog_items": len(catalog.ids),
            "skipped_records": len(corpus.skipped),
            "skipped_examples": corpus.skipped[:10],
            "self_bleu_pool": self_bleu_pool,
            "title_sample": title_sample,
        },
        "overall": columns.summary(everything),
        "by_persona": {p: columns.summary(personas[p]) for p in personas},
        "by_split": {s: columns.summary(splits[s]) for s in splits} if splits else None,
        "by_generator": by_generator,
        "teacher_vs_student": None,
    }
    if equal_size:
        report["diversity_equal_size"] = {
            "by_generator": columns.equal_size_distinct(_masks(corpus.generators)),
            "by_split": columns.equal_size_distinct(splits) if splits else None,
        }
    roles = _masks(corpus.roles)
    if all(role in roles for role in ROLE_ORDER):
        summaries = {role: columns.summary(roles[role]) for role in ROLE_ORDER}
        targets = {}
        for user, target in zip(corpus.users, corpus.targets, strict=True):
            targets.setdefault(user, target)
        report["teacher_vs_student"] = {
            "metrics": {
                name: {role: _get(summaries[role], path) for role in ROLE_ORDER} for name, path in SIDE_BY_SIDE.items()
            },
            "by_persona": {
                p: {
                    role: {k: _get(s, (k,)) for k in ("dialogues", "valid_share", "target_recommended_share")}
                    for role in ROLE_ORDER
                    for s in [columns.summary(roles[role] & personas[p], heavy=False)]
                }
                for p in personas
            },
            "agreement": agreement(
                _recommended_by_user(columns, roles["teacher"]),
                _recommended_by_user(columns, roles["student"]),
                targets,
            ),
        }
    return report


# ---------------------------------------------------------------------------------------------- rendering


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def headline_markdown(report: dict[str, Any]) -> str:
    """One row per generator: dialogues, valid %, target recommended %, turns, distinct-1/2, self-BLEU, unknown %."""
    lines = [
        "| generator | dialogues | valid % | target recommended % | turns (mean) | distinct-1 | distinct-2 "
        "| self-BLEU | unknown-id % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = sorted(report["by_generator"].items())
    if len(rows) != 1:
        rows.append(("**all**", report["overall"]))
    for label, s in rows:
        div = s.get("diversity") or {}
        lines.append(
            f"| {label} | {s['dialogues']} | {_pct(s['valid_share'])} | {_pct(s['target_recommended_share'])} "
            f"| {_num(s['turns']['mean'], 1)} | {_num(div.get('distinct_1'))} | {_num(div.get('distinct_2'))} "
            f"| {_num(div.get('self_bleu'), 1)} | {_pct(s['grounding']['unknown_item_rate'])} |"
        )
    return "\n".join(lines) + "\n"


def persona_markdown(report: dict[str, Any]) -> str:
    """One row per generator and persona: dialogues, valid %, target recommended %, turns, grounding rates."""
    lines = [
        "| generator | persona | dialogues | valid % | target recommended % | turns (mean) | unknown-id % "
        "| title-for-tag % | cold-start cites history % |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, entry in sorted(report["by_generator"].items()):
        for persona, s in entry["by_persona"].items():
            if not s["dialogues"]:
                continue
            g = s["grounding"]
            lines.append(
                f"| {label} | {persona} | {s['dialogues']} | {_pct(s['valid_share'])} "
                f"| {_pct(s['target_recommended_share'])} | {_num(s['turns']['mean'], 1)} "
                f"| {_pct(g['unknown_item_rate'])} | {_pct(g['title_instead_of_tag_rate'])} "
                f"| {_pct(g['cold_start_cites_history_share'])} |"
            )
    return "\n".join(lines) + "\n"


def _side_by_side_markdown(report: dict[str, Any]) -> str:
    tvs = report.get("teacher_vs_student")
    if not tvs:
        return ""
    lines = ["| metric | teacher | student |", "|---|---:|---:|"]
    for name, values in tvs["metrics"].items():
        cells = [str(v) if isinstance(v, int) else _num(v) for v in (values["teacher"], values["student"])]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    a = tvs["agreement"]
    lines.append(
        f"\nAgreement on {a['users']} users with both: mean Jaccard of recommended items "
        f"{_num(a['jaccard_mean'])}, both recommend the target {_pct(a['both_recommend_target'])} %."
    )
    return "\n".join(lines) + "\n"


def report_markdown(report: dict[str, Any], figure_dir: str = "figures") -> str:
    """The whole ``report.md``: headline, per-persona table, teacher vs student, problems, figures."""
    parts = [f"# Dialogue quality report: {report['run']}\n", headline_markdown(report)]
    parts += ["\n## Per persona\n", persona_markdown(report)]
    if report.get("by_split"):
        lines = [
            "| split | dialogues | valid % | target recommended % | distinct-2 | self-BLEU |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for split, s in report["by_split"].items():
            lines.append(
                f"| {split} | {s['dialogues']} | {_pct(s['valid_share'])} | {_pct(s['target_recommended_share'])} "
                f"| {_num(s['diversity']['distinct_2'])} | {_num(s['diversity']['self_bleu'], 1)} |"
            )
        parts += ["\n## Per split\n", "\n".join(lines) + "\n"]
    side = _side_by_side_markdown(report)
    if side:
        parts += ["\n## Teacher vs student\n", side]
    problems = report["overall"]["problems"]
    if problems:
        lines = ["| problem | share of dialogues % |", "|---|---:|"]
        lines += [
            f"| {name} | {_pct(share)} |" for name, share in sorted(problems.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        parts += ["\n## Problems\n", "\n".join(lines) + "\n"]
    parts.append("\n## Figures\n")
    parts += [f"![{name}]({figure_dir}/{name})\n" for name in figures.FIGURES]
    parts.append("\nMetric definitions: `dataset_card/metrics.py`.\n")
    return "\n".join(parts)


def summary_line(report: dict[str, Any], out: Path) -> str:
    o = report["overall"]
    return (
        f"report: {o['dialogues']} dialogues ({o['valid']} valid, {_pct(o['valid_share'])} %) from "
        f"{len(report['by_generator'])} generator(s); skipped {report['sources']['skipped_records']} bad records "
        f"→ {out} (report.json, report.md, {len(figures.FIGURES)} figures)"
    )


def write_report(report: dict[str, Any], out: Path) -> None:
    """report.json, report.md and figures/*.png under ``out`` (each written atomically)."""
    write_bytes(out / "report.json", orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    for name, png in figures.render_all(report).items():
        write_bytes(out / "figures" / name, png)
    write_text(out / "report.md", report_markdown(report))


#: The card is always measured with the default sample sizes.
CARD_PARAMETERS = {"self_bleu_pool": SELF_BLEU_POOL, "title_sample": TITLE_SAMPLE}


def card_report(run: Path, roles: Sequence[str]) -> dict[str, Any]:
    """The card's quality data: only the published ``roles``, generators named without local paths, and
    distinct-n on equal-size samples (so generators of different sizes compare)."""
    return build_report(run, roles=roles, label=generator_label, equal_size=True, **CARD_PARAMETERS)
