"""Throughput of `distillrecdial build` on synthetic raw dialogues at scale.

    python benchmarks/bench_build.py --dialogues 100000

Prepares the embedded sample, writes its template dialogues once, then
replicates them under fresh user ids up to ``--dialogues`` raw records (real
catalog, real validation, linking and parquet writing; only the users are
synthetic) and times a full `build` in its own process: wall time, CPU time (user + system, which other jobs
on a shared machine do not inflate) and peak RSS, both summed over the build's process tree (its worker
processes included). Run it with another checkout's interpreter to compare commits side by side (the build
runs in that interpreter's installed code).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sample_run import sample_config  # noqa: E402

from distillrecdial_kit.generation.prepare import run as prepare  # noqa: E402
from distillrecdial_kit.generation.raw_store import MERGED_NAME, read_records  # noqa: E402
from distillrecdial_kit.pipeline.cli import main as cli  # noqa: E402


def synthetic_run(run: Path, n: int) -> int:
    """A run folder with ``n`` raw teacher dialogues over the sample's catalog."""
    prepare(sample_config(run))
    assert cli(["generate", "--run", str(run), "--role", "teacher"]) == 0
    merged = run / "raw" / "teacher" / MERGED_NAME
    base = list(read_records(merged))
    with open(merged, "wb") as handle:
        for number in range(n):
            record = dict(base[number % len(base)])
            record["user_id"] = f"{record['user_id']}-{number // len(base)}"
            record["dialogue_id"] = hashlib.sha256(f"{record['user_id']}\x1f{record['persona']}".encode()).hexdigest()[
                :20
            ]
            handle.write(orjson.dumps(record) + b"\n")
    return n


def watch(process: subprocess.Popen, every: float = 0.1) -> tuple[float, int]:
    """CPU seconds (user + system; what other jobs on a shared machine do not inflate) and peak RSS of the
    build and every process it starts (its workers), summed over the tree, sampled until it exits."""
    root = psutil.Process(process.pid)
    cpu: dict[int, float] = {}
    peak = 0
    while process.poll() is None:
        rss = 0
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for proc in tree:
            try:
                times, memory = proc.cpu_times(), proc.memory_info()
            except psutil.NoSuchProcess:
                continue
            cpu[proc.pid] = times.user + times.system
            rss += memory.rss
        peak = max(peak, rss)
        time.sleep(every)
    process.wait()
    return sum(cpu.values()), peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dialogues", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/distillrecdial-bench-build"))
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    run = args.workdir / "run"
    n = synthetic_run(run, args.dialogues)
    command = [
        sys.executable,
        "-m",
        "distillrecdial_kit.pipeline.cli",
        "build",
        "--run",
        str(run),
        "--roles",
        "teacher",
        "--allow-template",
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    cpu, peak = watch(process)
    seconds = time.perf_counter() - start
    summary = process.stdout.read() if process.stdout else ""
    if process.returncode != 0:
        print("build failed", file=sys.stderr)
        return 1
    print(summary.strip())
    size = sum(p.stat().st_size for p in (run / "hub").rglob("*") if p.is_file()) / 2**20
    print(f"\n{'dialogues':>10} {'wall s':>8} {'CPU s':>8} {'dialogues/s':>12} {'peak RSS MiB':>13} {'hub MB':>7}")
    print(f"{n:>10,} {seconds:>8.1f} {cpu:>8.1f} {n / seconds:>12.0f} {peak / 2**20:>13.0f} {size:>7.0f}")
    shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
