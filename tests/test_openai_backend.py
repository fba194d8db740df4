"""The openai backend's retry/backoff on 429 and 5xx answers, against a scripted local server.

The backend against a real OpenAI-compatible server (`vllm serve` of SmolLM2, a LoRA student served by name) is
in tests/test_smollm2.py: one server for both.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from distillrecdial_kit.generation.backends import ModelSpec, Sampling
from distillrecdial_kit.generation.backends.openai_backend import OpenAIBackend, retry_delay


class ScriptedServer(BaseHTTPRequestHandler):
    """Answers each prompt (keyed by its user message) with a scripted list of HTTP statuses."""

    script: ClassVar[dict[str, list[int]]] = {}
    finish: ClassVar[dict[str, str]] = {"B": "length"}  # why the scripted answer stopped ("stop" otherwise)
    calls: ClassVar[dict[str, int]] = {}
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = body["messages"][-1]["content"]
        with self.lock:
            n = self.calls.get(key, 0)
            self.calls[key] = n + 1
        status = self.script[key][min(n, len(self.script[key]) - 1)]
        payload = (
            {"error": {"message": "scripted", "type": "test"}}
            if status != 200
            else {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": self.finish.get(key, "stop"),
                        "message": {"role": "assistant", "content": f"[USR] reply to {key}"},
                    }
                ],
            }
        )
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def test_429_and_5xx_are_retried_with_backoff_and_4xx_fails_only_that_prompt():
    """A scripted HTTP server stands in for a rate-limited API: the fault injection is the point here."""
    ScriptedServer.script = {"A": [429, 503, 500, 200], "B": [200], "C": [400]}
    ScriptedServer.calls = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        options = {"base_url": f"http://127.0.0.1:{server.server_port}/v1", "backoff": 0.01, "max_retries": 5}
        backend = OpenAIBackend(ModelSpec(model="m", options=options))
        prompts = [{"user_id": key, "persona": "p", "prompt": [{"role": "user", "content": key}]} for key in "ABC"]
        results = backend.generate(prompts, Sampling())
    finally:
        server.shutdown()
    assert results[0] == "[USR] reply to A" and results[1] == "[USR] reply to B"
    assert results[0].finish_reason == "stop" and results[1].finish_reason == "length"
    assert isinstance(results[2], Exception) and "400" in str(results[2])
    assert ScriptedServer.calls == {"A": 4, "B": 1, "C": 1}
    assert backend.retries == 3


def test_retries_give_up_after_max_retries():
    ScriptedServer.script = {"A": [503]}
    ScriptedServer.calls = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        options = {"base_url": f"http://127.0.0.1:{server.server_port}/v1", "backoff": 0.0, "max_retries": 2}
        results = OpenAIBackend(ModelSpec(model="m", options=options)).generate(
            [{"user_id": "A", "persona": "p", "prompt": [{"role": "user", "content": "A"}]}], Sampling()
        )
    finally:
        server.shutdown()
    assert isinstance(results[0], Exception) and ScriptedServer.calls == {"A": 3}


def test_retry_delay_doubles_is_capped_and_honours_retry_after():
    import random

    rng = random.Random(0)
    delays = [retry_delay(n, 1.0, 10.0, None, rng) for n in range(6)]
    assert all(0.5 * min(2**n, 10) <= d <= min(2**n, 10) for n, d in enumerate(delays))
    assert retry_delay(3, 1.0, 10.0, "2", rng) == 2.0
    assert retry_delay(3, 1.0, 10.0, "120", rng) == 10.0


def test_unknown_backend_options_are_rejected():
    with pytest.raises(ValueError, match="unknown openai backend options"):
        OpenAIBackend(ModelSpec(model="m", options={"base_ur": "x"}))
