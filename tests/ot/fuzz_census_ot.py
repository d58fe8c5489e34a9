"""Count how sparsenum.ot answers every hostile case of ``fuzz_cases_ot`` (not a test).

Each case runs in a worker process, so a crash or a hang is counted rather than fatal; a case
that exceeds ``--timeout`` seconds is a hang (the worker is killed and replaced), one that takes
more than ``--slow`` seconds is counted as slow. Run from the repository root::

    python tests/ot/fuzz_census_ot.py [--source DIR] [--json OUT]

``--source`` is the folder whose ``sparsenum`` is imported (another checkout, to compare).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))


def _worker():
    sys.path.insert(0, HERE)
    import fuzz_cases_ot as fc

    import sparsenum.ot  # noqa: F401 - import (and compile on first use) before timing

    all_cases = fc.cases()
    answer = sys.stdout
    print("ready", file=answer, flush=True)
    for line in sys.stdin:
        index = int(line)
        case = all_cases[index]
        start = time.perf_counter()
        # the calls' own output (verbose) must not mix with the answers
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            category, detail = fc.judge(case, lambda case=case: fc.call(case))
        elapsed = time.perf_counter() - start
        print(json.dumps({"index": index, "category": category, "detail": detail,
                          "seconds": elapsed}), file=answer, flush=True)


class _Worker:
    def __init__(self, source):
        env = dict(os.environ, PYTHONPATH=source, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], cwd=source,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self._readline(600)

    def _readline(self, timeout):
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            return None
        return self.proc.stdout.readline()

    def run(self, index, timeout):
        self.proc.stdin.write(f"{index}\n")
        self.proc.stdin.flush()
        line = self._readline(timeout)
        if line is None:
            return {"category": "hang", "detail": f"no answer in {timeout} s"}
        if not line:
            return {"category": "crash", "detail": f"worker died (code {self.proc.wait()})"}
        return json.loads(line)

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--source", default=os.getcwd())
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--slow", type=float, default=5.0)
    parser.add_argument("--json", default=None)
    parser.add_argument("--old-api-only", action="store_true",
                        help="skip cases of what is new (emd, verbose, callback)")
    args = parser.parse_args()
    if args.worker:
        _worker()
        return
    sys.path.insert(0, HERE)
    import fuzz_cases_ot as fc

    all_cases = fc.cases()
    worker = _Worker(args.source)
    results = []
    for index, case in enumerate(all_cases):
        if args.old_api_only and case.new_api:
            continue
        out = worker.run(index, args.timeout)
        if out["category"] in ("hang", "crash"):
            worker.kill()
            worker = _Worker(args.source)
        elif out.get("seconds", 0.0) > args.slow:
            out["detail"] = f"slow ({out['seconds']:.1f} s); " + out["detail"]
            out["slow"] = True
        results.append({"case": case.name, "expect": case.expect, "new_api": case.new_api,
                        **out})
        if out["category"] not in ("clean", "honest") or out.get("slow"):
            print(f"{out['category']:10s} {case.name}: {out['detail']}", flush=True)
    worker.kill()
    counts = collections.Counter(r["category"] for r in results)
    slow = sum(bool(r.get("slow")) for r in results)
    summary = {"cases": len(results), **{k: counts.get(k, 0) for k in
               ("clean", "honest", "unnamed", "wrong_type", "silent", "crash", "hang")},
               "slow": slow}
    print(json.dumps(summary))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"summary": summary, "results": results}, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
