"""Small problems for the common tests and the warm-up of sparsenum.bcd.

The criteria of the solver cases are recomputed from the returned solution with the public gap
functions (or, for the generic driver, from the gradient written out in numpy), independently
of the solvers' own bookkeeping.
"""

from __future__ import annotations

import numpy as np


def _regression(n=40, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    w[:3] = (1.5, -2.0, 1.0)
    return X, X @ w + 0.1 * rng.standard_normal(n) + 0.5


def warm_up():
    """Compile (or load) every kernel a first-time user of the module meets."""
    import scipy.sparse as sp

    from . import (
        LabelPropagationProblem,
        LeastSquares,
        block_coordinate_descent,
        solve_l1_logistic,
        solve_lasso,
    )

    X, y = _regression(20, 10)
    solve_lasso(X, y, 0.1)
    solve_lasso(sp.csc_matrix(X), y, 0.1, fit_intercept=True)
    solve_l1_logistic(X, np.sign(y - y.mean()), 0.1)
    block_coordinate_descent(LeastSquares(X, y, l1=0.1), update="matrix", block_size=4,
                             max_iter=5)
    path = np.zeros((6, 6))
    path[np.arange(5), np.arange(1, 6)] = path[np.arange(1, 6), np.arange(5)] = 1.0
    labelled = np.zeros(6, bool)
    labelled[[0, 5]] = True
    problem = LabelPropagationProblem(path, np.r_[1.0, 0, 0, 0, 0, -1.0], labelled)
    for update, partition in (("exact", "variable"), ("message_passing", "forest")):
        block_coordinate_descent(problem, partition=partition, update=update, block_size=4,
                                 max_iter=5)


def solver_cases():
    import scipy.sparse as sp

    from sparsenum.utils.registry import SolverCase

    from . import (
        LeastSquares,
        block_coordinate_descent,
        l1_logistic_duality_gap,
        lasso_duality_gap,
        solve_l1_logistic,
        solve_lasso,
    )

    X, y = _regression()
    Xs = sp.csc_matrix(np.where(np.abs(X) > 0.7, X, 0.0))
    alpha = 0.1
    labels = np.where(X[:, 0] - X[:, 1] + 0.3 * X[:, 2] > 0, 1.0, -1.0)
    tol = 1e-10
    lasso_scale = float((y - y.mean()) @ (y - y.mean())) / y.shape[0]

    def lasso_gap(X, fit_intercept):
        def criterion(result):
            return lasso_duality_gap(X, y, result.coef, alpha, intercept=result.intercept)[0]
        return criterion

    def lsq_gradient(A, b):
        def criterion(result):
            return float(np.abs(A.T @ (A @ result.x - b)).max())
        return criterion

    return [
        SolverCase(name="bcd block_coordinate_descent least squares gsl+matrix",
                   run=lambda: block_coordinate_descent(LeastSquares(X, y), partition="sort",
                                                        selection="gsl", update="matrix",
                                                        block_size=4, tol=1e-9),
                   criterion=lsq_gradient(X, y), rtol=1e-5, atol=1e-11, tol=1e-9),
        SolverCase(name="bcd block_coordinate_descent least squares tol=0",
                   run=lambda: block_coordinate_descent(LeastSquares(X, y), tol=0.0,
                                                        max_iter=10**9),
                   criterion=lsq_gradient(X, y), rtol=1e-2, atol=1e-12),
        SolverCase(name="bcd solve_lasso dense", run=lambda: solve_lasso(X, y, alpha, tol=tol),
                   criterion=lasso_gap(X, False), rtol=1e-6, atol=1e-14,
                   tol=tol * float(y @ y) / y.shape[0]),
        SolverCase(name="bcd solve_lasso sparse with intercept",
                   run=lambda: solve_lasso(Xs, y, alpha, fit_intercept=True, tol=tol),
                   criterion=lasso_gap(Xs, True), rtol=1e-6, atol=1e-14,
                   tol=tol * lasso_scale),
        SolverCase(name="bcd solve_lasso tol=0 positive",
                   run=lambda: solve_lasso(X, y, alpha, positive=True, tol=0.0),
                   criterion=lambda r: lasso_duality_gap(X, y, r.coef, alpha, positive=True)[0],
                   rtol=1.0, atol=1e-13),
        SolverCase(name="bcd solve_lasso cvxpy reference",
                   run=lambda: solve_lasso(X, y, alpha, solver="cvxpy"),
                   criterion=lasso_gap(X, False), rtol=1e-6, atol=1e-12),
        SolverCase(name="bcd solve_l1_logistic",
                   run=lambda: solve_l1_logistic(X, labels, 2.0, tol=tol),
                   criterion=lambda r: l1_logistic_duality_gap(X, labels, r.coef, 2.0)[0],
                   rtol=1e-6, atol=1e-12, tol=tol * X.shape[0] * np.log(2.0)),
    ]


def easy_fits():
    from sklearn.datasets import make_classification, make_moons

    from sparsenum.utils.registry import EasyFit

    from . import BCDLabelPropagation, BCDLasso, BCDLogisticRegression

    X, y = _regression(200, 20, seed=1)
    Xc, yc = make_classification(200, 10, n_informative=4, random_state=0)
    Xm, ym = make_moons(200, noise=0.05, random_state=0)
    partial = np.full(200, -1)
    partial[::10] = ym[::10]
    return [
        EasyFit(name="bcd BCDLasso", estimator=BCDLasso(), X=X, y=y),
        EasyFit(name="bcd BCDLogisticRegression", estimator=BCDLogisticRegression(), X=Xc,
                y=yc),
        EasyFit(name="bcd BCDLogisticRegression multinomial",
                estimator=BCDLogisticRegression(), X=Xc, y=np.digitize(Xc[:, 0], [-0.5, 0.5])),
        EasyFit(name="bcd BCDLabelPropagation", estimator=BCDLabelPropagation(), X=Xm,
                y=partial),
    ]
