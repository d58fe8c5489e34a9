"""Small problems for the common tests and the warm-up of sparsenum.privacy."""

from __future__ import annotations

import numpy as np

from ..utils.registry import EasyFit, SolverCase


def sparse_problem(n, d, k=2, noise=0.1, seed=0):
    """Standard normal features, ``k`` coefficients of +-1/sqrt(k), Gaussian noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    theta = np.zeros(d)
    theta[:k] = np.where(np.arange(k) % 2 == 0, 1.0, -1.0) / np.sqrt(k)
    y = X @ theta + noise * rng.standard_normal(n)
    return X, y, theta


def warm_up():
    from . import duchi_randomizer, ldp_iht, nldp_regression, nldp_reports

    X, y, _ = sparse_problem(200, 4)
    duchi_randomizer(X, 1.0, 1.0, random_state=0)
    ldp_iht(X, y, 1.0, 2, random_state=0)
    for aggregate in (True, False):
        for mechanism in ("gaussian", "laplace"):
            reports = nldp_reports(X, y, 1.0, mechanism=mechanism, aggregate=aggregate,
                                   random_state=0)
            nldp_regression(reports, alpha=0.1)
    nldp_reports(X, y, 1.0, split=0.0, random_state=0)


def solver_cases():
    from . import ldp_iht, nldp_regression, nldp_reports

    X, y, _ = sparse_problem(3000, 6)

    def last_change(result):
        return float(np.linalg.norm(result.coef - result.coef_path[-2]))

    return [
        SolverCase(name="ldp_iht 3000x6", run=lambda: ldp_iht(X, y, 2.0, 2, random_state=0),
                   criterion=last_change),
        SolverCase(name="nldp_regression 3000x6 alpha",
                   run=lambda: nldp_regression(nldp_reports(X, y, 4.0, random_state=0),
                                               alpha=0.05),
                   criterion=last_change),
        SolverCase(name="nldp_regression 3000x6 public",
                   run=lambda: nldp_regression(nldp_reports(X, y, 4.0, split=0.0,
                                                            random_state=0),
                                               n_nonzero=2, public_X=X[:500]),
                   criterion=last_change),
    ]


def easy_fits():
    from .estimators import LDPSparseRegression

    X, y, _ = sparse_problem(50_000, 8)
    return [EasyFit(name="LDPSparseRegression iht", estimator=LDPSparseRegression(), X=X, y=y),
            EasyFit(name="LDPSparseRegression nldp", estimator=LDPSparseRegression(method="nldp"),
                    X=X, y=y)]
