"""The result type of every OT solver, input validation, and the zero-mass support handling."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..base import ConvergenceHistory, SolverResult
from ..utils import check_array, check_int, check_marginals, check_scalar, check_shape

__all__ = ["TransportResult"]

#: Relative tolerance on ``|sum(a) - sum(b)|`` accepted by every solver.
MASS_RTOL = 1e-6


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class TransportResult(SolverResult):
    """Result of an optimal transport solver.

    Attributes
    ----------
    plan : ndarray of shape (n, m)
        The transport plan (rows: source ``a``, columns: target ``b``).
    f, g : ndarray of shape (n,) and (m,)
        Dual potentials. Entries of zero-mass points are ``-inf``.
    cost : float
        Transport cost ``<C, plan>``.
    objective : float
        Regularised primal objective of ``plan``: ``<C, P> + reg * sum P (log P - 1)`` for the
        entropic solvers, ``<C, P> + (reg / 2) ||P||_F^2`` for sparsity-constrained OT.
    dual_objective : float
        Value of the solver's (semi-)dual objective at the returned potentials.
    marginal_error : float
        ``||P 1 - a||_1 + ||P^T 1 - b||_1``, recomputed from ``plan``.
    converged, n_iter, history
        See :class:`sparsenum.base.SolverResult`. The history's criterion is the marginal
        violation; its extra columns count Sinkhorn iterations, Newton iterations and CG
        matrix-vector products (cumulative) where they apply.

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


def validate_problem(a, b, C, reg, *, reg_name: str = "reg"):
    """Validated float64 copies-or-views of ``a``, ``b``, ``C`` and ``reg`` (never written to)."""
    a, b = check_marginals(a, b, rtol=MASS_RTOL)
    C = check_array(C, "C", ndim=2)
    check_shape(C, "C", (a.shape[0], b.shape[0]))
    reg = check_scalar(reg, reg_name, low=0.0, include_low=False)
    return a, b, C, reg


def validate_common(tol, max_iter, *, max_iter_name: str = "max_iter"):
    tol = check_scalar(tol, "tol", low=0.0, include_low=False)
    max_iter = check_int(max_iter, max_iter_name, low=1)
    return tol, max_iter


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


def entropic_objective(plan: np.ndarray, C: np.ndarray, reg: float) -> tuple[float, float]:
    """``(<C, P>, <C, P> + reg * sum P (log P - 1))`` with ``0 log 0 = 0``."""
    cost = float(np.sum(C * plan))
    positive = plan[plan > 0]
    entropy = float(np.sum(positive * (np.log(positive) - 1.0)))
    return cost, cost + reg * entropy


def make_history(errors, objectives, *, iteration=None, elapsed=None,
                 **extra) -> ConvergenceHistory:
    errors = np.asarray(errors, dtype=float)
    if iteration is None:
        iteration = np.arange(errors.shape[0])
    return ConvergenceHistory.from_arrays(
        iteration, objectives, errors, elapsed=elapsed, criterion_name="marginal_violation",
        objective_name="dual_objective", **extra)
