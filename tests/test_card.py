"""The dataset card `build` writes: parsed with `huggingface_hub.DatasetCard`, every section there, every number
the card shows equal to what the published parquet files hold, and no path from the building machine.

Two runs of the embedded sample are built: the template teacher alone (published with ``--allow-template``), and
the template teacher plus a "student" whose records copy the teacher's dialogues under a local model path and
adapter path (some broken on purpose, so validity differs between generators). Nothing is faked: the real
`build` stage runs on real raw records.
"""

from __future__ import annotations

import re
import shutil
import struct
from collections import Counter
from pathlib import Path

import orjson
import pytest
from datasets import load_dataset
from huggingface_hub import DatasetCard

from distillrecdial_kit.builder.features import FEATURES, OPTIONAL_CONFIGS
from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records
from distillrecdial_kit.generation.records import dialogue_id
from distillrecdial_kit.pipeline.cli import main

LOCAL_MODEL = "/tmp/some-builder/runs/demo/tiny-llama"
LOCAL_ADAPTER = "runs/demo/student"
SECTIONS = [
    "At a glance",
    "Example dialogue",
    "Load it",
    "Fields",
    "Personas",
    "Dialogue statistics (valid dialogues)",
    "Quality, measured",
    "Provenance",
    "Uses",
    "Limitations and biases",
    "Privacy",
    "How it was made",
    "License",
    "Citation",
]


def student_records(teacher_run: Path, broken_every: int) -> list[dict]:
    """The teacher's records re-labelled as a local student's; every ``broken_every``-th one made invalid."""
    generator = {
        "model": LOCAL_MODEL,
        "revision": None,
        "adapter": LOCAL_ADAPTER,
        "backend": "vllm",
        "role": "student",
        "temperature": 0.7,
        "top_p": 0.95,
        "max_new_tokens": 128,
        "seed": 42,
    }
    out = []
    for number, record in enumerate(read_records(teacher_run / "raw" / "teacher" / MERGED_NAME)):
        record = {**record, "generator": dict(generator)}
        record["dialogue_id"] = dialogue_id(record["user_id"], record["persona"], generator)
        if number % broken_every == 0:  # what a broken generation looks like in the raw store
            record.update(response="[USR] hello", turns=[{"role": "user", "content": "hello"}], valid=False)
            record["problems"] = ["too_few_turns", "no_assistant_turn", "target_not_recommended"]
        out.append(record)
    return out


def make_run(distilled_run: Path, path: Path, broken_every: int | None) -> Path:
    run = path / "run"
    shutil.copytree(distilled_run, run, ignore=shutil.ignore_patterns("student", "distill", "hub", "build"))
    if broken_every is not None:
        records = student_records(run, broken_every)
        target = run / "raw" / "student" / MERGED_NAME
        target.parent.mkdir(parents=True)
        target.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return run


@pytest.fixture(scope="module")
def template_run(distilled_run, tmp_path_factory) -> Path:
    run = make_run(distilled_run, tmp_path_factory.mktemp("template-card"), None)
    assert main(["build", "--run", str(run), "--roles", "teacher", "--allow-template"]) == 0
    return run


@pytest.fixture(scope="module")
def mixed_run(distilled_run, tmp_path_factory) -> Path:
    run = make_run(distilled_run, tmp_path_factory.mktemp("mixed-card"), broken_every=3)
    assert main(["build", "--run", str(run), "--roles", "teacher", "student"]) == 0
    return run


# ------------------------------------------------------------------------------------------------ helpers


