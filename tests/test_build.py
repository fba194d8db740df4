"""`build`: validated, split configs → a Hub folder that loads back offline with the declared schemas."""

from __future__ import annotations

import ast
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import orjson
import pytest
from datasets import load_dataset
from huggingface_hub import DatasetCard

from distillrecdial_kit.builder import build as build_module
from distillrecdial_kit.builder import config_rows
from distillrecdial_kit.builder import plan as plan_module
from distillrecdial_kit.builder.build import BuildConfig, summary_lines
from distillrecdial_kit.builder.build import run as run_build
from distillrecdial_kit.builder.crslab_export import SPLIT_FILES
from distillrecdial_kit.builder.features import FEATURES
from distillrecdial_kit.builder.rows import REC_CLOSE, REC_OPEN, sft_row
from distillrecdial_kit.builder.splits import DEFAULT_FRACTIONS, SPLITS, assign_splits
from distillrecdial_kit.builder.validate import validate_record
from distillrecdial_kit.distillrecdial import DistillRecDial
from distillrecdial_kit.generation.distill import load_catalog
from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records
from distillrecdial_kit.pipeline.cli import main
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.seeded import largest_remainder


@pytest.fixture(scope="module")
def built(distilled_run, sample_run, tmp_path_factory) -> Path:
    """The distilled sample run (template teacher dialogues, template rationales) built into a Hub folder."""
    run = tmp_path_factory.mktemp("built") / "run"
    shutil.copytree(distilled_run, run, ignore=shutil.ignore_patterns("student", "distill"))
    shutil.copy(sample_run / "interactions.parquet", run / "interactions.parquet")
    assert main(["rationales", "--run", str(run), "-q"]) == 0
    assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template"]) == 0
    return run


def load_all(folder: Path) -> dict:
    return {name: load_dataset(str(folder), name) for name in FEATURES if name != "walks"}  # no walks in this run


def test_every_config_loads_back_with_its_declared_features(built):
    loaded = load_all(built / "hub")
    for name, dataset in loaded.items():
        for split in dataset.values():
            assert split.features == FEATURES[name], name
    assert set(loaded["raw"]) == set(loaded["sft"]) == set(loaded["crslab"]) == set(SPLITS)
    assert set(loaded["items"]) == set(loaded["kg"]) == {"train"}
    for split in SPLITS:
        valid = loaded["raw"][split].filter(lambda row: row["valid"])
        assert valid.num_rows == loaded["sft"][split].num_rows == loaded["crslab"][split].num_rows > 0
        assert (
            set(valid["dialogue_id"])
            == set(loaded["sft"][split]["dialogue_id"])
            == set(loaded["crslab"][split]["conv_id"])
        )
    assert load_dataset(str(built / "hub"))["train"].features == FEATURES["sft"], "sft is the default config"


def test_splits_are_user_disjoint_and_persona_stratified(built):
    raw = load_dataset(str(built / "hub"), "raw")
    users = {split: set(raw[split]["user_id"]) for split in SPLITS}
    assert not users["train"] & users["validation"] and not users["train"] & users["test"]
    assert not users["validation"] & users["test"]
    totals = Counter(p for split in SPLITS for p in raw[split]["persona"])
    for split, fraction in zip(SPLITS, DEFAULT_FRACTIONS, strict=True):
        counts = Counter(raw[split]["persona"])
        for persona, total in totals.items():
            assert abs(counts[persona] - fraction * total) <= 1, (split, persona)


def test_a_second_build_is_byte_identical(built, tmp_path, monkeypatch):
    """The second build validates and links in worker processes and measures its card in a second process (as
    a large corpus does): the same bytes."""
    monkeypatch.setattr(build_module, "PARALLEL_MIN", 0)
    monkeypatch.setattr(config_rows, "LINK_CHUNK", 5)
    monkeypatch.setattr(plan_module, "PARALLEL_VALIDATION_BYTES", 0)
    monkeypatch.setattr(plan_module, "VALIDATE_CHUNK", 7)  # several chunks in flight, back in file order
    args = ["build", "--run", str(built), "--roles", "teacher", "--allow-template", "--out", str(tmp_path / "again")]
    assert main([*args, "--workers", "2"]) == 0
    for path in sorted((built / "hub").rglob("*")):
        if path.is_file():
            assert (tmp_path / "again" / path.relative_to(built / "hub")).read_bytes() == path.read_bytes(), path


