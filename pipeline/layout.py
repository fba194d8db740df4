"""The run folder: the one place that names its files and reads the artefacts stages hand to each other.

Every stage reads and writes one folder, ``RUN/``. The names below, and :class:`RunLayout`'s paths built from
them, are the only spelling of that layout in the code; a stage asks for ``RunLayout(run).prompts`` rather than
joining ``"prompts.jsonl"`` itself, so moving a file is a change here and nowhere else. The loaders at the end
(the catalog, the prompts, the walk prompts, the selection) are how a stage reads another stage's output: one
error message for a missing artefact, naming the stage that makes it, and one tolerant reader for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distillrecdial_kit.pipeline.console import warn
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.jsonl import Check, read_jsonl, require
from distillrecdial_kit.pipeline.problems import ProblemLog

if TYPE_CHECKING:
    import polars as pl

MANIFEST_FILE = "manifest.json"
ITEMS_FILE = "items.parquet"
INTERACTIONS_FILE = "interactions.parquet"
PROMPTS_FILE = "prompts.jsonl"
PREPARE_PROBLEMS_FILE = "problems.prepare.jsonl"
SELECTION_FILE = "selection.jsonl"
RAW_DIR = "raw"
WALKS_DIR = "walks"  # RUN/walks/ (walk records and prompts) and RUN/raw/walks/<role>/ (walk dialogues)
MERGED_FILE = "dialogues.jsonl"
GENERATOR_FILE = "generator.json"
DISTILL_DIR = "distill"
DISTILL_RATIONALES_DIR = "distill_rationales"
STUDENT_DIR = "student"
BUILD_DIR = "build"
PLAN_FILE = "plan.jsonl"
HUB_DIR = "hub"
REPORT_DIR = "report"
CARD_QUALITY_FILE = "card_quality.json"
CRSLAB_DIR = "crslab"
EVAL_DIR = "eval"
EVAL_RESULTS_FILE = "results.json"
RATIONALES_DIR = "rationales"
RATIONALES_FILE = "rationales.jsonl"
WALKS_FILE = "walks.jsonl"
WALK_PROMPTS_FILE = "prompts.jsonl"
WALK_GRAPH_FILE = "graph.json"
CACHE_DIR = ".cache"
LOCKS_DIR = ".locks"

#: What `generate --prompts` can write: plain dialogues or walk dialogues.
PROMPT_KINDS = ("dialogues", "walks")
#: Who writes dialogues (each role has its own ``raw/<role>/`` folder).
ROLES = ("teacher", "student")


@dataclass(frozen=True)
class RunLayout:
    """Paths of one run folder's artefacts."""

    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST_FILE

    @property
    def items(self) -> Path:
        return self.root / ITEMS_FILE

    @property
    def interactions(self) -> Path:
        return self.root / INTERACTIONS_FILE

    @property
    def prompts(self) -> Path:
        return self.root / PROMPTS_FILE

    @property
    def prepare_problems(self) -> Path:
        return self.root / PREPARE_PROBLEMS_FILE

    @property
    def selection(self) -> Path:
        return self.root / SELECTION_FILE

    def raw_dir(self, role: str, kind: str = "dialogues") -> Path:
        """``raw/<role>/`` for dialogues, ``raw/walks/<role>/`` for walk dialogues."""
        return self.root / RAW_DIR / role if kind == "dialogues" else self.root / RAW_DIR / WALKS_DIR / role

    def raw_dialogues(self, role: str, kind: str = "dialogues") -> Path:
        """The merged raw records of one role: what `distill`, `build` and `report` read."""
        return self.raw_dir(role, kind) / MERGED_FILE

    @property
    def distill(self) -> Path:
        return self.root / DISTILL_DIR

    @property
    def distill_rationales(self) -> Path:
        return self.root / DISTILL_RATIONALES_DIR

    @property
    def student(self) -> Path:
        return self.root / STUDENT_DIR

    @property
    def plan(self) -> Path:
        return self.root / BUILD_DIR / PLAN_FILE

    @property
    def hub(self) -> Path:
        return self.root / HUB_DIR

    @property
    def report(self) -> Path:
        return self.root / REPORT_DIR

    @property
    def card_quality(self) -> Path:
        """The card's quality data, written by `report` for the next `build` (see dataset_card/card_quality.py)."""
        return self.root / REPORT_DIR / CARD_QUALITY_FILE

    @property
    def crslab(self) -> Path:
        return self.root / CRSLAB_DIR

    @property
    def evaluation(self) -> Path:
        return self.root / EVAL_DIR

    @property
    def eval_results(self) -> Path:
        return self.root / EVAL_DIR / EVAL_RESULTS_FILE

    @property
    def rationales(self) -> Path:
        return self.root / RATIONALES_DIR

    @property
    def walks(self) -> Path:
        return self.root / WALKS_DIR

    def cache(self, stage: str) -> Path:
        """A stage's private cache (``.cache/<stage>/``): safe to delete, rebuilt on the next run."""
        return self.root / CACHE_DIR / stage

    @property
    def locks(self) -> Path:
        return self.root / LOCKS_DIR

    @property
    def walk_prompts(self) -> Path:
        return self.root / WALKS_DIR / WALK_PROMPTS_FILE


