"""Sparsity-constrained optimal transport (Liu, Puigcerver, Blondel, ICLR 2023)."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import scipy.optimize

from ..utils import check_bool, check_int, check_n_jobs, check_one_of, numba_threads
from . import _sparse_kernels as _k
from ._progress import Progress
from ._result import TransportResult, make_history, marginal_violation
from ._sparse_recovery import assignment_plan, feasible_support, improve_support
from ._sparse_recovery import polish as polish_on_support
from ._validation import Problem, check_callback, check_tol_max_iter, check_verbose

__all__ = ["sparsity_constrained_ot"]

#: Perturbed L-BFGS-B restarts at most, once it stops (see _Ascent.restart_at_kinks).
MAX_RESTARTS = 2
#: L-BFGS-B's iteration limit is a C int.
_MAX_LBFGS_ITER = 2**31 - 1


class _Objective:
    """Negated (semi-)dual objective and gradient for scipy's minimiser.

    ``last`` keeps the point of the latest evaluation with its objective and marginal
    violation (that of the (semi-)dual's own plan, the norm of the gradient).
    """

    def __init__(self, a, b, C, gamma, k, formulation):
        self.a, self.b, self.gamma, self.k, self.formulation = a, b, gamma, k, formulation
        self.n, self.m = C.shape
        self.Ct = np.ascontiguousarray(C.T)
        self.idx = np.zeros((self.m, k), dtype=np.int64)
        self.val = np.zeros((self.m, k))
        self.values = np.empty(self.m)
        self.theta = np.empty(self.m)
        self.last = None  # (x, objective, violation)

    def __call__(self, x):
        a, b, n = self.a, self.b, self.n
        if self.formulation == "semi_dual":
            _k.semi_dual(x, b, self.Ct, self.gamma, self.k, self.idx, self.val,
                         self.values, self.theta)
            obj = x @ a - self.values.sum()
            row = _k.row_sums(self.idx, self.val, n)
            grad = a - row
        else:
            alpha, beta = x[:n], x[n:]
            _k.dual(alpha, beta, self.Ct, self.gamma, self.k, self.idx, self.val, self.values)
            obj = alpha @ a + beta @ b - self.values.sum()
            row = _k.row_sums(self.idx, self.val, n)
            col = self.val.sum(axis=1)
            grad = np.concatenate([a - row, b - col])
        self.last = (x.copy(), float(obj), float(np.abs(grad).sum()))
        return -obj, -grad

    def at(self, x):
        """``(objective, violation)`` at ``x``, evaluating only if the last point differs."""
        if self.last is None or not np.array_equal(self.last[0], x):
            self(x)
        return self.last[1], self.last[2]

    def potentials(self, x):
        """``(alpha, beta)`` with ``T_ij = [alpha_i + beta_j - c_ij]_+ / gamma`` on the support
        (the buffers must hold the evaluation at ``x``)."""
        if self.formulation == "semi_dual":
            return x.copy(), -self.theta.copy()
        return x[: self.n].copy(), x[self.n:].copy()

    def dual_plan(self):
        """The (semi-)dual's own plan: the positive top-k entries of every column."""
        plan = np.zeros((self.n, self.m))
        keep = self.val > 0
        cols = np.repeat(np.arange(self.m), self.k).reshape(self.m, self.k)
        plan[self.idx[keep], cols[keep]] = self.val[keep]
        return plan


class _Ascent:
    """L-BFGS-B runs on the (semi-)dual (first run, a retry, restarts) with one history.

    Each L-BFGS iteration of any run adds a row holding the best point found so far (its
    objective and marginal violation), so the last row is the returned point and the rows
    never get worse; ``n_iter`` counts the iterations of every run.
    """

    def __init__(self, objective, tol, max_iter, progress, unit=1.0):
        self.objective, self.tol, self.max_iter, self.progress = objective, tol, max_iter, progress
        self.unit = unit  # the solved problem's potentials and objective times unit: the user's
        self.start = time.perf_counter()
        self.rows = []  # (iteration, elapsed, objective, violation)
        self.n_iter = 0
        self.best = None  # (x, objective, violation)
        self.converged = False
        self.stalled = False  # the last run ended on a failed line search

    def _offer(self, x):
        obj, err = self.objective.at(x)
        if self.best is None or obj > self.best[1]:
            self.best = (x.copy(), obj, err)

    def _record(self) -> bool:
        """Add the row of the current iteration; True when the callback asks to stop."""
        _, obj, err = self.best
        obj *= self.unit
        self.rows.append((self.n_iter, time.perf_counter() - self.start, obj, err))
        return self.progress.active and self.progress.update(
            self.n_iter, obj, err, self._details, lbfgs_iterations=self.n_iter)

    def _details(self):
        x = self.best[0]
        self.objective.at(x)
        f, g = self.objective.potentials(x)
        return {"f": f * self.unit, "g": g * self.unit}

    def run(self, x0) -> bool:
        """One L-BFGS-B run from ``x0``; returns whether it met ``tol`` (False if stopped or
        out of iterations)."""
        remaining = self.max_iter - self.n_iter
        self.stalled = False
        if remaining <= 0 or self.progress.stopped:
            return False
        if not self.rows:
            self._offer(x0)
            if self._record():
                return False

        def iteration(xk):
            self.n_iter += 1
            self._offer(xk)
            if self._record():
                raise StopIteration  # scipy ends the run

        options = {"maxiter": min(remaining, _MAX_LBFGS_ITER), "gtol": self.tol,
                   "ftol": self.tol, "maxcor": 20}
        try:
            res = scipy.optimize.minimize(self.objective, x0, jac=True, method="L-BFGS-B",
                                          options=options, callback=iteration)
        except StopIteration:  # scipy older than 1.11 lets the callback's stop through
            return False
        self._offer(res.x)
        ok = bool(res.success) and not self.progress.stopped
        self.converged = self.converged or ok
        # a failed line search (not the iteration limit, not a stop) ends a run at a kink
        self.stalled = not ok and res.nit < options["maxiter"] and not self.progress.stopped
        return ok

    def restart_at_kinks(self):
        """Restart L-BFGS-B from small perturbations of the best point while that gains more
        than ``tol`` (relative).

        The (semi-)dual is concave but not smooth where a column's top-k set changes, and
        L-BFGS-B can stop at such a kink below the maximum (seen with scipy 1.17: 1.5e-6
        relative below POT's value at n=40, max_nz=3). A perturbation of 1e-3 of the
        potentials' spread moves off the kink; the curvature memory starts afresh.
        """
        rng = np.random.default_rng(0)
        for _ in range(MAX_RESTARTS):
            x, value = self.best[0], self.best[1]
            scale = 1e-3 * float(np.std(x)) or 1e-3
            ok = self.run(x + scale * rng.standard_normal(x.shape[0]))
            if self.best[1] - value <= self.tol * abs(self.best[1]):
                # a restart from elsewhere that ends at a kink no higher than ``tol`` above
                # the best point confirms it (the objective is concave): the runs only failed
                # their line searches on the kinks (common from n = 5000, where the
                # objective's changes near the maximum reach its rounding)
                self.converged = self.converged or ok or self.stalled
                return


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


def sparsity_constrained_ot(a, b, C, reg, max_nz, *, formulation="semi_dual", tol=1e-9,
                            max_iter=1000, polish=True, n_jobs=None, verbose=0,
                            callback=None) -> TransportResult:
    r"""Optimal transport with at most ``max_nz`` nonzeros in every column of the plan.

    Solves :math:`\min_T \langle C, T\rangle + \frac{\mathrm{reg}}{2}\|T\|_F^2` over plans with
    marginals ``a, b`` and :math:`\|t_j\|_0 \le` ``max_nz`` for every column :math:`t_j`, through
    its convex dual (``formulation="dual"``) or semi-dual (``"semi_dual"``), maximised by
    L-BFGS on an objective and gradient computed by a parallel numba kernel (top-k per column).
    The dual's plan only meets the marginals approximately, and the support it picks may carry
    no plan with both marginals. With ``polish=True`` (default) the solver then (1) checks the
    support by a maximum flow and, if it is infeasible, repairs it by swapping candidate rows
    across the minimum cut, guided by the dual scores (with uniform weights and ``n = m``,
    when a few swaps do not suffice, from an assignment of columns to rows that keeps the most
    dual score, feasible by construction), and (2) solves the quadratically
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
        projected gradient (``ftol`` and ``gtol``, as ``tol`` in POT's smooth solvers). The
        solver works on weights divided by their total mass, so the gradient test is relative
        to the mass.
    max_iter : int, default=1000
        Maximum L-BFGS iterations, over all runs (a retry after a failed line search and
        restarts at kinks of the objective included). The iterations needed grow with the
        size: about 300 at ``n = 300``, 1000-1400 at ``n = 1000`` and ``2000`` and 2000-3000 at
        ``n = 5000`` on 2-D point clouds. If L-BFGS stops short, the recovered plan may miss
        the marginals and ``converged`` is False: raise ``max_iter``. With
        ``max_iter=10_000`` and two threads, ``n = 5000`` point clouds with uniform weights
        took 96-111 seconds for ``max_nz`` in {2, 5, 10} on a quiet 2-core x86-64 machine
        (December 2026), meeting the marginals to 3e-11 or better.
    polish : bool, default=True
        Recover a feasible ``max_nz``-sparse plan (see above); False returns the dual's own
        plan.
    n_jobs : int, optional
        Numba threads for the per-column kernel (``None``: numba's default for problems of at
        least 250,000 entries, one thread below; ``-1``: all cores). BLAS is held to one thread
        inside the call (threadpoolctl): L-BFGS-B's many small BLAS calls gain nothing from its
        threads, which compete with numba's for the cores. The results do not depend on it.
    verbose : int or bool, default=0
        ``1``: a line when done; ``2``: a line per L-BFGS iteration.
    callback : callable, optional
        ``callback(iteration, state)`` after every L-BFGS iteration, with ``state`` a
        read-only mapping of ``objective``, ``marginal_violation``, ``lbfgs_iterations`` and
        the potentials ``f``, ``g`` of the best point so far (unit-mass problem on the
        support); returning True stops the solver.

    Returns
    -------
    TransportResult
        ``objective`` is the primal objective of the returned plan; ``dual_objective`` the
        (semi-)dual optimum found by L-BFGS; ``f, g`` the potentials (after polishing);
        ``converged`` is True when L-BFGS met ``tol`` (or stopped on a kink of the objective
        that a restart from a perturbed point reaches again to ``tol``) and, if asked, the
        recovered plan meets the marginals. ``n_iter`` counts L-BFGS iterations, plus one for
        the recovery when ``polish=True``. The history has one row per L-BFGS iteration with the
        objective and marginal violation (relative to the mass) of the best point so far and the
        (semi-)dual's own plan, then, with ``polish=True``, a last row with the recovered plan's
        violation: its last row is always the returned plan.

    Raises
    ------
    ValueError, TypeError
        As :func:`~sparsenum.ot.sinkhorn` (``reg`` times the total mass must be at least
        ``1e-10 * max|C|``), and for ``max_nz`` outside ``[1, n]`` or an unknown
        ``formulation``.

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
    problem = Problem.of(a, b, C, reg, quadratic=True)
    max_nz = check_int(max_nz, "max_nz", low=1, high=problem.shape[0])
    formulation = check_one_of(formulation, "formulation", ("semi_dual", "dual"))
    tol, max_iter = check_tol_max_iter(tol, max_iter)
    polish = check_bool(polish, "polish")
    check_n_jobs(n_jobs)
    progress = Progress("sparsity_constrained_ot", check_verbose(verbose),
                        check_callback(callback))
    a, b, C = problem.a, problem.b, problem.C
    # on unit masses the plan is T / mass, and <C, T> + reg/2 ||T||^2 is mass times the same
    # problem with reg * mass; the potentials are those of the problem given
    gamma = problem.reg * problem.mass
    # The problem is homogeneous: (C, gamma) and (C s, gamma s) have the same plan, with
    # potentials and objective times s. The potentials are of the order of gamma and the
    # solver squares them, which overflows for gamma beyond about 1e150; above LARGEST_GAMMA
    # it solves the problem scaled by a power of two (exact) with gamma in [1, 2).
    unit = 1.0
    if gamma > LARGEST_GAMMA:  # only then: the scaled copy of C is as large as C
        unit = 2.0 ** math.floor(math.log2(gamma))
        C = C / unit
    solved_gamma = gamma / unit
    k = min(max_nz, a.shape[0])
    work = 4.0 * C.size * k  # flops of one evaluation (top-k per column)
    with numba_threads(n_jobs, work=work), _one_blas_thread():
        objective = _Objective(a, b, C, solved_gamma, k, formulation)
        ascent = _Ascent(objective, tol, max_iter, progress, unit)
        size = C.shape[0] if formulation == "semi_dual" else sum(C.shape)
        if not ascent.run(np.zeros(size)) and not progress.stopped:
            # L-BFGS-B's line search can fail on a flat piece of the piecewise-quadratic
            # objective (at zero when every column puts its mass on one row): restart from the
            # row minima of C, a point where every row competes
            start = C.min(axis=1)
            if formulation == "dual":
                start = np.concatenate([start, np.zeros(C.shape[1])])
            ascent.run(start)
        ascent.restart_at_kinks()
        x, dual_value, _ = ascent.best
        dual_value *= unit
        objective(x)  # leave the kernel's buffers at the returned point
        alpha, beta = objective.potentials(x)
        converged = ascent.converged
        n_iter = ascent.n_iter
        rows = ascent.rows
        if polish:
            plan, alpha, beta, recovered = _recover(a, b, C, solved_gamma, objective, alpha,
                                                    beta)
            converged = converged and recovered
            # the recovery is the last step: its row holds the returned plan's violation
            n_iter += 1
            rows.append((n_iter, time.perf_counter() - ascent.start, dual_value,
                         marginal_violation(plan, a, b)))
        else:
            plan = objective.dual_plan()
        alpha, beta = alpha * unit, beta * unit
    mass = problem.mass
    # reg / 2 ||T||^2 = (gamma / 2) mass ||T_unit||^2: squaring the scaled plan could overflow
    quadratic = 0.5 * gamma * mass * float(np.sum(plan * plan))
    plan, f, g = problem.support.expand(plan * mass, alpha, beta, problem.shape)
    cost = float(np.sum(problem.C_full * plan))
    hist = np.array(rows, dtype=float).reshape(-1, 4).T
    history = make_history(hist[3], hist[2], iteration=hist[0], elapsed=hist[1])
    marginals = problem.marginals
    result = TransportResult(
        plan=plan, f=f, g=g, cost=cost,
        objective=cost + quadratic,
        dual_objective=mass * dual_value,
        marginal_error=marginal_violation(plan, marginals.a, marginals.b),
        converged=converged and not progress.stopped, n_iter=n_iter, history=history)
    progress.finish(result)
    return result


#: largest ``reg`` times the total mass solved as given (see ``sparsity_constrained_ot``)
LARGEST_GAMMA = 2.0**64

_BLAS = []  # threadpoolctl's controller, made on first use (it scans the loaded libraries)


def _one_blas_thread():
    """One BLAS thread for the duration of the solve.

    L-BFGS-B (scipy's C code) and the recovery's sparse solves make many small BLAS calls;
    OpenBLAS threads waking and spinning for each of them cost several times the whole run
    (on 2 cores, both with and without numba's threads beside them) and bring nothing at these
    sizes. The controller is made once: entering a fresh ``threadpool_limits`` scans the loaded
    libraries every time, which costs more than a small solve.
    """
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")