def section(text: str, title: str) -> str:
    """The markdown under ``## title`` up to the next ``## ``."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert match, f"no section {title!r}"
    return match.group(1)


def tables(text: str) -> list[list[list[str]]]:
    """Every markdown table in ``text``: rows (header first, separator dropped) of stripped cells."""
    found, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if not set(line.strip()) <= set("|-: "):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def as_dicts(table: list[list[str]]) -> list[dict[str, str]]:
    header, *rows = table
    return [dict(zip(header, row, strict=True)) for row in rows]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", data[16:24])


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}"


def load_card(run: Path) -> DatasetCard:
    return DatasetCard.load(run / "hub" / "README.md")


# -------------------------------------------------------------------------------------------------- tests


def test_template_only_data_is_refused_without_the_flag(distilled_run, tmp_path, capsys):
    run = make_run(distilled_run, tmp_path, None)
    assert main(["build", "--run", str(run), "--roles", "teacher"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rule-based template backend" in err[0] and "--allow-template" in err[0]
    assert not (run / "hub").exists() and not (run / "build").exists()


def test_a_student_with_no_valid_dialogue_does_not_hide_template_data(distilled_run, tmp_path, capsys):
    """The demo's case: the tiny student's rows are all invalid, so every published dialogue is the template's."""
    run = make_run(distilled_run, tmp_path, broken_every=1)
    assert main(["build", "--run", str(run), "--roles", "teacher", "student"]) == 2
    assert "--allow-template" in capsys.readouterr().err
    assert main(["build", "--run", str(run), "--roles", "teacher", "student", "--allow-template"]) == 0
    first = load_card(run).text.strip().split("\n\n")[1]
    assert "rule-based" in first and "no language model wrote them" in first


def test_the_template_card_says_so_in_its_first_paragraph(template_run):
    card = load_card(template_run)
    first = card.text.strip().split("\n\n")[1]
    assert "These rows are rule-based" in first
    assert "by an open LLM" not in card.text


def test_metadata_goes_through_dataset_card_data(mixed_run):
    data = load_card(mixed_run).data.to_dict()
    assert data["annotations_creators"] == ["machine-generated"]
    assert data["language_creators"] == ["machine-generated"]
    assert data["source_datasets"] == ["McAuley-Lab/Amazon-Reviews-2023"]
    assert data["license"] == "cc-by-nc-4.0" and data["language"] == ["en"]
    assert data["task_categories"] == ["text-generation"] and data["size_categories"] == ["n<1K"]
    published = set(FEATURES) - OPTIONAL_CONFIGS  # this run has no rationales
    assert {c["config_name"] for c in data["configs"]} == published
    assert [c["config_name"] for c in data["configs"] if c.get("default")] == ["sft"]
    loaded = {name: load_dataset(str(mixed_run / "hub"), name) for name in published}
    for info in data["dataset_info"]:
        names = [f["name"] for f in info["features"]]
        assert names == list(FEATURES[info["config_name"]])
        for split in info["splits"]:
            assert split["num_examples"] == loaded[info["config_name"]][split["name"]].num_rows


def test_every_section_is_there(mixed_run, template_run):
    for run in (mixed_run, template_run):
        text = load_card(run).text
        for title in SECTIONS:
            assert section(text, title).strip(), title


def test_no_local_path_reaches_the_card_or_its_figures(mixed_run):
    text = (mixed_run / "hub" / "README.md").read_text()
    for fragment in (LOCAL_MODEL, LOCAL_ADAPTER, "/tmp/", "tiny-llama", "runs/demo", str(mixed_run)):
        assert fragment not in text, fragment
    assert "local model" in text and "local adapter" in text


