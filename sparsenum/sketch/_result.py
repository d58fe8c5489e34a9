"""The result type of the sketched least-squares solvers."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..base import SolverResult

__all__ = ["LstsqResult"]


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class LstsqResult(SolverResult):
    """Solution of ``min ||A x - b||_2`` by a sketched solver.

    Attributes
    ----------
    coef : ndarray of shape (d,)
        The solution ``x``.
    residual_norm : float
        ``||A x - b||_2``, recomputed from ``coef`` (not a recurrence).
    relative_residual : float
        ``||A x - b||_2 / ||b||_2`` (0 when ``b = 0``).
    rank : int
        Numerical rank of the sketch ``S A`` (``d`` unless ``A`` is rank deficient).
    singular_values : ndarray of shape (d,)
        Singular values of ``S A``: estimates of those of ``A`` within the sketch's distortion.
    sketch : str
        Name of the sketch used.
    sketch_size : int
        Rows ``m`` of the sketch.
    stop_reason : str
        Why the solver stopped: ``"direct"`` (sketch-and-solve, or a direct solve), or for
        the iteration of ``sketch_and_precondition`` ``"tolerance"`` (the criterion met
        ``tol``), ``"rounding_floor"`` (it reached the rounding floor of its computation, the
        accuracy of a backward-stable direct solver, above ``tol``), ``"consistent"``
        (``||r|| <= tol ||b||``), ``"no_progress"`` (several steps without a better iterate,
        above that floor), ``"max_iter"`` or ``"callback"``.
    converged, n_iter, history
        See :class:`~sparsenum.base.SolverResult`. ``sketch_and_solve`` does no iteration
        (``n_iter=0``); ``sketch_and_precondition`` counts its preconditioned CG/LSQR steps and
        records ``residual_norm`` (objective) and the ``normal_equation_residual``
        ``||(A N)^T r|| / ||r||`` (criterion) per step.
    """

    coef: np.ndarray
    residual_norm: float
    relative_residual: float
    rank: int
    singular_values: np.ndarray
    sketch: str
    sketch_size: int
    stop_reason: str
