"""LLM backends behind one interface: a batch of prompt records in, one text (or error) per prompt out.

``vllm`` (offline engine), ``openai`` (any OpenAI-compatible endpoint),
``transformers`` (local ``generate``) and ``template`` (a rule-based writer,
no model) are interchangeable for the `generate` stage. Heavy libraries are
imported only by the backend that needs them.

Each text comes back as a :class:`Completion`: a ``str`` that also says why
generation stopped (``finish_reason``: ``stop`` at end of turn, ``length`` at
the token limit), so callers that only want text need no change, and
`generate` can mark a dialogue cut by ``max_new_tokens`` as ``truncated``.

A backend owns its engine: ``close()`` unloads it. A process that runs several stages in a row with the same
model (the tests, a notebook, a benchmark) calls :func:`keep_engines_loaded` first, so the next backend with the
same settings reuses the loaded engine, and :func:`unload_engines` at the end.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from distillrecdial_kit.generation.dialogue_parser import TRUNCATED

BACKENDS = ("vllm", "openai", "transformers", "template")

#: Why generation stopped: the model ended its turn (or hit a stop string), or it ran into the token limit.
STOP, LENGTH = "stop", "length"


_keep_engines = False
#: How each engine-caching backend frees what it keeps (registered when that backend's module is imported).
_UNLOADERS: list[Callable[[], None]] = []


def keep_engines_loaded(keep: bool = True) -> None:
    """Make ``close()`` keep engines loaded for reuse in this process (``False``: unload on close, the default)."""
    global _keep_engines
    _keep_engines = keep


def engines_kept() -> bool:
    return _keep_engines


def register_unloader(unload: Callable[[], None]) -> None:
    if unload not in _UNLOADERS:
        _UNLOADERS.append(unload)


def unload_engines() -> None:
    """Free every engine kept loaded in this process (their worker processes stop now, not at exit)."""
    for unload in _UNLOADERS:
        unload()


class Completion(str):
    """A generated text that remembers why generation stopped (``stop``, ``length``, or what the engine said)."""

    finish_reason: str

    def __new__(cls, text: str, finish_reason: str = STOP) -> Completion:
        completion = super().__new__(cls, text)
        completion.finish_reason = finish_reason
        return completion


def finish_reason(text: str) -> str:
    """``text``'s finish reason; a plain string (a backend that does not know) counts as a normal stop."""
    return getattr(text, "finish_reason", STOP)


def generation_problems(text: str) -> list[str]:
    """What the backend said about a response beyond its text: ``truncated`` when it hit the token limit."""
    return [TRUNCATED] if finish_reason(text) == LENGTH else []


@dataclass(frozen=True)
class Sampling:
    """Decoding parameters; recorded with every dialogue."""

    temperature: float = 0.7
    top_p: float = 0.9
    max_new_tokens: int = 1024
    seed: int = 42

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelSpec:
    """Which model a backend runs, and how."""

    model: str | None = None
    revision: str | None = None
    adapter: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """What `generate` needs from a backend."""

    name: str
    spec: ModelSpec

    def generate(self, prompts: Sequence[dict[str, Any]], sampling: Sampling) -> list[str | Exception]:
        """One response per prompt record (a :class:`Completion`), or the exception that prompt raised."""
        ...

    def close(self) -> None:
        """Free the engine (unless :func:`keep_engines_loaded` asked to keep it for the next backend)."""
        ...


def isolate_failures(
    run: Callable[[Sequence[dict[str, Any]]], list[str]], prompts: Sequence[dict[str, Any]]
) -> list[str | Exception]:
    """Run a batch; if it fails, rerun prompt by prompt so one bad prompt (e.g. too long) fails alone."""
    try:
        return list(run(prompts))
    except (ValueError, RuntimeError):
        results: list[str | Exception] = []
        for record in prompts:
            try:
                results.extend(run([record]))
            except (ValueError, RuntimeError) as err:
                results.append(err)
        return results


def make_backend(name: str, spec: ModelSpec) -> Backend:
    """Instantiate backend ``name`` (imports its library only now).

    A known local model alias (``smollm2-135m-instruct``) is loaded from its materialised folder; callers keep
    the alias in their provenance, so ids do not depend on where the cache is. For ``openai`` the alias is the
    served model name and is sent as is.
    """
    if name in ("vllm", "transformers"):
        from distillrecdial_kit.generation.models import resolve_model

        spec = replace(spec, model=resolve_model(spec.model))
    if name == "template":
        from distillrecdial_kit.generation.backends.template import TemplateBackend

        return TemplateBackend(spec)
    if name == "vllm":
        from distillrecdial_kit.generation.backends.vllm_backend import VLLMBackend

        return VLLMBackend(spec)
    if name == "transformers":
        from distillrecdial_kit.generation.backends.transformers_backend import TransformersBackend

        return TransformersBackend(spec)
    if name == "openai":
        from distillrecdial_kit.generation.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(spec)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


def add_model_arguments(
    parser: argparse.ArgumentParser, *, unit: str, temperature: float, max_new_tokens: int, adapter_help: str
) -> None:
    """The options every stage that runs a backend shares (`generate`, `rationales`): the model, sampling, batching
    and sharding, and ``--backend-arg``. ``unit`` names what is generated (``prompts``, ``reviews``)."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        help="vllm | openai | transformers | template (default: template without --model, vllm with it)",
    )
    parser.add_argument("--model", help="model name or local path (for openai: the served model or LoRA name)")
    parser.add_argument("--revision", help="model revision (branch, tag or commit)")
    parser.add_argument("--adapter", help=adapter_help)
    parser.add_argument("--temperature", type=float, default=temperature)
    parser.add_argument("--top-p", type=float, default=0.9)
    parser.add_argument("--max-new-tokens", type=int, default=max_new_tokens)
    parser.add_argument("--seed", type=int, default=42, help=f"sampling seed (each of the {unit} derives its own)")
    parser.add_argument("--batch-size", type=int, default=64, help=f"{unit} per backend call and per durable write")
    parser.add_argument("--num-shards", type=int, default=1, help=f"split the {unit} across N machines")
    parser.add_argument("--shard-index", type=int, default=0, help="which of the N shards this process runs")
    parser.add_argument("--limit", type=int, help=f"only the first N {unit} of this shard (smoke tests)")
    parser.add_argument(
        "--backend-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="backend option, repeatable; VALUE is JSON when it parses. vllm: any vllm.LLM argument "
        "(tensor_parallel_size=4, max_model_len=8192, enforce_eager=true, dtype=bfloat16); openai: base_url, "
        "api_key_env, concurrency, timeout, max_retries, backoff; transformers: dtype, device_map",
    )
