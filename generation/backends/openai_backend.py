"""``--backend openai``: any OpenAI-compatible chat endpoint (``vllm serve``, hosted APIs).

Requests run concurrently up to a bound; 429, 5xx, timeouts and dropped
connections are retried with exponential backoff (honouring ``Retry-After``),
other 4xx answers fail just that prompt. The key is read from the environment
(``OPENAI_API_KEY`` unless ``api_key_env`` names another variable) and is
never printed or stored.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Sequence
from typing import Any

from distillrecdial_kit.generation.backends import STOP, Completion, ModelSpec, Sampling
from distillrecdial_kit.generation.backends.vllm_backend import request_seed

DEFAULTS: dict[str, Any] = {
    "base_url": None,  # falls back to OPENAI_BASE_URL, then the OpenAI API
    "api_key_env": "OPENAI_API_KEY",
    "concurrency": 16,
    "timeout": 120.0,
    "max_retries": 6,
    "backoff": 1.0,  # seconds before the first retry; doubles each time
    "max_backoff": 60.0,
}


def retry_delay(attempt: int, backoff: float, cap: float, retry_after: str | None, rng: random.Random) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): the server's ``Retry-After`` or jittered doubling."""
    if retry_after:
        try:
            return min(float(retry_after), cap)
        except ValueError:
            pass
    return min(backoff * 2**attempt, cap) * (0.5 + rng.random() / 2)


class OpenAIBackend:
    name = "openai"

    def __init__(self, spec: ModelSpec) -> None:
        import openai

        if not spec.model:
            raise ValueError("--backend openai needs --model (the served model or LoRA name)")
        unknown = set(spec.options) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown openai backend options: {', '.join(sorted(unknown))}")
        self.spec = spec
        self.openai = openai
        self.options = {**DEFAULTS, **spec.options}
        self.retries = 0  # how many retries the run needed, for the summary
        self._rng = random.Random(0)

    def _client(self) -> Any:
        key = os.environ.get(self.options["api_key_env"]) or "EMPTY"  # local servers accept any key
        return self.openai.AsyncOpenAI(
            base_url=self.options["base_url"] or os.environ.get("OPENAI_BASE_URL"),
            api_key=key,
            timeout=float(self.options["timeout"]),
            max_retries=0,  # retries are ours, so they are counted and bounded the same everywhere
        )

    async def _one(
        self, client: Any, gate: asyncio.Semaphore, record: dict[str, Any], sampling: Sampling
    ) -> Completion:
        openai = self.openai
        retryable = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)
        for attempt in range(int(self.options["max_retries"]) + 1):
            try:
                async with gate:
                    response = await client.chat.completions.create(
                        model=self.spec.model,
                        messages=record["prompt"],
                        temperature=sampling.temperature,
                        top_p=sampling.top_p,
                        max_tokens=sampling.max_new_tokens,
                        seed=request_seed(sampling.seed, record),
                    )
                choice = response.choices[0]
                # "stop" or "length" (max_tokens reached); a server that leaves it out is taken as a stop.
                return Completion(choice.message.content or "", choice.finish_reason or STOP)
            except retryable as err:
                status = getattr(err, "status_code", None)
                if status is not None and status != 429 and status < 500:
                    raise
                if attempt == int(self.options["max_retries"]):
                    raise
                headers = getattr(getattr(err, "response", None), "headers", None) or {}
                self.retries += 1
                await asyncio.sleep(
                    retry_delay(
                        attempt,
                        float(self.options["backoff"]),
                        float(self.options["max_backoff"]),
                        headers.get("retry-after"),
                        self._rng,
                    )
                )
        raise AssertionError("unreachable")

    async def _batch(self, prompts: Sequence[dict[str, Any]], sampling: Sampling) -> list[str | Exception]:
        gate = asyncio.Semaphore(int(self.options["concurrency"]))
        async with self._client() as client:
            results = await asyncio.gather(
                *(self._one(client, gate, record, sampling) for record in prompts), return_exceptions=True
            )
        return [r if isinstance(r, (str, Exception)) else RuntimeError(repr(r)) for r in results]

    def generate(self, prompts: Sequence[dict[str, Any]], sampling: Sampling) -> list[str | Exception]:
        return asyncio.run(self._batch(prompts, sampling))

    def close(self) -> None:
        pass
