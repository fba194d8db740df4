"""Shared fixtures: the embedded sample, a prepared sample run, tiny hand-made sources."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

from benchmarks.sample_run import sample_config
from distillrecdial_kit.generation.prepare import PrepareConfig
from distillrecdial_kit.generation.prepare import run as prepare

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> Path:
    """The embedded sample prepared once with the defaults (k=12, seed=42)."""
    out = tmp_path_factory.mktemp("sample_run")
    prepare(sample_config(out))
    return out


def run_with_prompts(source: Path, run: Path) -> Path:
    """A fresh run folder holding only ``source``'s prompts: what `generate` reads."""
    import shutil

    run.mkdir(parents=True)
    shutil.copy(source / "prompts.jsonl", run / "prompts.jsonl")
    return run


def write_lines(path: Path, rows: list) -> Path:
    """JSONL from dicts; a ``str`` row is written verbatim (for malformed lines)."""
    with open(path, "wb") as handle:
        for row in rows:
            handle.write((row.encode() if isinstance(row, str) else orjson.dumps(row)) + b"\n")
    return path


def review(user: str, item: str, rating=5.0, timestamp: int = 1_600_000_000_000, **extra) -> dict:
    record = {
        "rating": rating,
        "title": "A title",
        "text": f"{user} on {item}.",
        "images": [],
        "asin": item,
        "parent_asin": item,
        "user_id": user,
        "timestamp": timestamp,
        "helpful_vote": 0,
        "verified_purchase": True,
    }
    record.update(extra)
    return record


def meta(item: str, title: str | None) -> dict:
    return {
        "main_category": "Movies & TV",
        "title": title,
        "average_rating": 4.5,
        "rating_number": 10,
        "features": [],
        "description": [],
        "price": None,
        "images": [],
        "videos": [],
        "store": "Studio",
        "categories": [],
        "details": {},
        "parent_asin": item,
        "bought_together": None,
    }


def tmdb(item: str, title: str, **extra) -> dict:
    record = {
        "asin": item,
        "id": abs(sum(map(ord, item))),
        "title": title,
        "release_date": "1999-03-31",
        "overview": f"Overview of {title}.",
        "origin_country": ["US"],
        "genres": [{"id": 18, "name": "Drama"}],
        "keywords": {"keywords": [{"id": 1, "name": f"kw-{item.lower()}"}]},
        "casts": {
            "cast": [{"id": 1, "name": f"Actor {item}", "character": "Lead", "order": 0}],
            "crew": [{"id": 2, "name": f"Director {item}", "job": "Director", "department": "Directing"}],
        },
        "belongs_to_collection": None,
        "Visual Caption": f"Poster of {title}.",
    }
    record.update(extra)
    return record


@pytest.fixture
def tiny_sources(tmp_path: Path):
    """A factory writing three source files from row lists; returns a ``PrepareConfig`` builder."""

    def make(reviews: list, metas: list, tmdbs: list, **overrides) -> PrepareConfig:
        src = tmp_path / "src"
        src.mkdir(exist_ok=True)
        write_lines(src / "Movies_and_TV.jsonl", reviews)
        write_lines(src / "meta_Movies_and_TV.jsonl", metas)
        # DistillRecDial's layout: a JSON array with one record per line.
        body = b",\n".join(orjson.dumps(t) for t in tmdbs)
        (src / "tmdb_movies.json").write_bytes(b"[\n" + body + b"\n]\n")
        return PrepareConfig(
            reviews=str(src / "Movies_and_TV.jsonl"),
            meta=str(src / "meta_Movies_and_TV.jsonl"),
            tmdb=str(src / "tmdb_movies.json"),
            out=tmp_path / "run",
            **overrides,
        )

    return make


def pytest_sessionstart(session) -> None:
    """One vLLM engine per model for the whole session: a closed backend leaves its engine for the next test."""
    from distillrecdial_kit.generation.backends import keep_engines_loaded

    keep_engines_loaded()


def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop vLLM engines while pytest's output streams are still open (their shutdown logs otherwise fail)."""
    from distillrecdial_kit.generation.backends import unload_engines

    unload_engines()


@pytest.fixture(scope="session")
def tiny_model(sample_run, tmp_path_factory) -> Path:
    """A tiny Llama with a BPE tokenizer trained on the sample's prompts (built once per session)."""
    from distillrecdial_kit.generation.tiny_model import build_tiny_model, run_texts

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-llama", run_texts(sample_run))


def random_lora(model: Path, out: Path, target_modules: list[str]) -> Path:
    """A rank-8 LoRA adapter for ``model`` with random (non-zero) weights, so it visibly changes outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    config = LoraConfig(
        r=8, lora_alpha=32, target_modules=target_modules, init_lora_weights=False, task_type="CAUSAL_LM"
    )
    get_peft_model(AutoModelForCausalLM.from_pretrained(model), config).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_adapter(tiny_model, tmp_path_factory) -> Path:
    """A random LoRA adapter for the tiny model."""
    out = tmp_path_factory.mktemp("adapter") / "tiny-lora"
    return random_lora(tiny_model, out, ["q_proj", "k_proj", "v_proj", "o_proj"])


RAW_TYPES = {
    "dialogue_id": str,
    "user_id": str,
    "persona": str,
    "target_item": str,
    "history": list,
    "prompt": list,
    "response": str,
    "generator": dict,
    "turns": list,
    "valid": bool,
    "problems": list,
}


def assert_raw_record(record: dict) -> None:
    """A record has exactly DESIGN's raw fields with the right shapes."""
    assert set(record) == set(RAW_TYPES)
    for key, kind in RAW_TYPES.items():
        assert isinstance(record[key], kind), key
    assert all(set(h) == {"item_id", "rating"} for h in record["history"])
    assert [m["role"] for m in record["prompt"]] == ["system", "user"]
    assert all(set(t) == {"role", "content"} and t["role"] in ("user", "assistant") for t in record["turns"])
    assert {"model", "adapter", "backend", "role", "temperature", "top_p", "max_new_tokens", "seed", "versions"} <= set(
        record["generator"]
    )
    assert all(isinstance(p, str) for p in record["problems"])
    assert record["valid"] == (not [p for p in record["problems"] if not p.startswith("fixed:")])


@pytest.fixture(scope="session")
def teacher_run(sample_run, tmp_path_factory) -> Path:
    """The sample after `generate` with the template teacher (prompts and items copied, nothing else)."""
    import shutil

    from distillrecdial_kit.generation.prepare import ITEMS_FILE, PROMPTS_FILE
    from distillrecdial_kit.pipeline.cli import main

    run = tmp_path_factory.mktemp("teacher") / "run"
    run.mkdir()
    for name in (PROMPTS_FILE, ITEMS_FILE):
        shutil.copy(sample_run / name, run / name)
    assert main(["generate", "--run", str(run), "--role", "teacher"]) == 0
    return run


@pytest.fixture(scope="session")
def distilled_run(teacher_run, tmp_path_factory) -> Path:
    """The teacher run after `distill`: what a student trains on."""
    import shutil

    from distillrecdial_kit.pipeline.cli import main

    run = tmp_path_factory.mktemp("distilled") / "run"
    shutil.copytree(teacher_run, run)
    assert main(["distill", "--run", str(run)]) == 0
    return run
