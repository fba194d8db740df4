"""Wall time and peak RSS of `distillrecdial prepare` on synthetic dumps, optionally side by side with older code.

    python benchmarks/bench_prepare.py --reviews 2000000
    python benchmarks/bench_prepare.py --reviews 2000000 17000000 --baseline /tmp/prep-old/.venv/bin/python

Sources are written once per size by ``synthetic_sources.py`` (upstream
formats, Zipf item popularity, power-law user activity) into ``--workdir`` and
reused (``--keep``). Each size runs `prepare` in a fresh process: cold (nothing
cached), then warm (the parse cache that makes a killed run resumable), and the
review scan alone (the five columns `prepare` needs). With ``--baseline PYTHON``
(the interpreter of a venv in which an older checkout is installed) the cold
runs alternate between the two codes, ``--repeat`` times, so a noisy shared
machine loads both alike; the ratios (wall and CPU seconds) and whether both
wrote byte-identical outputs are printed. The load average is printed too: figures from a loaded
machine are only comparable side by side.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

GENERATOR = Path(__file__).resolve().parent / "synthetic_sources.py"
OUTPUTS = ("items.parquet", "interactions.parquet", "prompts.jsonl", "problems.prepare.jsonl")
SCAN = """
import sys, time
from pathlib import Path
from distillrecdial_kit.generation.amazon import read_reviews
from distillrecdial_kit.pipeline.problems import ProblemLog
start = time.perf_counter()
table, _ = read_reviews(Path(sys.argv[1]), ProblemLog())
print(f"{table.num_rows} rows in {time.perf_counter() - start:.1f} s")
"""


def measure(command: list[str]) -> tuple[float, float, int, str, float]:
    """Seconds, peak RSS in MiB, exit code, first stdout line and CPU seconds (user + system) of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    lines = process.stdout.read().splitlines() if process.stdout else []
    first = lines[0] if lines else "(no output)"
    return elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), first, usage.ru_utime + usage.ru_stime


def prepare_command(python: str, src: Path, out: Path, k: int) -> list[str]:
    return [
        python,
        "-m",
        "distillrecdial_kit.pipeline.cli",
        "prepare",
        "--reviews",
        str(src / "Movies_and_TV.jsonl"),
        "--meta",
        str(src / "meta_Movies_and_TV.jsonl"),
        "--tmdb",
        str(src / "tmdb_movies.json"),
        "--out",
        str(out),
        "--k",
        str(k),
    ]


def digest(run: Path) -> str:
    sha = hashlib.sha256()
    for name in OUTPUTS:
        sha.update((run / name).read_bytes())
    return sha.hexdigest()


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviews", type=int, nargs="+", default=[2_000_000], help="dump sizes in review lines")
    parser.add_argument("--k", type=int, default=12)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/distillrecdial-bench"))
    parser.add_argument("--keep", action="store_true", help="keep the generated sources for the next run")
    parser.add_argument("--baseline", help="python of a venv holding older code, run side by side")
    parser.add_argument("--baseline-max", type=int, default=None, help="skip the baseline above this many reviews")
    parser.add_argument("--repeat", type=int, default=1, help="alternating cold runs per code (default 1)")
    parser.add_argument("--cold-only", action="store_true", help="skip the warm run and the scan-only figure")
    args = parser.parse_args()

    print(f"start: {load()} on {os.cpu_count()} cores", flush=True)
    rows: list[tuple] = []
    ratios: list[str] = []
    for n in args.reviews:
        src = args.workdir / f"src-{n}"
        if not (src / "tmdb_movies.json").exists():
            print(f"writing {n:,} synthetic reviews into {src} ...", flush=True)
            # A separate process: peak RSS of a forked child counts the parent's pages too.
            subprocess.run([sys.executable, str(GENERATOR), "--out", str(src), "--reviews", str(n)], check=True)
        size_mb = sum(f.stat().st_size for f in src.iterdir()) / 2**20
        codes = {"this": sys.executable}
        if args.baseline and (args.baseline_max is None or n <= args.baseline_max):
            codes["base"] = args.baseline
        cold: dict[str, list[tuple[float, float]]] = {code: [] for code in codes}
        digests: dict[str, str] = {}
        for repeat in range(args.repeat):
            order = list(codes) if repeat % 2 == 0 else list(reversed(codes))
            for code in order:
                out = args.workdir / f"run-{n}-{code}"
                shutil.rmtree(out, ignore_errors=True)
                print(f"prepare {n:,} reviews, {code} code, cold ({load()}):", flush=True)
                seconds, rss, status, summary, cpu = measure(prepare_command(codes[code], src, out, args.k))
                print(f"    {summary}", flush=True)
                print(f"    {seconds:.1f} s wall, {cpu:.1f} s CPU, {rss:.0f} MiB peak RSS", flush=True)
                if status != 0:
                    print(f"    prepare exited {status}", file=sys.stderr)
                    return status
                cold[code].append((seconds, rss, cpu))
                rows.append((n, size_mb, code, "cold", seconds, cpu, rss))
                digests[code] = digest(out)
        if not args.cold_only:
            print(f"prepare {n:,} reviews, this code, warm ({load()}):", flush=True)
            warm = prepare_command(sys.executable, src, args.workdir / f"run-{n}-this", args.k)
            seconds, rss, _, _, cpu = measure(warm)
            print(f"    {seconds:.1f} s wall, {cpu:.1f} s CPU, {rss:.0f} MiB peak RSS", flush=True)
            rows.append((n, size_mb, "this", "warm", seconds, cpu, rss))
            seconds, rss, _, summary, cpu = measure([sys.executable, "-c", SCAN, str(src / "Movies_and_TV.jsonl")])
            print(f"review scan alone: {summary}; {cpu:.1f} s CPU, {rss:.0f} MiB peak RSS", flush=True)
            rows.append((n, size_mb, "this", "scan", seconds, cpu, rss))
        if "base" in cold:
            best = {code: [min(run[i] for run in runs) for i in range(3)] for code, runs in cold.items()}
            same = "identical" if digests["this"] == digests["base"] else "DIFFERENT"
            (base_s, base_rss, base_cpu), (this_s, this_rss, this_cpu) = best["base"], best["this"]
            ratios.append(
                f"{n:>11,} reviews: wall {base_s / this_s:.1f}x ({base_s:.1f} s → {this_s:.1f} s), "
                f"CPU {base_cpu / this_cpu:.1f}x ({base_cpu:.1f} s → {this_cpu:.1f} s), "
                f"peak RSS {base_rss:.0f} → {this_rss:.0f} MiB; outputs {same}"
            )
        for code in codes:
            shutil.rmtree(args.workdir / f"run-{n}-{code}", ignore_errors=True)
        if not args.keep:
            shutil.rmtree(src)

    print(f"\nend: {load()}")
    print(f"{'reviews':>11} {'input MB':>9} {'code':>5} {'run':>5} {'wall s':>8} {'CPU s':>7} {'peak RSS MiB':>13}")
    for n, size_mb, code, mode, seconds, cpu, rss in rows:
        print(f"{n:>11,} {size_mb:>9.0f} {code:>5} {mode:>5} {seconds:>8.1f} {cpu:>7.1f} {rss:>13.0f}")
    if ratios:
        print("\nside by side (best cold run of each code):")
        print("\n".join(ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
