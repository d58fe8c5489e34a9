"""Small problems for the common tests, the warm-up and the easy fits of sparsenum.completion."""

from __future__ import annotations

import numpy as np


def low_rank(m, n, rank, fraction, *, noise=0.0, seed=0):
    """``(X, M)``: a Gaussian rank-``rank`` matrix and its NaN-masked observed part."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    observed = rng.random((m, n)) < fraction
    noisy = X + noise * rng.standard_normal((m, n))
    return X, np.where(observed, noisy, np.nan)


def ratings(n_rows, n_cols, n_ratings, *, rank=2, seed=0):
    """``(ids, values)``: distinct ``(row, col)`` pairs rated from biases and a low-rank part."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(n_rows * n_cols, size=n_ratings, replace=False)
    rows, cols = flat // n_cols, flat % n_cols
    U = rng.standard_normal((n_rows, rank)) * 0.5
    V = rng.standard_normal((n_cols, rank)) * 0.5
    values = (3.0 + rng.normal(0, 0.5, n_rows)[rows] + rng.normal(0, 0.5, n_cols)[cols]
              + np.einsum("ij,ij->i", U[rows], V[cols]) + rng.normal(0, 0.1, n_ratings))
    return np.column_stack([rows, cols]), values


def warm_up():
    """Every kernel once on tiny inputs: the exact-only row kernel (the defaults on small
    problems) and the kernel holding all three row solvers."""
    from . import altmin_complete

    _, M = low_rank(12, 10, 2, 0.6)
    altmin_complete(M, 2, n_sweeps=2, random_state=0)
    altmin_complete(M, 2, reg=0.1, bias_reg=1.0, solver="cg", n_sweeps=2, random_state=0)
    altmin_complete(M, 2, reg=0, biases=False, solver="sketch", n_sweeps=2, random_state=0)


def _relative_change_case(**kwargs):
    """A case whose criterion, the relative change of the last sweep, is recomputed from the
    returned fit and a second run stopped one sweep earlier (the runs are deterministic)."""
    from sparsenum.utils.registry import SolverCase

    from . import altmin_complete

    _, M = low_rank(40, 30, 2, 0.5, noise=0.01, seed=1)
    observed = ~np.isnan(M)
    rows, cols = np.nonzero(observed)

    def run(n_sweeps=25):
        return altmin_complete(M, 2, n_sweeps=n_sweeps, tol=1e-7, random_state=0, **kwargs)

    def criterion(result):
        if result.n_iter < 2:
            return float(result.history.criterion[-1])
        before = run(result.n_iter - 1)
        now, then = result.predict(rows, cols), before.predict(rows, cols)
        return float(np.linalg.norm(now - then) / np.linalg.norm(now))

    name = "altmin_complete " + ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return SolverCase(name=name, run=run, criterion=criterion, rtol=1e-6, atol=1e-12, tol=1e-7)


def solver_cases():
    return [
        _relative_change_case(reg=0.05, bias_reg=1.0, solver="exact"),
        _relative_change_case(reg=0.05, bias_reg=1.0, solver="sketch"),
        _relative_change_case(reg=0.0, biases=False, solver="cg"),
        _relative_change_case(),
    ]


def easy_fits():
    from sparsenum.utils.registry import EasyFit

    from . import AltMinImputer, AltMinRatingsRegressor

    _, M = low_rank(80, 30, 10, 0.7, noise=0.01, seed=2)
    ids, values = ratings(60, 40, 2000, rank=10, seed=3)
    return [EasyFit(name="AltMinImputer defaults", estimator=AltMinImputer(random_state=0), X=M),
            EasyFit(name="AltMinRatingsRegressor defaults",
                    estimator=AltMinRatingsRegressor(random_state=0), X=ids, y=values)]
