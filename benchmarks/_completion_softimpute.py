"""Time to a relative error of 1e-6 on a noiseless low-rank matrix: our row solvers against
fancyimpute's SoftImpute (Mazumder, Hastie & Tibshirani, 2010) on the dense NaN array.

The synthetic matrix of ``bench_completion`` (5,000 x 5,000, rank 10, 2% observed, noiseless).
Every method runs on one thread (BLAS and numba) on the same observations; its error is the
relative Frobenius error of its completion on ALL entries against the true matrix, computed
exactly (dense, block by block) after every sweep or iteration with the clocks paused. Times
are CPU seconds (``time.process_time``: on one thread the work done, which a shared machine's
load disturbs less than the wall clock, also recorded) from the call's start, initialisation
included.

* ours: ``altmin_complete(M, 10, reg=0, biases=False, solver=...)`` for each row solver, the
  error of ``U V^T`` from the callback after every sweep; the faster of two runs after a
  first call on a small matrix (which compiles).
* SoftImpute (fancyimpute, which needs scikit-learn < 1.6: its own environment, given by
  ``--fancyimpute PYTHON``) on the dense array with NaN for the missing entries, its completion
  being what ``fit_transform`` returns (observed entries kept); one run each, instrumented by a
  subclass that records the error after every iteration and stops a run after the iteration
  that ends past its CPU budget. At its defaults every iteration is a full SVD of the
  5,000 x 5,000 matrix (one iteration is run). The tuned runs use ``max_rank=10`` (a randomized
  SVD at the true rank, which we are given too): each shrinkage of a grid is probed briefly and
  the best by the true error (an oracle choice, the most favourable to SoftImpute) runs longer.

    python -m benchmarks.bench_completion --full --parts softimpute --fancyimpute PYTHON
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._harness import blas_threads
from benchmarks.bench_completion import low_rank_sparse
from sparsenum.completion import altmin_complete
from sparsenum.utils import numba_threads

SIZE, RANK, FRACTION = 5000, 10, 0.02
TARGET = 1e-6
SOLVERS = ("auto", "exact", "cg", "sketch")
#: SoftImpute's budgets in CPU seconds (``time.process_time``, which the machine's load
#: disturbs less than the wall clock): a run stops after the first iteration that ends past its
#: budget. Its default run stops after one iteration (one full SVD of the dense matrix, over a
#: minute on one thread); each shrinkage of the grid is probed for PROBE_BUDGET, and the best
#: one by the true error is run again for TUNED_BUDGET
DEFAULT_BUDGET, PROBE_BUDGET, TUNED_BUDGET = 1.0, 10.0, 90.0
#: shrinkage grid as fractions of the largest singular value of the zero-filled matrix
#: (fancyimpute's default is 1/50)
SHRINK_FRACTIONS = (1 / 50, 1 / 200, 1 / 1000, 1 / 5000)
_BLOCK = 500


def relative_error(A, B, U, V, observed=None):
    """``||X - A B^T||_F / ||A B^T||_F`` for ``X = U V^T`` (exactly, 500 rows at a time), or
    with ``observed`` (CSR of the observations) the completion that keeps them."""
    num = den = 0.0
    for lo in range(0, A.shape[0], _BLOCK):
        truth = A[lo:lo + _BLOCK] @ B.T
        diff = U[lo:lo + _BLOCK] @ V.T - truth
        if observed is not None:
            block = observed[lo:lo + _BLOCK]
            diff[block.nonzero()] = 0.0
        num += float(np.vdot(diff, diff))
        den += float(np.vdot(truth, truth))
    return float(np.sqrt(num / den))


def _time_to(times, errors, target=TARGET):
    """First time at which ``errors`` reach ``target`` (None if never)."""
    hit = np.flatnonzero(np.asarray(errors) <= target)
    return float(times[hit[0]]) if hit.size else None


def _ours(M, A, B, solver):
    """One fit with the error recorded after every sweep; ``(wall, cpu, errors, result)``."""
    paused = [0.0, 0.0]
    wall, cpu, errors = [], [], []
    start = (time.perf_counter(), time.process_time())

    def record(sweep, state):
        t0, c0 = time.perf_counter(), time.process_time()
        wall.append(t0 - start[0] - paused[0])
        cpu.append(c0 - start[1] - paused[1])
        errors.append(relative_error(A, B, state["row_factors"], state["col_factors"]))
        paused[0] += time.perf_counter() - t0
        paused[1] += time.process_time() - c0
        return errors[-1] <= 1e-9  # far below the target: the rest is the floor

    result = altmin_complete(M, RANK, reg=0, biases=False, solver=solver, tol=1e-12,
                             n_sweeps=200, random_state=0, n_jobs=1, callback=record)
    return np.array(wall), np.array(cpu), np.array(errors), result


_FANCY = r"""
import json, sys, time, numpy as np
from fancyimpute import SoftImpute
data = np.load(sys.argv[1]); A, B = data["A"], data["B"]
r, c, v = data["rows"], data["cols"], data["vals"]
m, n = A.shape[0], B.shape[0]
X = np.full((m, n), np.nan); X[r, c] = v
truth_sq = sum(float(np.vdot(T, T)) for T in (A[lo:lo + 500] @ B.T for lo in range(0, m, 500)))
default_budget, probe_budget, tuned_budget = (float(a) for a in sys.argv[2:5])