#: The fields every prompt line must have (prepare writes them; generate, select and merge read them).
PROMPT_FIELDS = require(
    prompt_id=str, user_id=str, persona=str, target_item=str, history=list, prompt=list, inputs=dict
)


#: The fields of a walk prompt line (`walks` writes them; `generate --prompts walks` and `merge` read them).
WALK_PROMPT_FIELDS = require(
    prompt_id=str, user_id=str, persona=str, target_item=str, history=list, walk=dict, inputs=dict, prompt=list
)


def _missing(path: Path, command: str) -> StageError:
    return StageError(f"{path} not found; run `distillrecdial {command}` first")


def read_items(run: Path, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """The catalog ``items.parquet`` (all columns, or ``columns``)."""
    import polars as pl  # here, not at the top: Ray replicas import this module and need no polars

    path = RunLayout(run).items
    if not path.exists():
        raise _missing(path, f"prepare --out {run}")
    return pl.read_parquet(path, columns=list(columns) if columns is not None else None)


def read_prompts(run: Path, problems: ProblemLog | None = None, fields: Check = PROMPT_FIELDS) -> list[dict[str, Any]]:
    """The prompts of ``run``; a bad line is skipped into ``problems`` (or named on stderr) and costs itself.

    ``fields`` checks each line (default: every field a backend needs; a stage that reads fewer asks for those).
    """
    path = RunLayout(run).prompts
    if not path.exists():
        raise _missing(path, f"prepare --out {run}")
    skipped = problems if problems is not None else ProblemLog()
    prompts = read_jsonl(path, PROMPTS_FILE, fields, skipped)
    if problems is None and skipped:
        warn(PROMPTS_FILE, f"bad lines skipped: {skipped.brief()}")
    return prompts


def read_walk_prompts(run: Path, problems: ProblemLog | None = None) -> list[dict[str, Any]]:
    """The walk prompts `generate --prompts walks` reads (written by `distillrecdial walks`); a bad line is skipped
    into ``problems`` (or named on stderr, file:line: reason)."""
    path = RunLayout(run).walk_prompts
    if not path.exists():
        raise _missing(path, f"walks --run {run}")
    label = f"{WALKS_DIR}/{WALK_PROMPTS_FILE}"
    skipped = problems if problems is not None else ProblemLog()
    prompts = read_jsonl(path, label, WALK_PROMPT_FIELDS, skipped)
    if problems is None and skipped:
        warn(label, f"bad lines skipped: {skipped.brief()}")
    return prompts


def read_selection(run: Path) -> set[str] | None:
    """The selected prompt ids, or ``None`` when the run has no selection (then every prompt is generated)."""
    path = RunLayout(run).selection
    if not path.exists():
        return None
    skipped = ProblemLog()
    chosen = {record["prompt_id"] for record in read_jsonl(path, SELECTION_FILE, require(prompt_id=str), skipped)}
    if skipped:
        warn(SELECTION_FILE, f"bad lines skipped: {skipped.brief()}")
    return chosen


def read_user_ids(path: Path, problems: ProblemLog | None = None) -> set[str]:
    """The ``user_id`` of every row of a JSONL file (e.g. ``RUN/distill/validation.jsonl``, the held-out users):
    which users' prompts `generate --users` keeps. A bad line is skipped into ``problems``, named."""
    if not path.is_file():
        raise StageError(f"{path}: no such file (expected JSONL rows with a user_id, e.g. distill/validation.jsonl)")
    return {row["user_id"] for row in read_jsonl(path, path.name, require(user_id=str), problems)}
