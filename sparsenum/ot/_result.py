"""The result type of every OT solver, its history, and the zero-mass support handling."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..base import ConvergenceHistory, SolverResult

__all__ = ["TransportResult"]

#: Axis labels of the OT histories (units in brackets; the violation is relative to the mass).
LABELS = {
    "marginal_violation": "marginal violation (||P1 - a||_1 + ||P^T 1 - b||_1) / sum(a)",
    "dual_objective": "dual objective [cost units]",
    "sinkhorn_iterations": "Sinkhorn iterations (cumulative)",
    "newton_iterations": "Newton steps (cumulative)",
    "cg_products": "CG matrix-vector products (cumulative)",
    "lbfgs_iterations": "L-BFGS iterations (cumulative)",
    "reg": "regularisation of the row's problem (epsilon-scaling level)",
}


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class TransportResult(SolverResult):
    """Result of an optimal transport solver.

    Attributes
    ----------
    plan : ndarray of shape (n, m)
        The transport plan (rows: source ``a``, columns: target ``b``). Its rows sum to ``a``;
        its columns to ``b`` rescaled to the mass of ``a`` (the two masses may differ by the
        rounding of float32 weights, up to the accepted relative 1e-6).
    f, g : ndarray of shape (n,) and (m,)
        Dual potentials. Entries of zero-mass points are ``-inf``.
    cost : float
        Transport cost ``<C, plan>``.
    objective : float
        Regularised primal objective of ``plan``: ``<C, P> + reg * sum P (log P - 1)`` for the
        entropic solvers, ``<C, P> + (reg / 2) ||P||_F^2`` for sparsity-constrained OT, ``<C, P>``
        for :func:`~sparsenum.ot.emd`.
    dual_objective : float
        Value of the solver's (semi-)dual objective at the returned potentials.
    marginal_error : float
        ``||P 1 - a||_1 + ||P^T 1 - b||_1`` against the ``a`` and ``b`` given (as float64),
        recomputed from ``plan``; in the units of the mass (the stopping tests are relative to
        it: see ``history``).
    converged, n_iter, history
        See :class:`sparsenum.base.SolverResult`. The history's criterion is the marginal
        violation relative to the total mass, ``(||P1 - a||_1 + ||P^T 1 - b||_1) / sum(a)``
        with ``b`` rescaled to the mass of ``a``; its extra columns count Sinkhorn iterations,
        Newton iterations, CG matrix-vector products or L-BFGS iterations (cumulative) where
        they apply. Its last row is the returned result.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.ot import sinkhorn
    >>> res = sinkhorn([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], reg=0.1)
    >>> res.plan.round(3)
    array([[0.5, 0. ],
           [0. , 0.5]])
    >>> res.marginal_error < 1e-9
    True
    """

    plan: np.ndarray
    f: np.ndarray
    g: np.ndarray
    cost: float
    objective: float
    dual_objective: float
    marginal_error: float


def marginal_violation(plan: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """``||P 1 - a||_1 + ||P^T 1 - b||_1``."""
    return float(np.abs(plan.sum(axis=1) - a).sum() + np.abs(plan.sum(axis=0) - b).sum())


@dataclasses.dataclass(frozen=True)
class Support:
    """Rows and columns of positive mass; solvers run on the restricted problem."""

    rows: np.ndarray
    cols: np.ndarray
    full: bool

    @classmethod
    def of(cls, a: np.ndarray, b: np.ndarray) -> Support:
        rows = np.flatnonzero(a > 0)
        cols = np.flatnonzero(b > 0)
        return cls(rows, cols, rows.size == a.size and cols.size == b.size)

    def restrict(self, a, b, C):
        if self.full:
            return a, b, C
        return a[self.rows], b[self.cols], np.ascontiguousarray(C[np.ix_(self.rows, self.cols)])

    def expand(self, plan, f, g, shape):
        """Put the restricted plan and potentials back (zeros and ``-inf`` elsewhere)."""
        if self.full:
            return plan, f, g
        full_plan = np.zeros(shape)
        full_plan[np.ix_(self.rows, self.cols)] = plan
        full_f = np.full(shape[0], -np.inf)
        full_f[self.rows] = f
        full_g = np.full(shape[1], -np.inf)
        full_g[self.cols] = g
        return full_plan, full_f, full_g


def make_history(errors, objectives, *, iteration=None, elapsed=None,
                 **extra) -> ConvergenceHistory:
    errors = np.asarray(errors, dtype=float)
    if iteration is None:
        iteration = np.arange(errors.shape[0])
    return ConvergenceHistory.from_arrays(
        iteration, objectives, errors, elapsed=elapsed, criterion_name="marginal_violation",
        objective_name="dual_objective", labels=LABELS, **extra)
