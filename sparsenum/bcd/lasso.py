"""Lasso by working-set block coordinate descent with active-set Newton steps.

The objective is scikit-learn's ``1/(2n) ||y - Xw - b||^2 + alpha ||w||_1``. Each outer iteration
computes the full correlation ``X'r`` once (one BLAS product, or one numba pass over the CSC columns
outside the working set, whose correlations the coordinate-descent kernel leaves behind), which
gives the duality gap and a greedy score for every feature: the dual-constraint slack ``(n alpha -
|x_j'r|) / ||x_j||`` (Gauss-Southwell on the dual, as in skglm's working sets). The block (working
set) is the current support plus the most violating features, twice the support's size. Cyclic
coordinate descent on the block, run by one numba kernel per chunk of ten epochs (residual kept in
place, Anderson extrapolation of the iterates every five epochs, the block's duality gap at the
end), *identifies the active set*; once the support and signs survive a chunk and the observed rate
of coordinate descent predicts more epochs than the Newton step costs, we take the Newton step on it
— the least-squares solve ``X_S'X_S w_S = X_S'y - n alpha sign(w_S)`` — which is exact when it keeps
the signs (Nutini et al. 2022, Section 6: finite termination for quadratics once the active set is
identified).

Gap safe screening (Fercoq, Gramfort & Salmon 2015) drops features that are provably zero at the
optimum from the correlation products and the working sets as the gap closes; the reported gap
remains that of the full problem. The sparse kernel visits the zero coefficients of the working
set on one epoch in five only. The gap, the screening test and the choice of the next working
set run in one numba call per outer iteration (``gap_screen_select``).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse as sp

from sparsenum.base import ConvergenceHistory, SolverResult
from sparsenum.utils import check_array, check_bool, check_int, check_scalar

from ._lasso_block import (
    TUNING,
    NewtonTracker,
    record_screening,
    residual_gap,
    screened_below,
    solve_block,
)
from ._lasso_design import NONE, Design
from ._lasso_outer_kernels import gap_screen_select
from ._progress import Progress, rounding_floor
from ._validation import (
    check_callback,
    check_csc,
    check_design,
    check_solver,
    check_squares_finite,
    check_tol,
    check_verbose,
)

__all__ = ["LassoResult", "lasso_duality_gap", "solve_lasso"]

_LABELS = {"duality_gap": "duality gap (objective units)", "primal": "objective",
           "working_set_size": "working-set size (features)",
           "n_active": "nonzero coefficients"}


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class LassoResult(SolverResult):
    """Result of :func:`solve_lasso`.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
    intercept : float
    duality_gap : float
        Final gap of the ``1/(2n)`` objective (see :func:`lasso_duality_gap`).
    primal : float
        Final objective value.
    """

    coef: np.ndarray
    intercept: float
    duality_gap: float
    primal: float


def lasso_duality_gap(X, y, coef, alpha, *, intercept=0.0, positive=False):
    """Duality gap of ``1/(2n) ||y - X coef - intercept||^2 + alpha ||coef||_1``.

    The dual point is the residual rescaled so that ``||X'nu||_inf <= n alpha`` (only the upper
    side with ``positive=True``); with an intercept pass centred ``X`` and ``y``, or the fitted
    intercept (the residual is then centred when the intercept is optimal). With
    ``positive=True`` a ``coef`` with a negative entry is infeasible: its objective, hence its
    gap, is ``inf``.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    coef : array-like of shape (n_features,)
    alpha : float
        Penalty strength, ``>= 0``.
    intercept : float, default=0
    positive : bool, default=False
        The problem constrains ``coef >= 0``.

    Returns
    -------
    gap, primal, dual : float

    Raises
    ------
    ValueError
        For non-finite or negative ``alpha``, non-finite ``intercept``, inputs of inconsistent
        sizes or with NaN / infinite entries.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import lasso_duality_gap
    >>> gap, primal, dual = lasso_duality_gap(np.eye(2), [1.0, 0.0], [0.0, 0.0], 1.0)
    >>> gap, primal, dual
    (0.0, 0.25, 0.25)
    >>> lasso_duality_gap(np.eye(2), [1.0, 0.0], [-1.0, 0.0], 1.0, positive=True)[0]
    inf
    """
    X = check_design(X, "X")
    n, d = X.shape
    y = check_array(y, "y", ndim=1)
    if y.shape[0] != n:
        raise ValueError(f"y must have length X.shape[0]={n}; got {y.shape[0]}")
    coef = check_array(coef, "coef", ndim=1)
    if coef.shape[0] != d:
        raise ValueError(f"coef must have length X.shape[1]={d}; got {coef.shape[0]}")
    alpha = check_scalar(alpha, "alpha", low=0.0)
    intercept = check_scalar(intercept, "intercept")
    positive = check_bool(positive, "positive")
    r = y - np.asarray(X @ coef).ravel() - intercept
    corr = np.asarray(X.T @ r).ravel()
    corr_max = float(corr.max() if positive else np.abs(corr).max())
    # the unscaled objective 1/2 ||r||^2 + n alpha ||coef||_1, reported per sample
    primal, dual, gap = (value / n for value in residual_gap(
        r, y - intercept, max(corr_max, 0.0), float(np.abs(coef).sum()), n * alpha))
    if not np.isfinite(primal):
        raise ValueError("the objective at coef overflows float64: y, X or coef has entries "
                         "too large in magnitude; rescale them")
    if positive and (coef < 0).any():
        return np.inf, np.inf, dual
    return gap, primal, dual


def solve_lasso(X, y, alpha, *, fit_intercept=False, positive=False, tol=1e-8, max_iter=100,
                max_epochs=50_000, coef_init=None, p0=100, solver="bcd", verbose=0,
                callback=None) -> LassoResult:
    """Solve the Lasso ``min 1/(2n) ||y - Xw - b||^2 + alpha ||w||_1`` (scikit-learn's scaling).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    alpha : float
        Penalty strength, ``>= 0``.
    fit_intercept : bool, default=False
        Fit an unpenalised intercept ``b`` (sparse ``X`` is centred implicitly, staying sparse).
    positive : bool, default=False
        Constrain ``w >= 0``.
    tol : float, default=1e-8
        Stop when the duality gap is at most ``tol * ||y_c||^2 / n`` (``y_c`` centred if an
        intercept is fitted) — scikit-learn's convention. ``tol=0`` asks for machine
        precision: the solve then ends when the gap stops decreasing (five outer iterations
        without a new smallest gap), and counts as converged if the gap is within rounding
        (``16 n eps`` times that scale). A positive ``tol`` below what rounding allows ends
        the same way, with ``converged=False``. With ``alpha=0`` (least squares) the rescaled
        residual is dual feasible only if it is orthogonal to every column, so the gap is the
        objective itself unless the fit is exact: use :func:`numpy.linalg.lstsq` there.
    max_iter : int, default=100
        Maximum outer iterations (working-set updates).
    max_epochs : int, default=50000
        Total budget of coordinate-descent passes over working sets.
    coef_init : array-like of shape (n_features,), optional
        Warm start.
    p0 : int, default=100
        Size of the first working set (later ones hold twice the support, and at least twice
        the previous size while an outer iteration gains less than 4x on the gap). Smaller
        first sets cost more outer iterations, each a full product ``X'r``, which costs about
        as much as ten epochs on 250 columns.
    solver : {"bcd", "cvxpy"}, default="bcd"
        ``"cvxpy"`` hands the same problem to cvxpy's default conic solver (an interior-point
        method written elsewhere, with its own optimality certificate): a slow, independent
        reference for small problems. It ignores ``tol``, ``max_iter``, ``max_epochs``,
        ``coef_init`` and ``p0``; ``converged`` is cvxpy's status ``"optimal"``, ``n_iter``
        its solver's iterations, and ``duality_gap`` is recomputed here from its ``coef``.
    verbose : int or bool, default=0
        ``1``: a summary line at the end; ``2``: a line per outer iteration as well.
    callback : callable, optional
        ``callback(iteration, state)`` after each outer iteration; ``state`` is a read-only
        mapping with ``duality_gap``, ``primal``, ``coef`` (a read-only view: copy it to keep
        it), ``working_set_size`` and ``n_active``. Returning ``True`` stops the solve.

    Returns
    -------
    LassoResult
        ``history`` records the objective and the duality gap per outer iteration, with the
        working-set size and the number of nonzeros.

    Raises
    ------
    ValueError
        For non-finite or negative ``alpha`` or ``tol``, inputs of inconsistent sizes, NaN or
        infinite entries, or entries so large that squared norms overflow.
    TypeError
        For arguments of the wrong type (a string ``tol``, a number as ``fit_intercept``).

    References
    ----------
    J. Nutini, I. Laradji, M. Schmidt. Let's Make Block Coordinate Descent Converge Faster.
    JMLR 23, 2022 (active-set identification and Newton steps on the active set).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import solve_lasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 20))
    >>> y = X[:, 0] - 2 * X[:, 1] + 0.01 * rng.standard_normal(50)
    >>> res = solve_lasso(X, y, 0.1)
    >>> res.converged, np.flatnonzero(res.coef).tolist()
    (True, [0, 1])
    """
    # dense designs keep their memory order (C or Fortran): no full copy just for validation;
    # their finiteness is checked on the column norms (Design), saving two passes over X
    X = check_csc(X) if sp.issparse(X) else check_array(X, "X", ndim=2, order="A",
                                                         allow_nan=True)
    y = check_array(y, "y", ndim=1)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y must have length X.shape[0]={n}; got {y.shape[0]}")
    alpha = check_scalar(alpha, "alpha", low=0.0)
    fit_intercept = check_bool(fit_intercept, "fit_intercept")
    positive = check_bool(positive, "positive")
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", low=1)
    max_epochs = check_int(max_epochs, "max_epochs", low=1)
    p0 = check_int(p0, "p0", low=1)
    solver = check_solver(solver)
    verbose = check_verbose(verbose)
    callback = check_callback(callback)
    w = np.zeros(d) if coef_init is None else check_array(coef_init, "coef_init", ndim=1,
                                                           copy=True)
    if w.shape[0] != d:
        raise ValueError(f"coef_init must have length X.shape[1]={d} (one coefficient per "
                         f"feature); got {w.shape[0]}")
    design = Design(X, fit_intercept, y)
    y_mean = float(y.mean()) if fit_intercept else 0.0
    yc = y - y_mean
    check_squares_finite(float(yc @ yc), "y", "sum of squares")
    tol_abs = tol * float(yc @ yc) / n
    progress = Progress("solve_lasso", verbose, callback, "duality_gap", tol_abs)
    if solver == "cvxpy":
        return _solve_cvxpy(X, y, design, yc, y_mean, alpha, fit_intercept, positive, tol_abs,
                            progress)
    if positive:
        w = np.maximum(w, 0.0)
    return _solve_bcd(design, yc, y_mean, w, alpha, positive, tol, tol_abs, max_iter,
                      max_epochs, p0, progress)


def _solve_bcd(design, yc, y_mean, w, alpha, positive, tol, tol_abs, max_iter, max_epochs, p0,
               progress):
    """The working-set solver (see the module docstring); ``w`` is updated in place.

    Everything inside is in the units of the unscaled objective ``1/2 ||r||^2 + lam ||w||_1``
    with ``lam = n alpha`` (the kernels' units); values are divided by ``n`` only where they
    reach the user (history, callback, result).
    """
    tuning = TUNING
    n, d = design.X.shape
    lam = n * alpha
    target = n * tol_abs  # the gap to reach
    floor = rounding_floor(n, float(yc @ yc))  # the smallest gap rounding resolves (tol=0)
    report = _Report(max_iter, progress, n, w)
    r = yc - design.matvec(w) if w.any() else yc.copy()
    epochs = 0
    tracker = NewtonTracker()
    gap = primal = np.inf
    converged = False
    stopped_by = "max_iter reached"
    it = 0
    ws_size = 0
    keep = np.arange(d)  # features not yet discarded by the gap safe rule (sorted)
    screened = []  # (residual, max |x_j'r|, max ||x_j||) over the features dropped then
    score = np.empty(d)  # slack of each kept feature (work array of the kernel)
    dropped = np.empty(d, dtype=np.intp)
    ws_buf = np.empty(d, dtype=np.intp)
    # sorted features whose correlations design holds at the current residual: the last
    # working set, or all of them at w = 0 for a sparse design
    fresh = design._all if design.sparse and not w.any() else NONE
    prev_gap = np.inf
    best_gap, since_best = np.inf, 0  # stall detection (counted in outer iterations)

    def outer_step(corr, corr_max, keep, r, gap_tol, grow_to, prev_gap):
        """Gap, screening and the next working set in one kernel call (an OuterStep)."""
        return gap_screen_select(corr, corr_max, design.norm, design.inv_norm, keep, w, r, yc,
                                 lam, gap_tol, positive, p0, grow_to, prev_gap, score, dropped,
                                 ws_buf)

    for it in range(max_iter + 1):
        last = it == max_iter or epochs >= max_epochs
        gap_tol = target if not last else np.inf  # below it, no screening and no next set
        grow_to = 2 * ws_size if tuning.grow and it > 1 else 0
        corr, corr_max = design.correlations(r, keep, positive, fresh)
        step = outer_step(corr, corr_max, keep, r, gap_tol, grow_to, prev_gap)
        if step.gap <= target and not screened_below(screened, r, corr_max):
            # the restricted gap certifies the screened problem; report the full problem's
            corr, corr_max = design.correlations(r, None, positive, fresh)
            step = outer_step(corr, corr_max, keep, r, gap_tol, grow_to, prev_gap)
        gap, primal = step.gap, step.primal
        stop = report(it, gap, primal, ws_size, step.nnz)
        if gap <= target:
            converged, stopped_by = True, "duality gap below target"
            break
        if gap < best_gap:
            best_gap, since_best = gap, 0
        else:
            since_best += 1
        if since_best >= tuning.stall_outer:
            # the gap stopped decreasing: with tol=0 (machine precision) that is the goal, if the
            # gap is as small as rounding allows (not so at alpha=0, where it is the objective)
            converged = tol == 0.0 and gap <= floor
            stopped_by = "no progress left at machine precision"
            break
        if stop:
            stopped_by = "stopped by the callback"
            break
        if last:
            stopped_by = "max_iter reached" if it == max_iter else "max_epochs reached"
            break
        keep = keep[:step.n_kept]  # compacted in place by the kernel
        if step.n_dropped:
            record_screening(design, yc, w, r, dropped[:step.n_dropped], step.dropped_corr_max,
                             step.dropped_norm_max, step.dropped_nonzero, positive, screened)
            fresh = NONE if step.dropped_nonzero else fresh
        if step.n_kept == 0:  # every feature is provably zero at the optimum, and now so is w
            r = yc.copy()
            primal, _, gap = residual_gap(r, yc, design.correlations(r, None, positive)[1], 0.0,
                                          lam)
            it += 1
            report(it, gap, primal, 0, 0)
            converged, stopped_by = True, "every feature screened out"
            break
        ws_size = step.ws_size
        prev_gap = gap
        ws = ws_buf[:ws_size].copy()
        used, fresh = solve_block(design, yc, w, r, ws, lam, positive,
                                  max(0.3 * gap, 0.1 * target), target, max_epochs - epochs,
                                  tuning, tracker)
        epochs += used
    result = LassoResult(converged=converged, n_iter=it, history=report.history, coef=w,
                         intercept=y_mean - float(design.mu @ w), duality_gap=gap / n,
                         primal=primal / n)
    progress.finish(result, stopped_by)
    return result


class _Report:
    """Records the working-set solver's outer iterations in the user's units (the solver
    works in ``n`` times them) and passes them to the callback / verbose printing."""

    def __init__(self, max_iter, progress, n, coef):
        self.history = ConvergenceHistory(max_iter + 1, ("working_set_size", "n_active"),
                                          criterion_name="duality_gap", objective_name="primal",
                                          labels=_LABELS)
        self.progress, self.n, self.coef = progress, n, coef
        self.start = time.perf_counter()

    def __call__(self, it, gap, primal, ws_size, n_active) -> bool:
        """Record one iteration; True if the callback asks to stop."""
        n = self.n
        self.history.record(it, primal / n, gap / n, elapsed=time.perf_counter() - self.start,
                            working_set_size=ws_size, n_active=n_active)
        return self.progress.step(it, duality_gap=gap / n, primal=primal / n, coef=self.coef,
                                  working_set_size=ws_size, n_active=n_active)


def _solve_cvxpy(X, y, design, yc, y_mean, alpha, fit_intercept, positive, tol_abs, progress):
    """The reference path: cvxpy's answer, with its gap recomputed here."""
    from ._reference import lasso_cvxpy

    coef, intercept, status, n_iter = lasso_cvxpy(X, y, alpha, fit_intercept, positive)
    n = X.shape[0]
    r = yc - design.matvec(coef)  # centred residual: the intercept profiled out, as above
    corr = design.rmatvec(r)
    corr_max = max(float(corr.max() if positive else np.abs(corr).max()), 0.0)
    primal, _, gap = (value / n for value in residual_gap(
        r, yc, corr_max, float(np.abs(coef).sum()), n * alpha))
    history = ConvergenceHistory.from_arrays([n_iter], [primal], [gap],
                                             criterion_name="duality_gap",
                                             objective_name="primal", labels=_LABELS)
    result = LassoResult(converged=status == "optimal", n_iter=n_iter, history=history,
                         coef=coef, intercept=intercept if fit_intercept else 0.0,
                         duality_gap=gap, primal=primal)
    progress.step(n_iter, duality_gap=gap, primal=primal, coef=coef)
    progress.finish(result, f"cvxpy status {status!r}")
    return result
