"""Command line: ``python -m sparsenum demo | bench | info | compile``."""

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


def _compile(args: argparse.Namespace) -> int:
    """Run every module's warm-up once so numba's cache holds the kernels users will need."""
    import time

    import numba

    from .utils.registry import all_warm_ups

    warm_ups = [(m, w) for m, w in all_warm_ups() if not args.modules or m in args.modules]
    unknown = set(args.modules or ()) - {m for m, _ in warm_ups}
    if unknown:
        print(f"no warm-up registered for: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    print(f"numba cache folder: {numba.config.CACHE_DIR or '__pycache__ next to the sources'}")
    total = time.perf_counter()
    for module, warm_up in warm_ups:
        start = time.perf_counter()
        warm_up()
        print(f"  {module:<12} {time.perf_counter() - start:6.1f} s", flush=True)
    print(f"compiled {len(warm_ups)} modules in {time.perf_counter() - total:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sparsenum",
                                     description="sparsenum: sparse numerics toolkit")
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"sparsenum {__version__}")
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
    compile_ = commands.add_parser(
        "compile", help="compile every module's numba kernels into the cache once (for "
                        "clusters and containers: run it after installing)")
    compile_.add_argument("--module", action="append", dest="modules",
                          help="compile only this module (repeatable)")
    args = parser.parse_args(argv)

    if args.command == "info":
        from ._info import show_versions

        show_versions()
        return 0
    if args.command == "compile":
        return _compile(args)
    if args.command == "demo":
        from ._demo import run_demos

        return run_demos(args.out, args.modules)
    return _bench(args)


if __name__ == "__main__":
    sys.exit(main())
