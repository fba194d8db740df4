"""Wall time and peak RSS of `distillrecdial prepare` on synthetic dumps of a given size.

    python benchmarks/bench_prepare.py --reviews 1000000 5000000

Sources are written once per size by ``synthetic_sources.py`` (upstream
formats, Zipf item popularity, power-law user activity) into ``--workdir`` and
reused. Each size runs `prepare` in a fresh process, cold (nothing cached) and
then warm (the parsed-source cache that makes a killed run resumable).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

GENERATOR = Path(__file__).resolve().parent / "synthetic_sources.py"


def run_prepare(src: Path, out: Path, k: int) -> tuple[float, float, int]:
    """Seconds, peak RSS in MiB and exit code of one `prepare` process."""
    command = [
        sys.executable,
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
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    summary = process.stdout.read().splitlines() if process.stdout else []
    print("    " + (summary[0] if summary else "(no summary)"), flush=True)
    return elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviews", type=int, nargs="+", default=[1_000_000], help="dump sizes in review lines")
    parser.add_argument("--k", type=int, default=12)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/distillrecdial-bench"))
    parser.add_argument("--keep", action="store_true", help="keep the generated sources for the next run")
    args = parser.parse_args()

    rows = []
    for n in args.reviews:
        src = args.workdir / f"src-{n}"
        if not (src / "tmdb_movies.json").exists():
            print(f"writing {n:,} synthetic reviews into {src} ...", flush=True)
            # A separate process: peak RSS of a forked child counts the parent's pages too.
            subprocess.run([sys.executable, str(GENERATOR), "--out", str(src), "--reviews", str(n)], check=True)
        size_mb = sum(f.stat().st_size for f in src.iterdir()) / 2**20
        out = args.workdir / f"run-{n}"
        shutil.rmtree(out, ignore_errors=True)
        for mode in ("cold", "warm"):
            print(f"prepare {n:,} reviews ({mode}):", flush=True)
            seconds, rss, code = run_prepare(src, out, args.k)
            if code != 0:
                print(f"    prepare exited {code}", file=sys.stderr)
                return code
            rows.append((n, size_mb, mode, seconds, rss))
        if not args.keep:
            shutil.rmtree(src)
        shutil.rmtree(out)

    print(f"\n{'reviews':>10} {'input MB':>9} {'run':>5} {'wall s':>8} {'peak RSS MiB':>13}")
    for n, size_mb, mode, seconds, rss in rows:
        print(f"{n:>10,} {size_mb:>9.0f} {mode:>5} {seconds:>8.1f} {rss:>13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
