"""Command line: ``python -m sparsenum demo | bench | info``."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def _bench(args: argparse.Namespace) -> int:
    root = Path(__file__).resolve().parent.parent
    if not (root / "benchmarks" / "__main__.py").exists():
        print("benchmarks/ not found next to the package: run from a source checkout "
              "(pip install -e '.[bench]')", file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "benchmarks"]
    if not args.full:
        command.append("--quick")
    command += args.only
    return subprocess.call(command, cwd=root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sparsenum",
                                     description="sparsenum: sparse numerics toolkit")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run every module's demo on embedded data")
    demo.add_argument("--out", default="sparsenum-demo",
                      help="folder for convergence plots (default: ./sparsenum-demo/)")
    demo.add_argument("--module", action="append", dest="modules",
                      help="run only this module's demo (repeatable)")
    bench = commands.add_parser("bench", help="run benchmarks/ (quick sizes unless --full)")
    bench.add_argument("--full", action="store_true", help="full sizes (slow)")
    bench.add_argument("only", nargs="*", help="benchmark names, e.g. ot neighbors")
    commands.add_parser("info", help="versions, numba threading, BLAS")
    args = parser.parse_args(argv)

    if args.command == "info":
        from ._info import show_versions

        show_versions()
        return 0
    if args.command == "demo":
        from ._demo import run_demos

        return run_demos(args.out, args.modules)
    return _bench(args)


if __name__ == "__main__":
    sys.exit(main())
