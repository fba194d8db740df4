"""Prompts per second of the tiny local model through vLLM (CPU) and transformers, by batch size.

    python benchmarks/bench_generate.py [--prompts 32] [--max-new-tokens 64] [--batch-sizes 1 8 32]

Prepares the embedded sample, builds the tiny Llama from its text (as the
tests do), then times each backend's ``generate`` on the same prompts with
greedy decoding. vLLM's engine start is timed separately and excluded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

from sample_run import sample_config  # noqa: E402

from distillrecdial_kit.generation.backends import (  # noqa: E402
    ModelSpec,
    Sampling,
    make_backend,
    unload_engines,
)
from distillrecdial_kit.generation.prepare import PROMPTS_FILE  # noqa: E402
from distillrecdial_kit.generation.prepare import run as prepare  # noqa: E402
from distillrecdial_kit.generation.tiny_model import build_tiny_model, run_texts  # noqa: E402

ENGINE_OPTIONS = {
    "vllm": {"enforce_eager": True, "max_model_len": 4096, "dtype": "float32", "seed": 0},
    "transformers": {"dtype": "float32"},
}


def time_backend(name: str, model: Path, prompts: list[dict], sizes: list[int], sampling: Sampling) -> list[tuple]:
    start = time.perf_counter()
    backend = make_backend(name, ModelSpec(model=str(model), options=ENGINE_OPTIONS[name]))
    print(f"{name}: loaded in {time.perf_counter() - start:.1f}s", flush=True)
    backend.generate(prompts[:2], sampling)  # warm-up
    rows = []
    for size in sizes:
        start = time.perf_counter()
        for offset in range(0, len(prompts), size):
            results = backend.generate(prompts[offset : offset + size], sampling)
            assert not any(isinstance(r, Exception) for r in results), results
        seconds = time.perf_counter() - start
        rows.append((name, size, len(prompts), seconds, len(prompts) / seconds))
        print(f"  batch {size:>3}: {len(prompts) / seconds:8.2f} prompts/s", flush=True)
    backend.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--backends", nargs="+", default=["vllm", "transformers"])
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        prepare(sample_config(run))
        model = build_tiny_model(Path(tmp) / "tiny", run_texts(run))
        prompts = [orjson.loads(x) for x in (run / PROMPTS_FILE).read_bytes().splitlines()][: args.prompts]
        sampling = Sampling(temperature=0.0, top_p=1.0, max_new_tokens=args.max_new_tokens, seed=0)
        rows = []
        try:
            for name in args.backends:
                rows += time_backend(name, model, prompts, args.batch_sizes, sampling)
        finally:
            unload_engines()

    print(f"\n{'backend':<13} {'batch':>5} {'prompts':>7} {'seconds':>8} {'prompts/s':>10}")
    for name, size, n, seconds, rate in rows:
        print(f"{name:<13} {size:>5} {n:>7} {seconds:>8.2f} {rate:>10.2f}")
    print(f"(tiny Llama: 2 layers, hidden 64; {args.max_new_tokens} new tokens per prompt, greedy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
