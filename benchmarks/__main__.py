"""``python -m benchmarks [--quick] [names...]``: run every ``bench_*.py``, one process each."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="run sparsenum's benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes (~2 minutes each)")
    parser.add_argument("names", nargs="*", help="only these, e.g. ot neighbors")
    args = parser.parse_args(argv)
    scripts = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if args.names:
        unknown = [n for n in args.names if f"bench_{n}" not in scripts]
        if unknown:
            print(f"unknown benchmarks: {unknown}; available: {scripts}", file=sys.stderr)
            return 2
        scripts = [f"bench_{n}" for n in args.names]
    if not scripts:
        print("no benchmarks found")
        return 0
    failed = []
    for script in scripts:
        print(f"=== {script} ===", flush=True)
        start = time.perf_counter()
        command = [sys.executable, "-m", f"benchmarks.{script}"]
        command += ["--quick"] if args.quick else []
        if subprocess.call(command, cwd=HERE.parent) != 0:
            failed.append(script)
        print(f"=== {script}: {time.perf_counter() - start:.0f} s ===\n", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
