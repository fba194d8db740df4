"""LLM backends behind one interface: a batch of prompt records in, one text (or error) per prompt out.

``vllm`` (offline engine), ``openai`` (any OpenAI-compatible endpoint),
``transformers`` (local ``generate``) and ``template`` (a rule-based writer,
no model) are interchangeable for the `generate` stage. Heavy libraries are
imported only by the backend that needs them.

Each text comes back as a :class:`Completion`: a ``str`` that also says why
generation stopped (``finish_reason``: ``stop`` at end of turn, ``length`` at
the token limit), so callers that only want text need no change, and
`generate` can mark a dialogue cut by ``max_new_tokens`` as ``truncated``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from generation.dialogue_parser import TRUNCATED

BACKENDS = ("vllm", "openai", "transformers", "template")

#: Why generation stopped: the model ended its turn (or hit a stop string), or it ran into the token limit.
STOP, LENGTH = "stop", "length"


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

    def close(self) -> None: ...


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
        from generation.models import resolve_model

        spec = replace(spec, model=resolve_model(spec.model))
    if name == "template":
        from generation.backends.template import TemplateBackend

        return TemplateBackend(spec)
    if name == "vllm":
        from generation.backends.vllm_backend import VLLMBackend

        return VLLMBackend(spec)
    if name == "transformers":
        from generation.backends.transformers_backend import TransformersBackend

        return TransformersBackend(spec)
    if name == "openai":
        from generation.backends.openai_backend import OpenAIBackend

        return OpenAIBackend(spec)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
