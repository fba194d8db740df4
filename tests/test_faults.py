"""Faults lose nothing: one test per defect found under fault injection (issue 17).

Bad lines are skipped, counted and named (file:line:reason) by every reader;
only a torn *last* line of a shard is repaired; `prepare` survives any record;
one process per run/role/shard; the parse cache follows the content; killed
stages leave nothing behind for long; the manifest names no absolute path.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import orjson
import polars as pl
import pytest

from benchmarks.sample_run import SAMPLE, sample_config
from distillrecdial_kit.builder.plan import PLAN_FILE
from distillrecdial_kit.generation.prepare import INTERACTIONS_FILE, PROBLEMS_FILE, PROMPTS_FILE
from distillrecdial_kit.generation.prepare import run as prepare
from distillrecdial_kit.generation.raw_store import MERGED_NAME, merge_shards, shard_name
from distillrecdial_kit.pipeline.cli import main
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import GENERATOR_FILE
from distillrecdial_kit.pipeline.manifest import MANIFEST_NAME, read_manifest, sha256_file
from tests.conftest import meta, review, tmdb

ROOT = Path(__file__).resolve().parents[1]
ITEMS = ["B0ITEM0001", "B0ITEM0002", "B0ITEM0003", "B0ITEM0004"]
USERS = ["AUSER1", "AUSER2", "AUSER3"]
SHARD = shard_name(0, 1)


def copy_run(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "run"))


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def replace_line(path: Path, number: int, text: bytes) -> bytes:
    """Overwrite 1-based line ``number`` of ``path``; return what was there."""
    lines = lines_of(path)
    before = lines[number - 1]
    lines[number - 1] = text + b"\n"
    path.write_bytes(b"".join(lines))
    return before


def problems_of(run: Path) -> list[dict]:
    return [orjson.loads(line) for line in (run / PROBLEMS_FILE).read_bytes().splitlines()]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "distillrecdial_kit.pipeline.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


# -- 1. distill and build read past a bad line -------------------------------------------------------------


def test_distill_skips_a_bad_middle_line_counts_and_names_it(teacher_run, tmp_path, capsys):
    run = copy_run(teacher_run, tmp_path)
    merged = run / "raw" / "teacher" / MERGED_NAME
    total = len(lines_of(merged))
    replace_line(merged, 50, b"\x00garbage{")
    assert main(["distill", "--run", str(run)]) == 0
    out = capsys.readouterr().out
    entry = read_manifest(run)["stages"]["distill"]
    assert entry["read"] == total - 1
    assert entry["train"] + entry["validation"] == total - 1
    assert entry["skipped_lines"]["counts"] == {"malformed_json": 1}
    assert f"raw/teacher/{MERGED_NAME}:50: malformed_json" in entry["skipped_lines"]["examples"]["malformed_json"][0]
    assert f"raw/teacher/{MERGED_NAME}:50: malformed_json" in out


def test_distill_and_build_skip_records_without_an_id_or_with_a_non_string_response(teacher_run, tmp_path, capsys):
    run = copy_run(teacher_run, tmp_path)
    merged = run / "raw" / "teacher" / MERGED_NAME
    total = len(lines_of(merged))
    record = orjson.loads(lines_of(merged)[4])
    del record["dialogue_id"]
    replace_line(merged, 5, orjson.dumps(record))
    record = orjson.loads(lines_of(merged)[9])
    record["response"] = {"text": "not a string"}
    replace_line(merged, 10, orjson.dumps(record))

    assert main(["distill", "--run", str(run)]) == 0
    entry = read_manifest(run)["stages"]["distill"]
    assert entry["read"] == total - 2
    assert entry["skipped_lines"]["counts"] == {"bad_type": 1, "missing_field": 1}
    assert "dialogues.jsonl:5: missing_field (dialogue_id)" in capsys.readouterr().out

    assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template"]) == 0
    out = capsys.readouterr().out
    build = read_manifest(run)["stages"]["build"]
    assert build["raw"] == total - 2
    assert build["skipped_lines"]["counts"] == {"bad_type": 1, "missing_field": 1}
    assert "dialogues.jsonl:10: bad_type (response)" in out
    assert len(lines_of(run / PLAN_FILE)) == total - 2


def test_build_skips_a_bad_middle_line_and_keeps_every_other_dialogue(teacher_run, tmp_path, capsys):
    run = copy_run(teacher_run, tmp_path)
    merged = run / "raw" / "teacher" / MERGED_NAME
    total = len(lines_of(merged))
    replace_line(merged, 50, b'{"dialogue_id": "torn')
    assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template"]) == 0
    assert f"raw/teacher/{MERGED_NAME}:50: malformed_json" in capsys.readouterr().out
    entry = read_manifest(run)["stages"]["build"]
    assert entry["raw"] == total - 1
    assert entry["skipped_lines"]["counts"] == {"malformed_json": 1}


# -- 2. a bad line in the middle of a shard is not a torn tail -----------------------------------------------


def test_generate_rerun_keeps_everything_after_a_bad_middle_line(teacher_run, tmp_path):
    run = copy_run(teacher_run, tmp_path)
    shard = run / "raw" / "teacher" / SHARD
    merged_before = (run / "raw" / "teacher" / MERGED_NAME).read_bytes()
    original = lines_of(shard)
    replace_line(shard, 10, b"{not json at all")

    result = cli("generate", "--run", str(run), "--role", "teacher")
    assert result.returncode == 0, result.stderr
    after = lines_of(shard)
    # Lines 1-9 and 11-N untouched; only line 10's dialogue was made again, appended at the end.
    assert after[:9] == original[:9] and after[10 : len(original)] == original[10:]
    assert after[len(original) :] == [original[9]]
    assert f"{len(original) - 1:,} already done" in result.stderr
    assert f"raw/teacher/{SHARD}:10: malformed_json" in result.stderr
    assert (run / "raw" / "teacher" / MERGED_NAME).read_bytes() == merged_before


def test_merge_reads_past_a_bad_middle_line(teacher_run, tmp_path):
    run = copy_run(teacher_run, tmp_path)
    shard = run / "raw" / "teacher" / SHARD
    total = len(lines_of(shard))
    replace_line(shard, 10, b"[1, 2, 3]")
    result = merge_shards(run / "raw" / "teacher")
    assert result.records == total - 1
    assert [str(p) for p in result.skipped] == [f"raw/teacher/{SHARD}:10: not_an_object"]


# -- 3. one bad record never kills prepare ---------------------------------------------------------------------


def clean_reviews() -> list:
    return [
        review(u, i, timestamp=1_600_000_000_000 + 1000 * n)
        for n, (u, i) in enumerate((u, i) for u in USERS for i in ITEMS)
    ]


def clean_metas() -> list:
    return [meta(i, f"Movie {n}") for n, i in enumerate(ITEMS)]


def clean_tmdbs() -> list:
    return [tmdb(i, f"Movie {n}") for n, i in enumerate(ITEMS)]


def test_out_of_range_numbers_are_counted_problems(tiny_sources):
    reviews = [
        *clean_reviews(),
        review("AUSER1", ITEMS[0], timestamp=10**19),  # 13
        review("AUSER2", ITEMS[1], timestamp=1e30),  # 14
    ]
    metas = clean_metas()
    metas[2]["rating_number"] = 1e30  # line 3
    metas[3]["average_rating"] = 1e300  # line 4
    config = tiny_sources(reviews, metas, clean_tmdbs(), k=3)
    entry = prepare(config)
    found = {(p["file"], p["line"], p["reason"], p["field"]) for p in problems_of(config.out)}
    assert ("Movies_and_TV.jsonl", 13, "bad_value", "timestamp") in found
    assert ("Movies_and_TV.jsonl", 14, "bad_value", "timestamp") in found
    assert ("meta_Movies_and_TV.jsonl", 3, "bad_value", "rating_number") in found
    assert ("meta_Movies_and_TV.jsonl", 4, "bad_value", "average_rating") in found
    assert entry["counts"]["items"] == 4, "a bad meta number costs the number, not the item"


def test_a_pretty_printed_tmdb_array_with_one_bad_record_keeps_the_good_ones(tiny_sources):
    config = tiny_sources(clean_reviews(), clean_metas(), clean_tmdbs(), k=3)
    path = Path(config.tmdb)
    records = [orjson.dumps(t, option=orjson.OPT_INDENT_2).decode() for t in clean_tmdbs()]
    records.insert(2, '{\n  "asin": "B0BROKEN01",\n  "title": "Broken,\n  "id": 5\n}')
    path.write_text("[\n" + ",\n".join(records) + "\n]\n")
    broken_line = 1 + sum(r.count("\n") + 1 for r in records[:2]) + 1
    entry = prepare(config)
    assert entry["counts"]["items"] == 4
    found = {(p["file"], p["line"], p["reason"]) for p in problems_of(config.out)}
    assert ("tmdb_movies.json", broken_line, "malformed_json") in found


def test_gzip_inputs_are_read_like_plain_ones(tiny_sources, tmp_path):
    config = tiny_sources(clean_reviews(), clean_metas(), clean_tmdbs(), k=3)
    plain = prepare(config)
    zipped = {}
    for kind in ("reviews", "meta", "tmdb"):
        source = Path(getattr(config, kind))
        target = source.with_name(source.name + ".gz")
        target.write_bytes(gzip.compress(source.read_bytes(), mtime=0))
        zipped[kind] = str(target)
    config_gz = replace(config, **zipped, out=tmp_path / "run-gz")
    entry = prepare(config_gz)
    assert entry["counts"] == plain["counts"]
    assert (config_gz.out / PROMPTS_FILE).read_bytes() == (config.out / PROMPTS_FILE).read_bytes()
    assert entry["inputs"]["reviews"]["name"] == "Movies_and_TV.jsonl.gz"
    assert entry["inputs"]["reviews"]["sha256"] == sha256_file(Path(zipped["reviews"]))


def test_other_compressions_are_refused_by_name(tiny_sources):
    config = tiny_sources(clean_reviews(), clean_metas(), clean_tmdbs(), k=3)
    source = Path(config.reviews)
    source.write_bytes(b"BZh91AY&SY" + b"\x00" * 64)
    with pytest.raises(StageError, match=r"Movies_and_TV\.jsonl.*bzip2"):
        prepare(config)


@pytest.mark.parametrize("kind", ["reviews", "meta", "tmdb"])
def test_an_empty_input_is_named_and_the_problems_file_is_written(tiny_sources, kind):
    config = tiny_sources(clean_reviews(), clean_metas(), clean_tmdbs(), k=3)
    source = Path(getattr(config, kind))
    source.write_bytes(b"")
    with pytest.raises(StageError, match=rf"{kind} file {source.name} is empty") as err:
        prepare(config)
    assert "--k" not in str(err.value)


def test_an_input_without_one_usable_record_is_named_and_its_problems_written(tiny_sources):
    config = tiny_sources(["{bad", "[1]", "{}"], clean_metas(), clean_tmdbs(), k=3)
    with pytest.raises(StageError, match=r"reviews file Movies_and_TV\.jsonl has no usable record") as err:
        prepare(config)
    assert "--k" not in str(err.value)
    assert {p["line"] for p in problems_of(config.out)} == {1, 2, 3}


def test_timestamps_in_seconds_are_detected_converted_and_counted(tiny_sources, tmp_path):
    reviews = clean_reviews()
    ms = prepare(replace(tiny_sources(reviews, clean_metas(), clean_tmdbs(), k=3), out=tmp_path / "ms"))
    # The same reviews with the latest review of each user written in seconds, as some dumps do.
    mixed = [dict(r) for r in reviews]
    for r in mixed[3::4]:
        r["timestamp"] = r["timestamp"] // 1000
    config = replace(tiny_sources(mixed, clean_metas(), clean_tmdbs(), k=3), out=tmp_path / "s")
    entry = prepare(config)
    assert entry["problems"]["counts"]["timestamp_in_seconds"] == 3
    targets = {
        run: pl.read_parquet(run / INTERACTIONS_FILE).filter(pl.col("role") == "target").sort("user_id")
        for run in (tmp_path / "ms", tmp_path / "s")
    }
    assert targets[tmp_path / "s"]["item_id"].to_list() == targets[tmp_path / "ms"]["item_id"].to_list()
    assert ms["counts"] == entry["counts"]


# -- 4. one process per run/role/shard -------------------------------------------------------------------------


def test_generate_on_a_shard_held_by_another_process_is_refused_naming_its_pid(sample_run, tmp_path):
    from distillrecdial_kit.pipeline.lock import generate_lock

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(sample_run / PROMPTS_FILE, run / PROMPTS_FILE)
    with generate_lock(run, "teacher", 0, 1):
        result = cli("generate", "--run", str(run), "--role", "teacher")
    assert result.returncode != 0
    assert f"pid {os.getpid()}" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (run / "raw" / "teacher" / SHARD).exists()
    assert not (run / "raw" / "teacher" / GENERATOR_FILE).exists()
    # The lock dies with its holder: the same command now runs.
    assert cli("generate", "--run", str(run), "--role", "teacher").returncode == 0


def test_a_second_prepare_into_one_folder_is_refused_not_crashed(tmp_path):
    from distillrecdial_kit.pipeline.lock import run_lock

    out = tmp_path / "run"
    out.mkdir()
    with run_lock(out, "prepare"):
        result = cli(
            "prepare",
            "--reviews",
            str(SAMPLE / "Movies_and_TV.jsonl"),
            "--meta",
            str(SAMPLE / "meta_Movies_and_TV.jsonl"),
            "--tmdb",
            str(SAMPLE / "tmdb_movies.json"),
            "--out",
            str(out),
        )
    assert result.returncode != 0 and f"pid {os.getpid()}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / PROMPTS_FILE).exists()


def test_a_second_build_of_one_run_is_refused(teacher_run, tmp_path, capsys):
    from distillrecdial_kit.pipeline.lock import LOCKED_EXIT, run_lock

    run = copy_run(teacher_run, tmp_path)
    with run_lock(run, "build"):
        assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template"]) == LOCKED_EXIT
    assert f"pid {os.getpid()}" in capsys.readouterr().err
    assert not (run / "hub").exists() and not (run / PLAN_FILE).exists()


# -- 5. the parse cache follows the content -------------------------------------------------------------------


def test_a_same_size_edit_with_the_mtime_kept_is_parsed_again(tmp_path, capfd):
    src = tmp_path / "src"
    shutil.copytree(SAMPLE, src)
    reviews = src / "Movies_and_TV.jsonl"
    config = replace(sample_config(tmp_path / "run"), reviews=str(reviews))
    first = prepare(config)
    stat = reviews.stat()
    data = reviews.read_bytes()
    assert b'"rating":5.0' in data
    edited = data.replace(b'"rating":5.0', b'"rating":1.0', 400)
    reviews.write_bytes(edited)
    os.utime(reviews, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert reviews.stat().st_size == stat.st_size and reviews.stat().st_mtime_ns == stat.st_mtime_ns
    capfd.readouterr()
    entry = prepare(config)
    assert "(cached)" not in capfd.readouterr().err.split("prepare: reviews: ", 1)[1].splitlines()[0]
    assert entry["inputs"]["reviews"]["sha256"] == sha256_file(reviews) != first["inputs"]["reviews"]["sha256"]
    assert entry["outputs"] != first["outputs"]
    reparsed = prepare(replace(config, out=tmp_path / "fresh"))
    assert reparsed["outputs"] == entry["outputs"]


# -- lesser: leftovers, the manifest, prompts.jsonl ------------------------------------------------------------


def test_a_killed_builds_leftovers_are_removed_and_no_cache_is_left_outside_the_run(teacher_run, tmp_path, monkeypatch):
    import datasets.config

    run = copy_run(teacher_run, tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", elsewhere / "hf-datasets")
    # What killed builds leave: staging folders, the half-swapped old folder, temp files.
    (run / ".hub.k1ll3d").mkdir()
    (run / ".hub.k1ll3d" / "README.md").write_text("half")
    (run / ".hub.old").mkdir()
    (run / "build").mkdir()
    (run / "build" / ".plan.jsonl.99999999.abcdefgh.tmp").write_text("half")
    (run / ".manifest.json.99999999.abcdefgh.tmp").write_text("half")

    assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template"]) == 0
    assert not list(run.glob(".hub.*"))
    assert not list(run.rglob("*.tmp"))
    assert list(elsewhere.iterdir()) == [], "nothing may be left outside the run folder"
    assert not (run / ".cache" / "build").exists(), "the datasets cache is removed after the build"


def test_the_manifest_holds_no_absolute_path_nor_the_run_folders_name(teacher_run, tmp_path):
    run = copy_run(teacher_run, tmp_path)
    run = run.rename(run.with_name("zz-unique-run-name"))
    assert main(["distill", "--run", str(run)]) == 0
    assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template"]) == 0
    text = (run / MANIFEST_NAME).read_text()
    assert "zz-unique-run-name" not in text and str(tmp_path) not in text
    assert read_manifest(run)["stages"]["build"]["folder"] == "hub"


def test_generate_keeps_cumulative_counts_across_resumes(sample_run, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(sample_run / PROMPTS_FILE, run / PROMPTS_FILE)
    total = len(lines_of(run / PROMPTS_FILE))
    key = "generate:teacher:shard-0-of-1"
    assert main(["generate", "--run", str(run), "--role", "teacher", "--limit", "40"]) == 0
    first = read_manifest(run)["stages"][key]
    assert main(["generate", "--run", str(run), "--role", "teacher"]) == 0
    second = read_manifest(run)["stages"][key]
    assert main(["generate", "--run", str(run), "--role", "teacher"]) == 0
    third = read_manifest(run)["stages"][key]
    assert first["totals"]["records"] == 40
    assert second["totals"]["records"] == third["totals"]["records"] == total
    assert third["totals"]["valid"] == second["totals"]["valid"] >= first["totals"]["valid"] > 0
    assert third["totals"]["problems"] == second["totals"]["problems"]


def test_a_bad_prompts_line_is_named_by_its_real_line_number(sample_run, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(sample_run / PROMPTS_FILE, run / PROMPTS_FILE)
    total = len(lines_of(run / PROMPTS_FILE))
    replace_line(run / PROMPTS_FILE, 40, b'{"prompt_id": ')
    result = cli("generate", "--run", str(run), "--role", "teacher")
    assert result.returncode == 0, result.stderr
    assert f"{PROMPTS_FILE}:40: malformed_json" in result.stderr
    assert "line 1 column" not in result.stderr
    assert len(lines_of(run / "raw" / "teacher" / MERGED_NAME)) == total - 1
    entry = read_manifest(run)["stages"]["generate:teacher:shard-0-of-1"]
    assert entry["skipped_lines"]["counts"] == {"malformed_json": 1}
