"""The ``solver="cvxpy"`` reference path of :func:`~sparsenum.bcd.solve_lasso` and
:func:`~sparsenum.bcd.solve_l1_logistic` (private).

The same convex problems handed to cvxpy (Diamond & Boyd, JMLR 2016), which reformulates them
as cone programs for an interior-point solver (Clarabel by default): code nobody here wrote,
with its own optimality certificate. It is slow next to the working-set solvers and meant for
small problems where a user wants an independent answer. cvxpy is imported on first use.
"""

from __future__ import annotations

import numpy as np

__all__ = ["l1_logistic_cvxpy", "lasso_cvxpy"]


def _solve(objective, constraints=()):
    import cvxpy as cp  # lazy: only the reference path needs it

    problem = cp.Problem(cp.Minimize(objective), list(constraints))
    try:
        problem.solve()
    except cp.error.SolverError as exc:
        raise RuntimeError(f"cvxpy's solver failed on this problem: {exc}") from exc
    stats = problem.solver_stats
    n_iter = int(stats.num_iters) if stats is not None and stats.num_iters is not None else 0
    return problem.status, n_iter


def lasso_cvxpy(X, y, alpha, fit_intercept, positive):
    """``(coef, intercept, status, n_iter)`` of ``1/(2n) ||y - Xw - b||^2 + alpha ||w||_1``."""
    import cvxpy as cp

    n, d = X.shape
    w = cp.Variable(d, nonneg=positive)
    b = cp.Variable() if fit_intercept else 0.0
    residual = y - X @ w - b
    status, n_iter = _solve(cp.sum_squares(residual) / (2.0 * n) + alpha * cp.norm1(w))
    coef = np.zeros(d) if w.value is None else np.asarray(w.value, dtype=np.float64)
    if positive:
        coef = np.maximum(coef, 0.0)  # interior points may sit 1e-12 below the bound
    intercept = float(b.value) if fit_intercept and b.value is not None else 0.0
    return coef, intercept, status, n_iter


def l1_logistic_cvxpy(X, y, lam):
    """``(coef, status, n_iter)`` of ``sum_i log(1 + exp(-y_i x_i'w)) + lam ||w||_1``."""
    import cvxpy as cp

    w = cp.Variable(X.shape[1])
    loss = cp.sum(cp.logistic(-cp.multiply(y, X @ w)))
    status, n_iter = _solve(loss + lam * cp.norm1(w))
    coef = np.zeros(X.shape[1]) if w.value is None else np.asarray(w.value, dtype=np.float64)
    return coef, status, n_iter