def test_the_card_metadata_and_numbers_match_the_data(built):
    card = DatasetCard.load(built / "hub" / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "cc-by-nc-4.0" and data["task_categories"] == ["text-generation"]
    assert data["size_categories"] == ["n<1K"] and data["pretty_name"] == "DistillRecDial"
    assert {c["config_name"] for c in data["configs"]} == set(FEATURES) - {"walks"}, "walks only with walk dialogues"
    loaded = load_all(built / "hub")
    for info in data["dataset_info"]:
        for split in info["splits"]:
            assert split["num_examples"] == loaded[info["config_name"]][split["name"]].num_rows
    sft = loaded["sft"]
    assert f"| dialogues (`sft`, `crslab`: valid only) | {sft['train'].num_rows} | {sft['validation'].num_rows} |" in (
        card.text
    )
    for persona, count in Counter(sft["test"]["persona"]).items():
        assert f"(`{persona}`) |" in card.text and count >= 1


def test_the_builder_runs_on_its_own(built):
    builder = DistillRecDial(config_name="crslab", data_dir=str(built), cache_dir=tempfile.mkdtemp())
    builder.download_and_prepare()
    crslab = builder.as_dataset()
    hub = load_dataset(str(built / "hub"), "crslab")
    assert crslab["test"]["conv_id"] == hub["test"]["conv_id"]
    first = hub["train"][0]["dialog"]
    assert [u["role"] for u in first[:2]] == ["Seeker", "Recommender"]
    assert any(u["movies"] for u in first if u["role"] == "Recommender")


@pytest.fixture(scope="module")
def raw_records(built) -> list[dict]:
    return list(read_records(built / "raw" / "teacher" / MERGED_NAME))


def with_response(record: dict, text: str) -> dict:
    return {**record, "response": text}


def test_validation_flags_titles_catalog_ids_and_cold_start_history(built, raw_records):
    catalog = load_catalog(built)
    cold = next(r for r in raw_records if r["persona"] == "cold_start_browser" and r["history"])
    target, past = cold["target_item"], cold["history"][0]["item_id"]
    title = catalog[target].title
    checks = {
        f'[USR] Hi.\n[AI] Mood?\n[USR] Dark.\n[AI] Try <id_{target}>, or "{title}" again.': "title_instead_of_tag",
        f"[USR] Hi.\n[AI] Like <id_{past}>?\n[USR] Yes.\n[AI] Then <id_{target}>.": "cold_start_cites_history",
        f"[USR] Hi.\n[AI] Try <id_B0NOTREAL1>.\n[USR] No.\n[AI] Then <id_{target}>.": "not_in_catalog:B0NOTREAL1",
    }
    for text, problem in checks.items():
        assert problem in validate_record(with_response(cold, text), catalog).problems
    assert validate_record(cold, catalog).problems == []


def test_sft_rows_resolve_titles_and_mark_recommendations(built, raw_records):
    items = {i["item_id"]: i for i in load_dataset(str(built / "hub"), "items")["train"]}
    record = raw_records[0]
    target = items[record["target_item"]]
    turns = [
        {"role": "user", "content": "Something tense?"},
        {"role": "assistant", "content": f"Try <id_{target['item_id']}>."},
        {"role": "user", "content": f"Is <id_{target['item_id']}> long?"},
        {"role": "assistant", "content": f"<id_{target['item_id']}> runs two hours."},
    ]
    messages = sft_row(record, turns, items)["messages"]
    name = f"{target['title']} ({target['year']})"
    assert messages[2]["content"] == f"Try {REC_OPEN}{name}{REC_CLOSE}."
    assert messages[3]["content"] == f"Is {name} long?" and messages[4]["content"] == f"{name} runs two hours."
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]


def test_split_quotas_are_exact_and_stable():
    assert largest_remainder(10, DEFAULT_FRACTIONS) == [8, 1, 1] and largest_remainder(7, DEFAULT_FRACTIONS) == [
        5,
        1,
        1,
    ]
    users = {f"u{n}": ("p", (True,)) for n in range(50)}
    first = assign_splits(users)
    assert first == assign_splits(dict(reversed(list(users.items()))))
    assert Counter(first.values()) == {"train": 40, "validation": 5, "test": 5}


def test_the_plan_is_in_the_run_folder(built):
    plan = [orjson.loads(x) for x in (built / "build" / "plan.jsonl").read_bytes().splitlines()]
    assert {row["split"] for row in plan} == set(SPLITS)


