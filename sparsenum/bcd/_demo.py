"""The bcd module's demo: each solver against a reference nobody here wrote (scikit-learn,
liblinear, numpy's lstsq, scipy's spsolve), on generated data."""

from __future__ import annotations

import time
import warnings

import numpy as np

from sparsenum.utils import DemoRow


def run_demo(out_dir):
    """Lasso and L1-logistic against scikit-learn, greedy rules on least squares, message passing
    on two moons."""
    from scipy.sparse.linalg import spsolve
    from sklearn.datasets import make_moons
    from sklearn.linear_model import Lasso
    from sklearn.neighbors import kneighbors_graph

    from . import LabelPropagationProblem, LeastSquares, block_coordinate_descent, solve_lasso

    rows = []
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 1000))
    X[:, 1:] = 0.5 * X[:, :-1] + np.sqrt(0.75) * X[:, 1:]
    w = np.zeros(1000)
    w[rng.choice(1000, 20, replace=False)] = rng.standard_normal(20)
    y = X @ w + 0.1 * rng.standard_normal(300)
    alpha = 0.05 * np.abs(X.T @ y).max() / 300
    solve_lasso(X, y, alpha, tol=1e-10)  # compile
    start = time.perf_counter()
    res = solve_lasso(X, y, alpha, tol=1e-10)
    elapsed = time.perf_counter() - start
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100000).fit(X, y).coef_
    rows.append(DemoRow(problem="Lasso 300x1000 correlated, alpha=0.05 alpha_max",
                        solver="solve_lasso (working set + active-set Newton)", time=elapsed,
                        n_iter=res.n_iter, accuracy=float(np.abs(res.coef - ref).max()),
                        accuracy_name="max |coef - sklearn coef|",
                        reference="sklearn Lasso tol=1e-12", history=res.history))

    # L1-logistic regression, certified by its duality gap, against liblinear's objective
    from sklearn.linear_model import LogisticRegression

    from . import solve_l1_logistic

    Xl = X[:, :300]
    yl = np.where(Xl @ w[:300] + 0.1 * rng.standard_normal(300) > 0, 1.0, -1.0)
    lam = 0.05 * np.abs(Xl.T @ yl).max() / 2
    solve_l1_logistic(Xl, yl, lam, tol=1e-10)  # compile
    start = time.perf_counter()
    res = solve_l1_logistic(Xl, yl, lam, tol=1e-10)
    elapsed = time.perf_counter() - start
    with warnings.catch_warnings():  # liblinear's own warnings are not ours to show
        warnings.simplefilter("ignore")
        ref = LogisticRegression(penalty="l1", C=1.0 / lam, solver="liblinear",
                                 fit_intercept=False, tol=1e-10, max_iter=10000).fit(Xl, yl)
    ref = ref.coef_.ravel()

    def objective(coef):
        return np.logaddexp(0.0, -yl * (Xl @ coef)).sum() + lam * np.abs(coef).sum()

    rows.append(DemoRow(problem="L1-logistic 300x300 correlated, lambda=0.05 lambda_max",
                        solver="solve_l1_logistic (working set + proximal Newton)", time=elapsed,
                        n_iter=res.n_iter, accuracy=float(objective(res.coef) - objective(ref)),
                        accuracy_name="objective - liblinear objective",
                        reference="sklearn liblinear tol=1e-10", history=res.history))

    A = rng.standard_normal((200, 100))
    A *= 10 * rng.standard_normal(100)  # very different column scales: where GSL shines
    b = rng.standard_normal(200)
    x_ls = np.linalg.lstsq(A, b, rcond=None)[0]
    for selection in ("cyclic", "gsl"):
        start = time.perf_counter()
        res = block_coordinate_descent(LeastSquares(A, b), partition="sort", selection=selection,
                                       update="matrix", block_size=5, tol=1e-6, max_iter=5000)
        rows.append(DemoRow(problem="least squares 200x100, scaled columns, blocks of 5",
                            solver=f"BCD {selection} + matrix update",
                            time=time.perf_counter() - start, n_iter=res.n_iter,
                            accuracy=float(np.abs(res.x - x_ls).max()),
                            accuracy_name="max |x - lstsq|", reference="numpy.linalg.lstsq",
                            history=res.history))

    Xm, ym = make_moons(300, noise=0.05, random_state=0)
    W = kneighbors_graph(Xm, 8, mode="connectivity")
    W = W.maximum(W.T)
    labelled = np.zeros(300, bool)
    labelled[rng.choice(300, 20, replace=False)] = True
    problem = LabelPropagationProblem(W, (ym == 1).astype(float), labelled)
    exact = spsolve(problem.Q.tocsc(), problem.c)
    for update, partition in (("message_passing", "forest"), ("exact", "variable")):
        start = time.perf_counter()
        res = block_coordinate_descent(problem, partition=partition, selection="gsl",
                                       update=update, block_size=100, tol=1e-6, max_iter=3000)
        rows.append(DemoRow(problem="label propagation, two moons 300 nodes, 8-NN",
                            solver=f"BCD gsl + {update} ({partition} blocks of <= 100)",
                            time=time.perf_counter() - start, n_iter=res.n_iter,
                            accuracy=float(np.abs(res.x - exact).max()),
                            accuracy_name="max |x - spsolve|", reference="scipy spsolve",
                            history=res.history))
    return rows