class Timed(SoftImpute):
    def start(self, budget):
        self.budget, self.paused, self.trace = budget, [0.0, 0.0], []
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def _converged(self, X_old, X_new, missing_mask):
        t, cpu = time.perf_counter(), time.process_time()
        wall, used = t - self.t0 - self.paused[0], cpu - self.c0 - self.paused[1]
        num = 0.0  # the completion keeps the observed entries: error on the missing ones
        for lo in range(0, m, 500):
            D = X_new[lo:lo + 500] - A[lo:lo + 500] @ B.T
            D[~missing_mask[lo:lo + 500]] = 0.0
            num += float(np.vdot(D, D))
        self.trace.append((wall, used, float(np.sqrt(num / truth_sq))))
        self.paused[0] += time.perf_counter() - t
        self.paused[1] += time.process_time() - cpu
        return super()._converged(X_old, X_new, missing_mask) or used > self.budget


def run(label, budget, **kwargs):
    model = Timed(verbose=False, **kwargs)
    model.start(budget)
    model.fit_transform(X.copy())
    return {"label": label, "trace": model.trace, "sigma_1": sigma}


def tuned(frac, budget, note):
    return run(f"max_rank=10, shrinkage=sigma_1/{round(1 / frac)}{note}", budget, max_rank=10,
               shrinkage_value=sigma * frac, convergence_threshold=1e-9, max_iters=100000)


sigma = Timed(verbose=False)._max_singular_value(np.nan_to_num(X))
out = [run("defaults", default_budget)]
probes = {frac: tuned(frac, probe_budget, f", probe ({probe_budget:g} CPU-s)")
          for frac in json.loads(sys.argv[5])}
out += list(probes.values())
best = min(probes, key=lambda frac: probes[frac]["trace"][-1][2])
out.append(tuned(best, tuned_budget, f", best probe ({tuned_budget:g} CPU-s)"))
print(json.dumps(out))
"""


def _softimpute(python, M, A, B):
    """SoftImpute's runs in their own environment; a list of ``{label, trace}``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "problem.npz"
        coo = M.tocoo()
        np.savez(path, A=A, B=B, rows=coo.row, cols=coo.col, vals=coo.data)
        env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PATH": "/usr/bin:/bin"}
        done = subprocess.run([python, "-c", _FANCY, str(path), str(DEFAULT_BUDGET),
                               str(PROBE_BUDGET), str(TUNED_BUDGET),
                               json.dumps(SHRINK_FRACTIONS)],
                              capture_output=True, text=True, env=env)
    if done.returncode:
        print("  fancyimpute failed:", done.stderr[-800:])
        return []
    return json.loads(done.stdout.strip().splitlines()[-1])


def _add(report, problem, label, wall, cpu, errors, ours=False, curve=None, **extra):
    """A row (CPU seconds to the target, or to the end when it is not reached) and, under the
    short label ``curve``, a curve."""
    reached = _time_to(cpu, errors)
    report.add(problem, label + ("" if reached is not None else f" ({TARGET:g} not reached)"),
               reached if reached is not None else float(cpu[-1]), n_iter=len(errors),
               ours=ours, wall_seconds=_time_to(wall, errors) if reached is not None
               else float(wall[-1]), final_error=float(errors[-1]),
               final_cpu_seconds=float(cpu[-1]), **extra)
    if curve is None:
        return
    report.add_curve("softimpute error vs time", curve, cpu, errors,
                     xlabel="CPU time, one thread [s]",
                     ylabel="relative Frobenius error (all entries)")


def softimpute(report, args, threads):
    """The rows and the error-against-time plot; ``threads`` is ignored: one thread each."""
    M, A, B = low_rank_sparse(SIZE, SIZE, RANK, FRACTION)
    problem = (f"{SIZE}x{SIZE} rank {RANK}, {M.nnz} observed, noiseless: CPU seconds to "
               f"relative error {TARGET:g}, one thread")
    with blas_threads(1), numba_threads(1):
        for solver in SOLVERS:
            _ours(M[:300, :300].tocsr(), A[:300], B[:300], solver)  # compile apart
            runs = [_ours(M, A, B, solver) for _ in range(2)]
            wall, cpu, errors, result = min(runs, key=lambda run: run[1][-1])
            _add(report, problem, f"altmin_complete {solver}", wall, cpu, errors,
                 ours=solver == "auto", curve=f"ours, {solver}",
                 sketch_rows=result.solver_rows["sketch"],
                 cg_rows=result.solver_rows["cg"])
    if not args.fancyimpute:
        print("  (SoftImpute skipped: give --fancyimpute PYTHON of an environment with "
              "fancyimpute and scikit-learn < 1.6)")
        return
    for run in _softimpute(args.fancyimpute, M, A, B):
        wall, cpu, errors = (np.array(x) for x in zip(*run["trace"]))
        label = run["label"]
        curve = ("SoftImpute, defaults" if label == "defaults" else None if ", probe (" in label
                 else "SoftImpute, " + label.split(", best")[0].replace("shrinkage=", ""))
        _add(report, problem, f"fancyimpute SoftImpute {label} (dense, own venv)",
             wall, cpu, errors, curve=curve, sigma_1=run["sigma_1"])
