"""Demo of sparsenum.bayes: the Turbo-VBI papers' standard experiment at 20 dB against
scikit-learn's ARDRegression."""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..utils import DemoRow
from ._cases import clustered_problem

_SEEDS = 20


def _nmse_db(estimates, truths) -> float:
    ratios = [np.sum(np.abs(e - x) ** 2) / np.sum(np.abs(x) ** 2)
              for e, x in zip(estimates, truths)]
    return float(10.0 * np.log10(np.mean(ratios)))


def run_demo(out_dir) -> list[DemoRow]:
    """Two clusters of 5 among N = 100 coefficients, M = 40 Gaussian measurements, 20 dB SNR,
    20 seeds, one BLAS thread for everyone; accuracy is the mean NMSE (dB) over the seeds."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ARDRegression
    from threadpoolctl import threadpool_limits

    from . import sparse_bayesian_learning, turbo_vbi

    problems = [clustered_problem(seed, snr_db=20.0) for seed in range(_SEEDS)]
    truths = [p[2] for p in problems]
    solvers = [
        ("scikit-learn ARDRegression (reference)",
         lambda A, y: ARDRegression(fit_intercept=False).fit(A, y).coef_),
        ("sparse_bayesian_learning, MacKay", lambda A, y: sparse_bayesian_learning(
            A, y, update="mackay")),
        ("sparse_bayesian_learning, PC-SBL coupling=1",
         lambda A, y: sparse_bayesian_learning(A, y, coupling=1.0)),
        ("turbo_vbi, chain support", lambda A, y: turbo_vbi(A, y, random_state=0)),
    ]
    problem = f"2 clusters of 5 in N=100, M=40, 20 dB, {_SEEDS} seeds"
    rows = []
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        turbo_vbi(*problems[0][:2], max_iter=5)  # compile outside the timing
        for name, solve in solvers:
            start = time.perf_counter()
            outputs = [solve(A, y) for A, y, _, _ in problems]
            elapsed = time.perf_counter() - start
            results = [o for o in outputs if not isinstance(o, np.ndarray)]
            coefs = [o if isinstance(o, np.ndarray) else o.coef for o in outputs]
            rows.append(DemoRow(
                problem=problem, solver=name, time=elapsed,
                n_iter=int(np.median([r.n_iter for r in results])) if results else None,
                accuracy=_nmse_db(coefs, truths), accuracy_name="mean NMSE [dB]",
                reference="scikit-learn ARDRegression",
                history=results[0].history if results else None))
    return rows
