"""Time of `distillrecdial report` (``build_report``) on synthetic raw dialogues at scale.

    python benchmarks/bench_report.py --dialogues 100000

Replicates the teacher records of a prepared run (default ``runs/demo``: make it with the README's demo
command) under fresh user and dialogue ids up to ``--dialogues`` raw records, with the run's real catalog.
Each copy's first user turn gets one extra word unique to that copy, so the vocabulary and the n-gram
tables grow with the corpus as they would on real text. Then times ``build_report`` (reading, per-dialogue
features, grouped metrics, self-BLEU) and, separately, writing report.json / report.md / the PNGs; prints the
time and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from distillrecdial_kit.dataset_card.quality import build_report, headline_markdown, write_report  # noqa: E402


def synthetic_run(source: Path, run: Path, n: int) -> None:
    """``run`` with ``source``'s catalog and ``n`` copies (round robin) of its teacher records."""
    records = [
        orjson.loads(line) for line in (source / "raw" / "teacher" / "dialogues.jsonl").read_bytes().splitlines()
    ]
    if not records:
        raise SystemExit(f"no teacher records in {source}")
    run.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "items.parquet", run / "items.parquet")
    out = run / "raw" / "teacher"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "dialogues.jsonl", "wb") as handle:
        for k in range(n):
            record = dict(records[k % len(records)])
            record["user_id"] = f"SYN{k:09d}"
            record["dialogue_id"] = hashlib.sha256(f"bench-{k}".encode()).hexdigest()[:20]
            turns = [dict(t) for t in record["turns"]]
            if turns:
                turns[0]["content"] = f"{turns[0]['content']} w{k}"
            record["turns"] = turns
            handle.write(orjson.dumps(record) + b"\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dialogues", type=int, default=100_000)
    parser.add_argument("--source", type=Path, default=ROOT / "runs" / "demo", help="prepared run to replicate")
    parser.add_argument("--keep", type=Path, help="write the synthetic run here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        run = args.keep or Path(tmp) / "run"
        started = time.perf_counter()
        synthetic_run(args.source, run, args.dialogues)
        print(f"wrote {args.dialogues} synthetic dialogues in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        report = build_report(run)
        computed = time.perf_counter() - started
        started = time.perf_counter()
        write_report(report, run / "report")
        written = time.perf_counter() - started
    print(headline_markdown(report))
    total = computed + written
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"build_report on {report['overall']['dialogues']} dialogues: {computed:.1f} s "
        f"(+ {written:.1f} s writing json/md/figures = {total:.1f} s; {args.dialogues / total:,.0f} dialogues/s); "
        f"peak RSS {peak:,.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