def test_the_numbers_match_the_published_data(mixed_run):
    text = load_card(mixed_run).text
    hub = mixed_run / "hub"
    raw = load_dataset(str(hub), "raw")
    sft = load_dataset(str(hub), "sft")
    rows = [r for split in raw.values() for r in split]
    valid = [r for r in rows if r["valid"]]

    glance = as_dicts(tables(section(text, "At a glance"))[0])
    assert [glance[0][s] for s in ("train", "validation", "test", "total")] == [
        str(sft["train"].num_rows),
        str(sft["validation"].num_rows),
        str(sft["test"].num_rows),
        str(len(valid)),
    ]
    assert glance[1]["total"] == str(len(rows))
    assert f"{pct(len(valid), len(rows))} % of generated dialogues passed validation" in text

    personas = {r["persona"]: r for r in as_dicts(tables(section(text, "Personas"))[0])}
    for split, dataset in sft.items():
        counts = Counter(dataset["persona"])
        for cells in personas.values():
            pid = re.search(r"\(`(\w+)`\)", cells["persona"]).group(1)
            assert cells[split] == str(counts[pid]), (pid, split)

    turns = [len(r["turns"]) for r in valid]
    stats = as_dicts(tables(section(text, "Dialogue statistics (valid dialogues)"))[0])[0]
    assert float(stats["min"]) == min(turns) and float(stats["max"]) == max(turns)
    assert abs(float(stats["mean"]) - sum(turns) / len(turns)) <= 0.05

    problems = as_dicts(tables(section(text, "Dialogue statistics (valid dialogues)"))[1])
    invalid = Counter(p.split(":")[0] for r in rows for p in r["problems"] if not p.startswith("fixed:"))
    assert {p["problem"].strip("`"): int(p["dialogues"]) for p in problems} == dict(invalid)

    by_role = Counter(r["generator"]["role"] for r in rows)
    valid_by_role = Counter(r["generator"]["role"] for r in valid)
    provenance = as_dicts(tables(section(text, "Provenance"))[0])
    assert sorted(p["role"] for p in provenance) == ["student", "teacher"]
    for p in provenance:
        role = p["role"]
        assert p["dialogues (`raw`)"] == str(by_role[role])
        assert p["share of `raw` %"] == pct(by_role[role], len(rows))
        assert p["valid dialogues"] == str(valid_by_role[role])
        assert p["share of valid %"] == pct(valid_by_role[role], len(valid))
    student = next(p for p in provenance if p["role"] == "student")
    assert (student["model"], student["adapter"]) == ("local model", "local adapter")
    teacher = next(p for p in provenance if p["role"] == "teacher")
    assert teacher["backend"] == "template (rule-based)"

    quality = as_dicts(tables(section(text, "Quality, measured"))[0])
    assert len(quality) == 2, "one row per published generator, no mixed 'all' row"
    assert not any("all" in q["generator"].lower().split() for q in quality)
    for q in quality:
        role = q["generator"].split(" · ")[0]
        assert q["dialogues"] == str(by_role[role])
        assert q["valid %"] == pct(valid_by_role[role], by_role[role])


def test_the_template_share_is_stated_when_data_is_mixed(mixed_run):
    text = load_card(mixed_run).text
    raw = load_dataset(str(mixed_run / "hub"), "raw")
    valid = [r for split in raw.values() for r in split if r["valid"]]
    template = sum(r["generator"]["backend"] == "template" for r in valid)
    first = text.strip().split("\n\n")[1]
    assert f"{pct(template, len(valid))} % of the valid dialogues are rule-based" in first


def test_distinct_n_is_measured_on_equal_size_samples(mixed_run):
    from distillrecdial_kit.dataset_card.provenance import generator_label
    from distillrecdial_kit.dataset_card.quality import build_report

    report = build_report(mixed_run, roles=["teacher", "student"], label=generator_label, equal_size=True)
    equal = report["diversity_equal_size"]["by_generator"]
    words = [g["words_per_turn"] for g in report["by_generator"].values()]
    assert equal["tokens"] <= min(w["n"] * w["mean"] for w in words) + 1, "the smallest generator's size"
    again = build_report(mixed_run, roles=["teacher", "student"], label=generator_label, equal_size=True)
    assert again["diversity_equal_size"] == report["diversity_equal_size"], "seeded: the same samples every time"
    text = load_card(mixed_run).text
    assert f"({equal['tokens']:,} tokens of whole turns per generator" in text
    for q in as_dicts(tables(section(text, "Quality, measured"))[0]):
        values = equal["values"][q["generator"]]
        assert q["distinct-1"] == f"{values['distinct_1']:.3f}" and q["distinct-2"] == f"{values['distinct_2']:.3f}"


