"""Sparsity-constrained optimal transport (Liu, Puigcerver, Blondel, ICLR 2023)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.optimize

from ..base import ConvergenceHistory
from ..utils import check_int, check_one_of, numba_threads
from . import _sparse_kernels as _k
from ._result import Support, TransportResult, marginal_violation, validate_common, validate_problem
from ._sparse_recovery import assignment_plan, feasible_support, improve_support
from ._sparse_recovery import polish as polish_on_support

__all__ = ["sparsity_constrained_ot"]

#: Perturbed L-BFGS-B restarts at most, once it stops (see _restart_at_kinks).
MAX_RESTARTS = 2


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

    def dual_plan(self):
        """The (semi-)dual's own plan: the positive top-k entries of every column."""
        plan = np.zeros((self.n, self.m))
        keep = self.val > 0
        cols = np.repeat(np.arange(self.m), self.k).reshape(self.m, self.k)
        plan[self.idx[keep], cols[keep]] = self.val[keep]
        return plan


def _recover(a, b, C, reg, objective, alpha, beta):
    """Feasible support, then the exact restricted problem on it (see ``_sparse_recovery``)."""
    if objective.k == 1:
        plan = assignment_plan(a, b, C)
        if plan is not None:
            return plan, alpha, beta, True
    slot_row, flow, deficit, _, feasible = feasible_support(a, b, C, alpha, beta,
                                                            objective.idx, objective.val)
    m, k = slot_row.shape
    rows, cols = slot_row.ravel(), np.repeat(np.arange(m), k)
    if not feasible:
        warnings.warn(
            f"sparsity_constrained_ot: found no support with at most {k} nonzeros per column "
            f"carrying both marginals (the best one misses {deficit:.3g} of the mass); the "
            "returned plan is its maximum flow, not converged. Such a plan may not exist, "
            "e.g. for max_nz=1 with weights in general position; a larger max_nz helps.",
            RuntimeWarning, stacklevel=3)
        plan = np.zeros(C.shape)
        plan[rows, cols] = flow.ravel()
        return plan, alpha, beta, False
    plan, alpha, beta, polished = polish_on_support(a, b, C, reg, rows, cols, flow.ravel(),
                                                   start=(alpha, beta))
    return improve_support(a, b, C, reg, slot_row, flow, plan, alpha, beta, polished)


def _restart_at_kinks(objective, res, options, tol):
    """Restart L-BFGS-B from small perturbations of its point while that gains more than ``tol``.

    The (semi-)dual is concave but not smooth where a column's top-k set changes, and L-BFGS-B
    can stop at such a kink below the maximum (measured with scipy 1.17: 1.5e-6 relative below
    POT's value at n=40, max_nz=3; one restart reached 2e-7 above it). A perturbation of 1e-3
    of the potentials' spread moves off the kink; the curvature memory starts afresh.
    """
    rng = np.random.default_rng(0)
    for _ in range(MAX_RESTARTS):
        scale = 1e-3 * float(np.std(res.x)) or 1e-3
        start = res.x + scale * rng.standard_normal(res.x.shape[0])
        retry = scipy.optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                                        options=options)
        retry.nit += res.nit
        gain = res.fun - retry.fun
        if gain <= 0:
            res.nit = retry.nit
            return res
        retry.success = retry.success or res.success
        res = retry
        if gain <= tol * abs(res.fun):
            return res
    return res


def sparsity_constrained_ot(a, b, C, reg, max_nz, *, formulation="semi_dual", tol=1e-9,
                            max_iter=1000, polish=True, n_jobs=None) -> TransportResult:
    r"""Optimal transport with at most ``max_nz`` nonzeros in every column of the plan.

    Solves :math:`\min_T \langle C, T\rangle + \frac{\mathrm{reg}}{2}\|T\|_F^2` over plans with
    marginals ``a, b`` and :math:`\|t_j\|_0 \le` ``max_nz`` for every column :math:`t_j`, through
    its convex dual (``formulation="dual"``) or semi-dual (``"semi_dual"``), maximised by
    L-BFGS on an objective and gradient computed by a parallel numba kernel (top-k per column).
    The dual's plan only meets the marginals approximately, and the support it picks may carry
    no plan with both marginals. With ``polish=True`` (default) the solver then (1) checks the
    support by a maximum flow and, if it is infeasible, repairs it by swapping candidate rows
    across the minimum cut, guided by the dual scores, and (2) solves the quadratically
    regularised problem restricted to the repaired support exactly, by semismooth Newton: the
    returned plan meets both marginals to about 1e-12 with at most ``max_nz`` nonzeros per
    column, and its ``objective`` is an upper bound on the optimum whose gap to
    ``dual_objective`` (a lower bound) measures how far from optimal it can be.

    A feasible plan exists whenever ``max(b) <= (max_nz - 1) * min(a)``. For weights in
    general position it needs ``max_nz * m >= n + m - 1`` nonzeros (so ``max_nz = 1`` works only
    when row masses are sums of column masses, e.g. a permutation for uniform weights and
    ``n = m``); in between, existence is a combinatorial question and the repair a heuristic
    search with a budget. If it finds no feasible support, ``converged`` is False, a
    ``RuntimeWarning`` says so, and the plan is the best maximum flow found (nonnegative,
    ``max_nz``-sparse, marginals not exceeded) whose ``marginal_error`` is honest.

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
        Recover a feasible ``max_nz``-sparse plan (see above); False returns the dual's own
        plan.
    n_jobs : int, optional
        Numba threads for the per-column kernel.

    Returns
    -------
    TransportResult
        ``objective`` is the primal objective of the returned plan; ``dual_objective`` the
        (semi-)dual optimum found by L-BFGS; ``f, g`` the potentials (after polishing);
        ``converged`` is True when L-BFGS met ``tol`` and, if asked, the recovered plan meets
        the marginals.
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
        options = {"maxiter": max_iter, "gtol": tol, "ftol": tol, "maxcor": 20}
        res = scipy.optimize.minimize(objective, np.zeros(size), jac=True, method="L-BFGS-B",
                                      options=options)
        if not res.success:
            # L-BFGS-B's line search can fail on a flat piece of the piecewise-quadratic
            # objective (at zero when every column puts its mass on one row): restart once
            # from the row minima of C, a point where every row competes
            start = C.min(axis=1)
            if formulation == "dual":
                start = np.concatenate([start, np.zeros(C.shape[1])])
            retry = scipy.optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                                            options=options)
            if retry.success or retry.fun < res.fun:
                retry.nit += res.nit
                res = retry
        res = _restart_at_kinks(objective, res, options, tol)
        objective(res.x)  # leave the kernel's buffers at the returned point
        dual_value = -float(res.fun)
        alpha, beta = objective.potentials(res.x)
        converged = bool(res.success)
        if polish:
            plan, alpha, beta, recovered = _recover(a, b, C, reg, objective, alpha, beta)
            converged = converged and recovered
        else:
            plan = objective.dual_plan()
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
