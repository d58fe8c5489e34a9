"""Census of the neighbors fuzz cases: every case in a child process, the outcomes counted.

Run from the repository root (``--per-kind`` scales the number of cases, about 13 per unit)::

    python tests/neighbors/fuzz_census.py --per-kind 60 [--workers 2] [--timeout 60]

Outcomes: ``clean`` (a ValueError/TypeError naming the argument), ``ok`` (a result checked
correct), ``wrong-error`` (another exception, or one naming none of the arguments), ``silent``
(a wrong result without an error), ``crash`` (the child process died), ``hang`` (no answer within
the time limit), ``n/a`` (the version under test lacks the feature). Point ``PYTHONPATH`` at
another copy of the package to take the census of that version.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if "tests" not in sys.modules or not hasattr(sys.modules["tests"], "_fuzz"):
    package = types.ModuleType("tests")  # the repository's tests folder, not a site package
    package.__path__ = [str(ROOT / "tests")]
    sys.modules["tests"] = package


def _worker(conn) -> None:
    from tests.neighbors._fuzz_cases import run_case

    while True:
        job = conn.recv()
        if job is None:
            return
        conn.send(run_case(*job))


def _census(cases, timeout: float, workers: int):
    ctx = mp.get_context("spawn")
    results = [None] * len(cases)
    queue = collections.deque(range(len(cases)))
    pool = []  # [process, connection, case index or None, start time]

    def start():
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_worker, args=(child,), daemon=True)
        process.start()
        return [process, parent, None, 0.0]

    pool = [start() for _ in range(workers)]
    while queue or any(slot[2] is not None for slot in pool):
        for i, slot in enumerate(pool):
            process, conn, current, started = slot
            if current is None:
                if queue:
                    slot[2] = queue.popleft()
                    slot[3] = time.monotonic()
                    conn.send(cases[slot[2]])
                continue
            if conn.poll(0.01):
                try:
                    results[current] = conn.recv()
                    slot[2] = None
                    continue
                except EOFError:
                    pass
            if not process.is_alive():
                results[current] = ("crash", f"exit code {process.exitcode}")
                pool[i] = start()
            elif time.monotonic() - started > timeout:
                process.kill()
                results[current] = ("hang", f"over {timeout} s")
                pool[i] = start()
    for process, conn, _, _ in pool:
        conn.send(None)
        process.join(5)
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    from tests.neighbors._fuzz_cases import catalogue

    cases = catalogue(args.per_kind, args.seed)
    started = time.perf_counter()
    results = _census(cases, args.timeout, args.workers)
    import sparsenum

    print(f"sparsenum from {Path(sparsenum.__file__).parent}; {len(cases)} cases in "
          f"{time.perf_counter() - started:.0f} s")
    kinds = ("clean", "ok", "wrong-error", "silent", "crash", "hang", "n/a")
    by_case = collections.defaultdict(collections.Counter)
    for (name, _, _), (outcome, _) in zip(cases, results):
        by_case[name][outcome] += 1
    print("| case | " + " | ".join(kinds) + " |")
    print("|---" * (len(kinds) + 1) + "|")
    total = collections.Counter()
    for name, counts in by_case.items():
        total.update(counts)
        print(f"| {name} | " + " | ".join(str(counts[k]) for k in kinds) + " |")
    print("| **all** | " + " | ".join(str(total[k]) for k in kinds) + " |")
    print("\nexamples of each failure:")
    shown = collections.Counter()
    for (name, cargs, _), (outcome, detail) in zip(cases, results):
        if outcome in ("wrong-error", "silent", "crash", "hang") and shown[name, outcome] < 2:
            shown[name, outcome] += 1
            print(f"  {outcome:11s} {name}{cargs}: {detail}")


if __name__ == "__main__":
    main()
