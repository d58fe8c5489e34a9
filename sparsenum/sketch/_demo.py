"""The sketch module's demo: tall least squares against numpy.linalg.lstsq."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..utils import DemoRow, numba_threads


def run_demo(out_dir: Path) -> list[DemoRow]:
    """Tall least squares (n=50000, d=100, condition number 1e6) against numpy.linalg.lstsq.

    Everything runs on one BLAS and one numba thread, the same for the reference and for us, so
    the comparison is fair on a shared machine (see benchmarks/bench_sketch.py).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1), numba_threads(1):
        return _demo_rows()


def _demo_rows() -> list[DemoRow]:
    from . import linf_error_bound, sketch_and_precondition, sketch_and_solve

    rng = np.random.default_rng(0)
    n, d = 50_000, 100
    A = rng.standard_normal((n, d)) * np.logspace(0, 6, d)
    x_true = rng.standard_normal(d)
    b = A @ x_true + rng.standard_normal(n)
    problem = f"tall lstsq n={n}, d={d}, cond 1e6"
    start = time.perf_counter()
    x_ref, *_ = np.linalg.lstsq(A, b, rcond=None)
    t_ref = time.perf_counter() - start
    ref_residual = np.linalg.norm(A @ x_ref - b)
    rows = [DemoRow(problem=problem, solver="numpy.linalg.lstsq (reference)", time=t_ref,
                    n_iter=None, accuracy=0.0, accuracy_name="|res - res_lstsq| / ||b||",
                    reference="numpy.linalg.lstsq")]
    sketch_and_precondition(A[:1000], b[:1000], random_state=0)  # compile before timing
    start = time.perf_counter()
    res = sketch_and_precondition(A, b, random_state=0)
    elapsed = time.perf_counter() - start
    rows.append(DemoRow(problem=problem, solver="sketch_and_precondition (sparse_sign)",
                        time=elapsed, n_iter=res.n_iter,
                        accuracy=abs(res.residual_norm - ref_residual) / np.linalg.norm(b),
                        accuracy_name="|res - res_lstsq| / ||b||",
                        reference="numpy.linalg.lstsq", history=res.history))
    bound = linf_error_bound(A[:20_000], b[:20_000], eps=1.0)
    x_sub = np.linalg.lstsq(A[:20_000], b[:20_000], rcond=None)[0]
    for sketch in ("srht", "countsketch"):
        sketch_and_solve(A[:1000], b[:1000], sketch=sketch, sketch_size=400, random_state=0)
        start = time.perf_counter()
        res = sketch_and_solve(A[:20_000], b[:20_000], sketch=sketch, sketch_size=2000,
                               random_state=0)
        elapsed = time.perf_counter() - start
        rows.append(DemoRow(problem="n=20000, d=100, m=2000", solver=f"sketch_and_solve ({sketch})",
                            time=elapsed, n_iter=0,
                            accuracy=float(np.abs(res.coef - x_sub).max() / bound),
                            accuracy_name="||x - x*||_inf / l_inf bound(eps=1)",
                            reference="numpy.linalg.lstsq"))
    return rows
