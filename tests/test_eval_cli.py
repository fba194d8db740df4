"""`distillrecdial evaluate` end to end on the embedded sample's built run (template teacher dialogues)."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest
import test_build

from distillrecdial_kit.dataset_card.eval_tables import results_markdown
from distillrecdial_kit.evaluation.metrics import RANK_METRICS
from distillrecdial_kit.pipeline.cli import main

built = test_build.built  # the sample built into RUN/hub, shared with the build tests (module-scoped)


@pytest.fixture(scope="module")
def evaluated(built, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("evaluated") / "run"
    shutil.copytree(built, run)
    assert (
        main(["evaluate", "--run", str(run), "--tasks", "recommend", "respond", "collaborate", "--bootstrap", "200"])
        == 0
    )
    return run


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_results_have_designs_shape(evaluated):
    results = json.loads((evaluated / "eval" / "results.json").read_text())
    personas = {row["persona"] for row in __import__("polars").read_parquet(
        next((evaluated / "hub" / "data" / "crslab").glob("test-*.parquet"))).to_dicts()}  # fmt: skip
    assert set(results["recommend"]) == {"popularity", "item_knn", "bm25", "llm"}
    for groups in results["recommend"].values():
        assert set(groups) == {"all", *personas}
        for stats in groups.values():
            for metric in RANK_METRICS:
                lo, hi = stats[f"{metric}_ci"]
                assert 0.0 <= lo <= stats[metric] <= hi <= 1.0
    n = results["n"]["recommend"]
    assert n["all"] == sum(v for k, v in n.items() if k != "all") > 0
    assert results["provenance"]["split"] == "test" and results["provenance"]["seed"] == 42
    assert results["provenance"]["methods"]["llm"]["backend"] == "template"
    assert results["provenance"]["inputs"], "input hashes are recorded"
    assert set(results["leakage"]) == {"seeker_names_target", "bm25"}
    assert any(k.startswith("crs_to_llm[") for k in results["collaborate"])
    assert any(k.startswith("llm_to_crs[") for k in results["collaborate"])
    assert results["respond"]["reference"]["all"]["bleu-4"] == 1.0 and results["n"]["respond"]["all"] > 0


def test_markdown_figure_and_manifest(evaluated):
    md = (evaluated / "eval" / "eval.md").read_text()
    assert "| bm25 |" in md and "Leakage" in md and "figures/recall.png" in md
    width, height = png_size(evaluated / "eval" / "figures" / "recall.png")
    assert width >= 800 and height > 0
    manifest = json.loads((evaluated / "manifest.json").read_text())
    entry = manifest["stages"]["evaluate"]
    assert entry["split"] == "test" and entry["examples"] > 0 and "results.json" in entry["outputs"]
    tables = results_markdown(json.loads((evaluated / "eval" / "results.json").read_text()))
    assert tables.count("| popularity |") == 1 and "| persona | n | any |" in tables


def test_rerun_with_the_same_seed_is_byte_identical(evaluated, tmp_path):
    args = ["evaluate", "--run", str(evaluated), "--tasks", "recommend", "respond", "collaborate", "--bootstrap", "200"]
    assert main([*args, "--out", str(tmp_path / "again")]) == 0
    first = (evaluated / "eval" / "results.json").read_bytes()
    assert (tmp_path / "again" / "results.json").read_bytes() == first
    assert main([*args, "--out", str(tmp_path / "seed7"), "--seed", "7"]) == 0
    assert (tmp_path / "seed7" / "results.json").read_bytes() != first


def test_dataset_folder_gives_the_same_numbers(evaluated, tmp_path):
    out = tmp_path / "folder"
    assert main(["evaluate", "--dataset", str(evaluated / "hub"), "--out", str(out), "--bootstrap", "200"]) == 0
    a = json.loads((evaluated / "eval" / "results.json").read_text())["recommend"]["bm25"]
    b = json.loads((out / "results.json").read_text())["recommend"]["bm25"]
    assert a == b


def test_summary_line_help_and_one_line_errors(evaluated, tmp_path, capsys):
    assert main(["evaluate", "--run", str(evaluated), "--out", str(tmp_path / "o"), "--methods", "bm25"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("evaluate: ") and "recommendations in" in line and "bm25" in line
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--help"])
    assert exit_info.value.code == 0
    assert "--tasks" in capsys.readouterr().out
    assert main(["evaluate", "--run", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("distillrecdial evaluate: error:") and "no built dataset" in err and "\n" not in err
    assert main(["evaluate", "--run", str(evaluated), "--split", "dev", "--out", str(tmp_path / "x")]) == 2
    assert "no split 'dev'" in capsys.readouterr().err


def test_hub_repo_path_reads_the_same_configs(evaluated):
    """``--dataset REPO`` goes through ``datasets.load_dataset``; a local folder stands in for the Hub repo here."""
    from distillrecdial_kit.evaluation.data import _read_folder, _read_hub

    via_datasets = _read_hub(str(evaluated / "hub"))
    via_parquet, _ = _read_folder(evaluated / "hub")
    for name in ("crslab", "raw", "items"):
        assert set(via_datasets[name]) == set(via_parquet[name])
        for split, frame in via_parquet[name].items():
            assert via_datasets[name][split].height == frame.height
            assert via_datasets[name][split].columns == frame.columns


def test_build_shows_the_benchmark_of_this_build_and_never_of_another(evaluated, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(evaluated, run)
    assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template", "-q"]) == 0
    card = (run / "hub" / "README.md").read_text()
    results = json.loads((run / "eval" / "results.json").read_text())
    assert "## Benchmark" in card and results_markdown(results) in card
    bm25 = results["recommend"]["bm25"]["all"]["recall@10"]
    assert "| bm25 | " in card and f"{bm25:.3f}" in card

    # Results whose inputs are not this build's files are not shown.
    inputs = results["provenance"]["inputs"]
    name = next(k for k in inputs if k.startswith("crslab/"))
    inputs[name] = "0" * 64
    (run / "eval" / "results.json").write_text(json.dumps(results))
    assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template", "-q"]) == 0
    card = (run / "hub" / "README.md").read_text()
    assert "## Benchmark" in card and "on another build of the data" in card and "| bm25 |" not in card


def test_rationale_profiles_are_measured_beside_plain_bm25(evaluated, tmp_path):
    out = tmp_path / "profiles"
    args = ["evaluate", "--run", str(evaluated), "--out", str(out), "--methods", "bm25", "--bootstrap", "50"]
    assert main([*args, "--item-profile", "facts+rationales", "-q"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert list(results["recommend"]) == ["bm25", "bm25_rationales"]
    profiles = results["provenance"]["methods"]
    assert "item_rationales" in profiles["bm25_rationales"]["item_profile"]
    assert "item_rationales" not in profiles["bm25"]["item_profile"]
    plain = json.loads((evaluated / "eval" / "results.json").read_text())["recommend"]["bm25"]
    assert results["recommend"]["bm25"]["all"]["mrr"] == plain["all"]["mrr"]


def test_rationale_profiles_without_rationales_are_one_line(evaluated, tmp_path, capsys):
    folder = tmp_path / "hub"
    shutil.copytree(evaluated / "hub", folder)
    items = next((folder / "data" / "items").glob("*.parquet"))
    import polars as pl

    pl.read_parquet(items).drop("item_rationales").write_parquet(items)
    args = ["evaluate", "--dataset", str(folder), "--out", str(tmp_path / "e"), "--methods", "bm25_rationales"]
    assert main(args) == 2
    assert "run `distillrecdial rationales` and `build` first" in capsys.readouterr().err


def test_the_template_llm_stand_in_is_labelled_in_every_table(evaluated):
    tables = results_markdown(json.loads((evaluated / "eval" / "results.json").read_text()))
    assert "| llm (rule-based stand-in, not an LLM) |" in tables and "| llm |" not in tables
