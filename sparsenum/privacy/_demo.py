"""Demo of sparsenum.privacy: LDP-IHT against the non-private fit on generated data."""

from __future__ import annotations

import time

import numpy as np

from ..utils import DemoRow
from ._cases import sparse_problem
from ._solvers import hard_threshold


def run_demo(out_dir) -> list[DemoRow]:
    from . import ldp_iht

    n, d, k = 200_000, 20, 3
    X, y, theta = sparse_problem(n, d, k=k, seed=0)
    problem = f"sparse regression n={n}, d={d}, k={k}, noise 0.1"
    accuracy_name = "||theta - theta*||_2"
    start = time.perf_counter()
    lstsq = np.linalg.lstsq(X, y, rcond=None)[0]
    support = np.flatnonzero(hard_threshold(lstsq, k))
    refit = np.zeros(d)
    refit[support] = np.linalg.lstsq(X[:, support], y, rcond=None)[0]
    t_ref = time.perf_counter() - start
    rows = [DemoRow(problem=problem, solver="non-private top-k least squares (reference)",
                    time=t_ref, n_iter=None, accuracy=float(np.linalg.norm(refit - theta)),
                    accuracy_name=accuracy_name, reference="numpy.linalg.lstsq"),
            DemoRow(problem=problem, solver="theta = 0 (trivial)", time=0.0, n_iter=None,
                    accuracy=float(np.linalg.norm(theta)), accuracy_name=accuracy_name,
                    reference="numpy.linalg.lstsq")]
    ldp_iht(X[:1000], y[:1000], 1.0, k, random_state=0)  # compile before timing
    for epsilon in (1.0, 4.0):
        start = time.perf_counter()
        fit = ldp_iht(X, y, epsilon, k, random_state=0)
        elapsed = time.perf_counter() - start
        rows.append(DemoRow(problem=problem, solver=f"ldp_iht epsilon={epsilon:g}",
                            time=elapsed, n_iter=fit.n_iter,
                            accuracy=float(np.linalg.norm(fit.coef - theta)),
                            accuracy_name=accuracy_name, reference="numpy.linalg.lstsq",
                            history=fit.history))
    return rows