def test_only_published_generators_are_listed(mixed_run, tmp_path):
    assert main(["build", "--run", str(mixed_run), "--roles", "student", "--out", str(tmp_path / "hub")]) == 0
    text = (tmp_path / "hub" / "README.md").read_text()
    assert "teacher ·" not in text and "template (rule-based)" not in text
    for title in ("Quality, measured", "Provenance"):
        for table in tables(section(text, title)):
            assert all(not row[0].startswith("teacher") for row in table[1:]), title


def test_the_example_dialogue_is_a_published_sft_row(mixed_run):
    text = load_card(mixed_run).text
    example = section(text, "Example dialogue")
    sft = load_dataset(str(mixed_run / "hub"), "sft")["train"]
    first = min(sft, key=lambda row: row["dialogue_id"])
    assert f"A `{first['persona']}` dialogue from the train split" in example
    shown = re.findall(r"^> \*\*(Seeker|Recommender):\*\* (.*)$", example, flags=re.M)
    turns = [m for m in first["messages"] if m["role"] != "system"]
    assert len(shown) == len(turns)
    for (speaker, line), message in zip(shown, turns, strict=True):
        assert speaker == {"user": "Seeker", "assistant": "Recommender"}[message["role"]]
        readable = re.sub(r"\\(.)", r"\1", line).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        assert readable == " ".join(message["content"].split())


def test_every_field_of_every_config_is_described(mixed_run):
    fields = section(load_card(mixed_run).text, "Fields")
    for name, features in FEATURES.items():
        if name in OPTIONAL_CONFIGS:
            continue  # not published by this run (no rationales); test_rationales checks its card section
        block = re.search(rf"^### `{name}`\n(.*?)(?=^### |\Z)", fields, flags=re.S | re.M).group(1)
        documented = {row["field"].strip("`") for row in as_dicts(tables(block)[0])}
        assert set(features) <= documented, name
        for row in as_dicts(tables(block)[0]):
            assert len(row["description"]) > 10, row


def test_uses_limitations_privacy_and_citation(mixed_run):
    text = load_card(mixed_run).text
    uses = section(text, "Uses")
    assert "**Intended.**" in uses and "**Out of scope.**" in uses
    limits = section(text, "Limitations and biases")
    for topic in ("Popularity bias", "Synthetic language", "Target leakage", "Persona stereotypes"):
        assert f"**{topic}.**" in limits
    assert "12-core" in limits
    privacy = section(text, "Privacy")
    assert "reviewer ids" in privacy and "`prompt`" in privacy and "review titles and" in privacy
    citation = section(text, "Citation")
    assert "@inproceedings{Martina2025DistillRecDial" in citation and "10.1145/3705328.3748161" in citation
    assert "@misc" not in citation


def test_figures_are_readable_and_referenced(mixed_run):
    text = load_card(mixed_run).text
    figures = sorted((mixed_run / "hub" / "figures").glob("*.png"))
    assert len(figures) == 3
    for path in figures:
        width, height = png_size(path)
        assert width >= 800 and height >= 400, path.name
        assert f"](figures/{path.name})" in text


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct"),
        ("gpt-4o-mini", "gpt-4o-mini"),
        ("distillrecdial-template-v1", "distillrecdial-template-v1"),
        ("/tmp/pytest-1/tiny-llama", "local model"),
        ("runs/demo/tiny-llama", "local model"),
        ("./tiny-llama", "local model"),
        ("~/models/llama", "local model"),
        ("C:\\models\\llama", "local model"),
    ],
)
def test_generators_are_named_without_paths(name, shown):
    from distillrecdial_kit.dataset_card.provenance import public_name

    assert public_name(name) == shown
