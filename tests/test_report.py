"""`distillrecdial report`: report.json / report.md / figures on hand-made runs and on the sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.image
import orjson
import polars as pl
import pytest

from distillrecdial_kit.dataset_card import quality as report
from distillrecdial_kit.dataset_card.figures import FIGURES
from distillrecdial_kit.pipeline.cli import main
from distillrecdial_kit.pipeline.errors import StageError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

ITEMS = [
    {"item_id": "T1", "title": "Fight Club", "year": 1999, "actors": ["Brad Pitt", "Edward Norton"]},
    {"item_id": "T2", "title": "Heat", "year": 1995, "actors": ["Al Pacino", "Robert De Niro"]},
    {"item_id": "H1", "title": "Amélie", "year": 2001, "actors": ["Audrey Tautou"]},
    {"item_id": "H2", "title": "Akira", "year": 1988, "actors": []},
]
DIRECTORS = [["David Fincher"], ["Michael Mann"], ["Jean-Pierre Jeunet"], ["Katsuhiro Otomo"]]


def generator(role: str) -> dict:
    backend, model = ("template", "tmpl-v1") if role == "teacher" else ("vllm", "tiny")
    return {"model": model, "adapter": None, "backend": backend, "role": role, "temperature": 0.7, "seed": 1}


def raw(dialogue_id: str, user: str, persona: str, target: str, turns: list[tuple[str, str]], role: str, **kw) -> dict:
    facts = f"Target movie: <id_{target}>\n- Actors: Brad Pitt\nHistory: <id_H1>, <id_H2>"
    problems = kw.get("problems", [])
    return {
        "dialogue_id": dialogue_id,
        "user_id": user,
        "persona": persona,
        "target_item": target,
        "history": [{"item_id": "H1", "rating": 5.0}, {"item_id": "H2", "rating": 2.0}],
        "prompt": [{"role": "system", "content": "policy"}, {"role": "user", "content": facts}],
        "response": "\n".join(f"[{'USR' if r == 'user' else 'AI'}] {c}" for r, c in turns),
        "generator": generator(role),
        "turns": [{"role": r, "content": c} for r, c in turns],
        "valid": not [p for p in problems if not p.startswith("fixed:")],
        "problems": problems,
    }


TEACHER = [
    raw(
        "t1",
        "u1",
        "cold_start_browser",
        "T1",
        [("user", "Something dark tonight?"), ("assistant", "Try <id_T1> with Brad Pitt."), ("user", "Great!")],
        "teacher",
    ),
    raw(
        "t2",
        "u2",
        "fully_expressive",
        "T2",
        [
            ("user", "I loved <id_H1>, what next?"),
            ("assistant", "Then <id_T2>, with Al Pacino, or Akira."),
            ("user", "Café crème and <id_T2> it is — 東京 next time."),
        ],
        "teacher",
    ),
    raw(
        "t3",
        "u3",
        "cold_start_task",
        "T2",
        [("user", "A heist movie?"), ("assistant", "As you liked <id_H1>: <id_ZZ>.")],
        "teacher",
        problems=["too_few_turns", "target_not_recommended", "unknown_item:ZZ", "cold_start_cites_history"],
    ),
]
STUDENT = [
    raw("s1", "u1", "cold_start_browser", "T1", [("user", "Hi"), ("assistant", "Watch <id_T1>!")], "student"),
    raw("s2", "u2", "fully_expressive", "T2", [], "student", problems=["no_turns", "target_not_recommended"]),
]


def write_jsonl(path: Path, rows: list[dict], extra: bytes = b"") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows) + extra)


@pytest.fixture
def hand_run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    items = [{**item, "directors": directors} for item, directors in zip(ITEMS, DIRECTORS, strict=True)]
    pl.DataFrame(items).write_parquet(run / "items.parquet")
    write_jsonl(run / "raw" / "teacher" / "dialogues.jsonl", TEACHER, extra=b"{not json\n")
    write_jsonl(run / "raw" / "student" / "dialogues.jsonl", STUDENT)
    return run


def run_report(run: Path, *extra: str) -> int:
    """The stage as the command runs it (summary printed), returning its exit status."""
    return main(["report", "--run", str(run), *extra])


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_report_on_hand_made_run(hand_run: Path, capsys):
    assert run_report(hand_run) == 0
    out = hand_run / "report"
    data = orjson.loads((out / "report.json").read_bytes())
    assert set(data) == {"run", "sources", "overall", "by_persona", "by_split", "by_generator", "teacher_vs_student"}
    assert data["sources"]["skipped_records"] == 1 and "dialogues.jsonl:4" in data["sources"]["skipped_examples"][0]
    assert data["by_split"] is None  # no build plan

    overall = data["overall"]
    assert (overall["dialogues"], overall["valid"]) == (5, 3)
    assert overall["problems"]["target_not_recommended"] == 0.4
    assert overall["problems"]["unknown_item"] == 0.2
    assert overall["turns"]["histogram"] == {"0": 1, "2": 2, "3": 2}

    teacher = data["by_generator"]["teacher/template/tmpl-v1"]
    assert (teacher["dialogues"], teacher["valid_share"], teacher["target_recommended_share"]) == (3, 0.6667, 0.6667)
    assert teacher["recommendation"]["target_position"]["histogram"] == {"1": 2}
    grounding = teacher["grounding"]
    # tag mentions: T1 | H1, T2, T2 | H1, ZZ = 6; ZZ is neither shown nor in the catalog.
    assert (grounding["tag_mentions"], grounding["unknown_item_rate"], grounding["not_in_catalog_rate"]) == (
        6,
        round(1 / 6, 4),
        round(1 / 6, 4),
    )
    assert grounding["cold_start_dialogues"] == 2 and grounding["cold_start_cites_history_share"] == 0.5
    assert grounding["title_checked_dialogues"] == 3 and grounding["title_instead_of_tag_dialogue_share"] == 0.3333
    # Brad Pitt is in the prompt; Al Pacino is not.
    assert (grounding["people_mentions"], grounding["unsupported_people_rate"]) == (2, 0.5)
    assert teacher["diversity"]["opening"]["distinct_share"] == 1.0
    assert teacher["by_persona"]["cold_start_task"]["valid_share"] == 0.0
    assert teacher["by_persona"]["history_only_explorer"]["dialogues"] == 0
    assert teacher["by_persona"]["history_only_explorer"]["valid_share"] is None

    student = data["by_generator"]["student/vllm/tiny"]
    assert student["diversity"]["self_bleu"] is None  # one non-empty dialogue

    tvs = data["teacher_vs_student"]
    assert tvs["metrics"]["dialogues"] == {"teacher": 3, "student": 2}
    # u1: {T1} vs {T1} → J = 1, both hit; u2: {T2} vs {} → J = 0.
    assert tvs["agreement"] == {"users": 2, "jaccard_mean": 0.5, "both_recommend_target": 0.5}

    markdown = (out / "report.md").read_text()
    headline = report.headline_markdown(data)
    assert headline in markdown
    assert "| teacher/template/tmpl-v1 | 3 | 66.7 | 66.7 | 2.7 |" in headline
    assert "| student/vllm/tiny | 2 | 50.0 | 50.0 | 1.0 |" in headline
    assert "| **all** | 5 | 60.0 |" in headline
    assert "## Per persona" in markdown and "## Teacher vs student" in markdown
    for name in FIGURES:
        assert_png(out / "figures" / name)
        assert f"figures/{name}" in markdown

    printed = capsys.readouterr().out
    assert headline in printed
    assert printed.strip().splitlines()[-1].startswith("report: 5 dialogues (3 valid")


def test_report_is_deterministic(hand_run: Path, tmp_path: Path):
    assert run_report(hand_run) == 0
    first = {p.relative_to(hand_run): p.read_bytes() for p in (hand_run / "report").rglob("*") if p.is_file()}
    assert run_report(hand_run, "--out", str(tmp_path / "again")) == 0
    second = {p.relative_to(tmp_path / "again"): p.read_bytes() for p in (tmp_path / "again").rglob("*") if p.is_file()}
    assert {Path("report") / k: v for k, v in second.items()} == first


def test_report_uses_build_plan_splits_and_problems(hand_run: Path):
    plan = [
        {**TEACHER[0], "split": "train", "valid": False, "problems": ["title_instead_of_tag"]},
        {**TEACHER[1], "split": "test"},
    ]
    write_jsonl(hand_run / "build" / "plan.jsonl", plan)
    data = report.build_report(hand_run)
    assert set(data["by_split"]) == {"test", "train"}
    assert data["by_split"]["train"]["dialogues"] == 1 and data["by_split"]["train"]["valid_share"] == 0.0
    assert data["overall"]["problems"]["title_instead_of_tag"] == 0.2
    assert "## Per split" in report.report_markdown(data)


def test_report_single_role_has_no_side_by_side(hand_run: Path):
    shutil.rmtree(hand_run / "raw" / "student")
    data = report.build_report(hand_run)
    assert data["teacher_vs_student"] is None
    assert "**all**" not in report.headline_markdown(data)


def test_report_without_raw_dialogues_is_a_clean_error(tmp_path: Path):
    with pytest.raises(StageError, match="no raw dialogues"):
        report.build_report(tmp_path)
    write_jsonl(tmp_path / "raw" / "teacher" / "dialogues.jsonl", [], extra=b"garbage\n")
    with pytest.raises(StageError, match="no readable raw dialogues"):
        report.build_report(tmp_path)


def test_report_on_the_sample_run(distilled_run: Path, tmp_path: Path):
    run = tmp_path / "run"
    shutil.copytree(distilled_run, run)
    assert run_report(run) == 0
    data = orjson.loads((run / "report" / "report.json").read_bytes())
    overall = data["overall"]
    assert overall["dialogues"] > 0 and overall["valid_share"] > 0.5
    assert overall["target_recommended_share"] > 0.5
    assert overall["grounding"]["unknown_item_rate"] == 0.0
    assert 0 < overall["diversity"]["distinct_1"] < 1 and overall["diversity"]["self_bleu"] > 0
    assert list(data["by_generator"]) == ["teacher/template/distillrecdial-template-v1"]
    for name in FIGURES:
        assert_png(run / "report" / "figures" / name)
