"""Sparsity-constrained optimal transport (Liu, Puigcerver, Blondel, ICLR 2023)."""

from __future__ import annotations

import time

import numpy as np
import scipy.optimize
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..base import ConvergenceHistory
from ..utils import check_int, check_one_of, numba_threads
from . import _sparse_kernels as _k
from ._result import Support, TransportResult, marginal_violation, validate_common, validate_problem

__all__ = ["sparsity_constrained_ot"]

_POLISH_TOL = 1e-12


class _Objective:
    """Negated (semi-)dual objective and gradient for scipy's minimiser, with a history."""

    def __init__(self, a, b, C, gamma, k, formulation):
        self.a, self.b, self.gamma, self.k, self.formulation = a, b, gamma, k, formulation
        self.n, self.m = C.shape
        self.Ct = np.ascontiguousarray(C.T)
        self.idx = np.zeros((self.m, k), dtype=np.int64)
        self.val = np.zeros((self.m, k))
        self.values = np.empty(self.m)
        self.theta = np.empty(self.m)
        self.rows = []  # (elapsed, objective, marginal violation)
        self.start = time.perf_counter()

    def __call__(self, x):
        a, b, n = self.a, self.b, self.n
        if self.formulation == "semi_dual":
            _k.semi_dual(x, b, self.Ct, self.gamma, self.k, self.idx, self.val,
                                 self.values, self.theta)
            obj = x @ a - self.values.sum()
            row = _k.row_sums(self.idx, self.val, n)
            grad = a - row
            err = float(np.abs(grad).sum())
        else:
            alpha, beta = x[:n], x[n:]
            _k.dual(alpha, beta, self.Ct, self.gamma, self.k, self.idx, self.val,
                            self.values)
            obj = alpha @ a + beta @ b - self.values.sum()
            row = _k.row_sums(self.idx, self.val, n)
            col = self.val.sum(axis=1)
            grad = np.concatenate([a - row, b - col])
            err = float(np.abs(grad).sum())
        self.rows.append((time.perf_counter() - self.start, obj, err))
        return -obj, -grad

    def potentials(self, x):
        """``(alpha, beta)`` with ``T_ij = [alpha_i + beta_j - c_ij]_+ / gamma`` on the support."""
        if self.formulation == "semi_dual":
            return x.copy(), -self.gamma * self.b * self.theta
        return x[: self.n].copy(), x[self.n:].copy()

    def support(self, positive_only=False):
        """(row, col) pairs of each column's top-k candidates (or only the plan's nonzeros).

        Polishing uses all k candidates of every column, not only the positive entries: the
        dual's plan is often a forest with fewer than n + m - 1 edges, on which no plan with
        both marginals exists, while the candidates keep the k-per-column limit.
        """
        keep = self.val > 0 if positive_only else np.ones(self.val.shape, dtype=bool)
        cols = np.repeat(np.arange(self.m), self.k).reshape(self.m, self.k)
        return self.idx[keep], cols[keep]


def _polish(a, b, C, gamma, rows, cols, alpha, beta, max_iter=50):
    """Quadratically regularised OT restricted to the support ``(rows, cols)``, by semismooth
    Newton on its dual with Armijo backtracking; the plan's marginals are exact at the solution.

    Returns ``(T, alpha, beta, converged)`` with T as a dense array.
    """
    n, m = C.shape
    c = C[rows, cols]

    def evaluate(al, be):
        z = al[rows] + be[cols] - c
        t = np.maximum(z, 0.0) / gamma
        row = np.bincount(rows, t, n)
        col = np.bincount(cols, t, m)
        dual = al @ a + be @ b - 0.5 * gamma * (t @ t)
        return dual, t, np.concatenate([a - row, b - col])

    dual, t, grad = evaluate(alpha, beta)
    converged = False
    errors = []
    for it in range(max_iter):
        errors.append(np.abs(grad).sum())
        if errors[-1] <= _POLISH_TOL * max(1.0, a.sum()):
            converged = True
            break
        if it >= 10 and errors[-1] > 0.5 * errors[-10]:
            break  # no progress: the support admits no plan with these marginals
        active = t > 0
        r_act, c_act = rows[active], cols[active]
        A = sp.csr_matrix((np.ones(r_act.size), (r_act, c_act)), shape=(n, m))
        deg_r = np.asarray(A.sum(axis=1)).ravel()
        deg_c = np.asarray(A.sum(axis=0)).ravel()
        eps = 1e-10  # rows or columns without active entries keep the system nonsingular
        H = sp.bmat([[sp.diags(deg_r + eps), A[:, : m - 1]],
                     [A[:, : m - 1].T, sp.diags(deg_c[: m - 1] + eps)]], format="csc")
        d = np.zeros(n + m)
        d[: n + m - 1] = gamma * spla.spsolve(H, grad[: n + m - 1], permc_spec="MMD_AT_PLUS_A")
        slope = grad @ d
        if not (np.all(np.isfinite(d)) and slope > 0):
            break
        step = 1.0
        for _ in range(40):
            new = evaluate(alpha + step * d[:n], beta + step * d[n:])
            if new[0] >= dual + 1e-6 * step * slope:
                break
            step *= 0.5
        else:
            break
        alpha, beta = alpha + step * d[:n], beta + step * d[n:]
        dual, t, grad = new
    T = np.zeros((n, m))
    T[rows, cols] = t
    return T, alpha, beta, converged