def test_the_built_folder_exports_to_crslab(built, capsys):
    out = built / "crslab"
    assert main(["export-crslab", "--run", str(built), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {name for _, name in SPLIT_FILES} | {
        "entity2id.json",
        "token2id.json",
        "dbpedia_subkg.json",
        "movie_ids.json",
    } <= names
    entity2id = orjson.loads((out / "entity2id.json").read_bytes())
    movie_ids = orjson.loads((out / "movie_ids.json").read_bytes())
    assert all(isinstance(m, str) and m in entity2id for m in movie_ids)
    test = orjson.loads((out / "test_data.json").read_bytes())
    hub = load_dataset(str(built / "hub"), "crslab")["test"]
    assert len(test) == hub.num_rows


def test_the_card_embeds_the_measured_quality_table_and_figures(built):
    from distillrecdial_kit.dataset_card.card import quality_markdown
    from distillrecdial_kit.dataset_card.provenance import generator_label
    from distillrecdial_kit.dataset_card.quality import build_report

    card = (built / "hub" / "README.md").read_text()
    assert "## Quality, measured" in card
    measured = build_report(built, roles=["teacher"], label=generator_label, equal_size=True)
    assert quality_markdown(measured) in card
    assert "| teacher · template · distillrecdial-template-v1 | 103 |" in card
    for name in ("turns_histogram.png", "persona_bars.png", "distinct_n.png"):
        png = (built / "hub" / "figures" / name).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
        assert f"](figures/{name})" in card


def test_build_prints_no_datasets_progress_bars(built, tmp_path, capfd):
    capfd.readouterr()
    args = ["build", "--run", str(built), "--roles", "teacher", "--allow-template", "--out", str(tmp_path / "quiet")]
    assert main(args) == 0
    captured = capfd.readouterr()
    for stream in (captured.out, captured.err):
        assert "Generating " not in stream and "Creating parquet" not in stream and "it/s]" not in stream
    assert captured.out.strip().startswith("build (teacher): 103 dialogues")


def test_build_runs_from_python_with_a_typed_config(built, tmp_path):
    summary = run_build(BuildConfig(run=built, roles=("teacher",), out=tmp_path / "typed", allow_template=True))
    assert summary["path"] == str(tmp_path / "typed") and summary["roles"] == ["teacher"]
    assert summary["configs"]["raw"] == {
        split: ds.num_rows for split, ds in load_dataset(str(tmp_path / "typed"), "raw").items()
    }
    assert summary_lines(summary)[0].startswith(f"build (teacher): {summary['raw']:,} dialogues")
    for path in sorted((built / "hub").rglob("*")):
        if path.is_file():
            assert (tmp_path / "typed" / path.relative_to(built / "hub")).read_bytes() == path.read_bytes(), path
    with pytest.raises(StageError, match="--allow-template"):
        run_build(BuildConfig(run=built, roles=("teacher",), out=tmp_path / "refused"))
    with pytest.raises(StageError, match="--workers 0"):
        run_build(BuildConfig(run=built, roles=("teacher",), allow_template=True, workers=0))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_the_datasets_script_is_self_contained_and_the_card_sits_below_the_builder():
    root = Path(__file__).resolve().parents[1]
    script = {name.split(".")[0] for name in _imports(root / "distillrecdial.py")}
    assert script <= {"__future__", "collections", "pathlib", "typing", "datasets", "pyarrow"}, script
    for module in sorted((root / "dataset_card").glob("*.py")):
        assert not any(name.startswith("distillrecdial_kit.builder") for name in _imports(module)), module


def test_the_plan_holds_every_raw_row_with_its_split(built):
    lines = (built / "build" / "plan.jsonl").read_bytes().splitlines()
    raw = load_dataset(str(built / "hub"), "raw")
    by_id = {row["dialogue_id"]: (split, row) for split in raw for row in raw[split]}
    assert len(lines) == len(by_id)
    for line in lines:
        row = orjson.loads(line)
        split, published = by_id[row.pop("dialogue_id")]
        assert row.pop("split") == split and list(row) == [k for k in FEATURES["raw"] if k != "dialogue_id"]
        assert row["turns"] == published["turns"] and row["problems"] == published["problems"]


def test_the_card_takes_the_report_stages_quality_data_only_while_it_is_fresh(built, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(built, run)
    assert main(["report", "--run", str(run), "-q"]) == 0
    assert (run / "report" / "card_quality.json").is_file()
    config = BuildConfig(run=run, roles=("teacher",), out=tmp_path / "from-report", allow_template=True)
    assert run_build(config)["quality_from"] == "report"
    assert (tmp_path / "from-report" / "README.md").read_bytes() == (built / "hub" / "README.md").read_bytes()
    for name in ("turns_histogram.png", "distinct_n.png"):
        figure = Path("figures") / name
        assert (tmp_path / "from-report" / figure).read_bytes() == (built / "hub" / figure).read_bytes()

    raw = run / "raw" / "teacher" / MERGED_NAME
    raw.write_bytes(b"".join(raw.read_bytes().splitlines(keepends=True)[:-1]))  # one dialogue fewer: stale
    config = BuildConfig(run=run, roles=("teacher",), out=tmp_path / "measured", allow_template=True)
    assert run_build(config)["quality_from"] == "measured"