def sparsity_constrained_ot(a, b, C, reg, max_nz, *, formulation="semi_dual", tol=1e-9,
                            max_iter=1000, polish=True, n_jobs=None) -> TransportResult:
    r"""Optimal transport with at most ``max_nz`` nonzeros in every column of the plan.

    Solves :math:`\min_T \langle C, T\rangle + \frac{\mathrm{reg}}{2}\|T\|_F^2` over plans with
    marginals ``a, b`` and :math:`\|t_j\|_0 \le` ``max_nz`` for every column :math:`t_j`, through
    its convex dual (``formulation="dual"``) or semi-dual (``"semi_dual"``), maximised by
    L-BFGS on an objective and gradient computed by a parallel numba kernel (top-k per column).
    The dual's plan only meets the marginals approximately; with ``polish=True`` (default) the
    solver then solves the quadratically regularised problem restricted to the support the dual
    found (at most ``max_nz`` per column) exactly, by semismooth Newton, so the returned plan
    meets both marginals to about 1e-12 and keeps the column sparsity. For very small
    ``max_nz`` a plan with the given marginals may not exist on that support (with
    ``max_nz = 1`` and non-uniform weights none may exist at all); ``converged`` is then False
    and ``marginal_error`` reports the remaining violation.

    Parameters
    ----------
    a : array-like of shape (n,)
        Source weights, nonnegative.
    b : array-like of shape (m,)
        Target weights, nonnegative, same total mass as ``a``.
    C : array-like of shape (n, m)
        Finite ground cost.
    reg : float
        Quadratic regularisation ``gamma > 0``.
    max_nz : int
        Maximum number of nonzeros per column, ``1 <= max_nz <= n``. ``max_nz = n`` is
        quadratically regularised OT; ``max_nz = 1`` approaches unregularised OT.
    formulation : {"semi_dual", "dual"}, default="semi_dual"
        Which convex problem L-BFGS maximises. The semi-dual meets the column marginals
        exactly before polishing.
    tol : float, default=1e-9
        L-BFGS stopping tolerance, on the relative decrease of the objective and on the
        projected gradient (``ftol`` and ``gtol``, as ``tol`` in POT's smooth solvers).
    max_iter : int, default=1000
        Maximum L-BFGS iterations.
    polish : bool, default=True
        Recover a feasible plan on the dual's support (see above).
    n_jobs : int, optional
        Numba threads for the per-column kernel.

    Returns
    -------
    TransportResult
        ``objective`` is the primal objective of the returned plan; ``dual_objective`` the
        (semi-)dual optimum found by L-BFGS; ``f, g`` the potentials (after polishing);
        ``converged`` is True when L-BFGS met ``tol`` and, if asked, polishing met the marginals.
        The history has one row per objective evaluation.

    References
    ----------
    T. Liu, J. Puigcerver, M. Blondel, "Sparsity-constrained optimal transport", ICLR 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.ot import sparsity_constrained_ot
    >>> rng = np.random.default_rng(0)
    >>> C = rng.random((20, 20))
    >>> res = sparsity_constrained_ot(np.full(20, 0.05), np.full(20, 0.05), C, 0.1, max_nz=2)
    >>> int((res.plan > 0).sum(axis=0).max()) <= 2, res.marginal_error < 1e-8
    (True, True)
    """
    a_full, b_full, C_full, reg = validate_problem(a, b, C, reg)
    max_nz = check_int(max_nz, "max_nz", low=1, high=a_full.shape[0])
    formulation = check_one_of(formulation, "formulation", ("semi_dual", "dual"))
    tol, max_iter = validate_common(tol, max_iter)
    if not isinstance(polish, (bool, np.bool_)):
        raise TypeError(f"polish must be a bool; got {polish!r}")
    support = Support.of(a_full, b_full)
    a, b, C = support.restrict(a_full, b_full, C_full)
    k = min(max_nz, a.shape[0])
    with numba_threads(n_jobs):
        objective = _Objective(a, b, C, reg, k, formulation)
        size = C.shape[0] if formulation == "semi_dual" else sum(C.shape)
        res = scipy.optimize.minimize(objective, np.zeros(size), jac=True, method="L-BFGS-B",
                                      options={"maxiter": max_iter, "gtol": tol, "ftol": tol,
                                               "maxcor": 20})
        objective(res.x)  # leave the kernel's buffers at the returned point
        dual_value = -float(res.fun)
        alpha, beta = objective.potentials(res.x)
        converged = bool(res.success)
        if polish:
            rows, cols = objective.support()
            plan, alpha, beta, polished = _polish(a, b, C, reg, rows, cols, alpha, beta)
            converged = converged and polished
        else:
            plan = np.zeros(C.shape)
            rows, cols = objective.support(positive_only=True)
            plan[rows, cols] = objective.val[objective.val > 0]
    plan, f, g = support.expand(plan, alpha, beta, C_full.shape)
    cost = float(np.sum(C_full * plan))
    hist = np.array(objective.rows, dtype=float).reshape(-1, 3).T
    history = ConvergenceHistory.from_arrays(
        np.arange(hist.shape[1]), hist[1], hist[2], elapsed=hist[0],
        criterion_name="marginal_violation", objective_name="dual_objective")
    return TransportResult(
        plan=plan, f=f, g=g, cost=cost, objective=cost + 0.5 * reg * float(np.sum(plan * plan)),
        dual_objective=dual_value, marginal_error=marginal_violation(plan, a_full, b_full),
        converged=converged, n_iter=int(res.nit), history=history)
