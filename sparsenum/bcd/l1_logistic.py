"""L1-regularised binary logistic regression by working sets and proximal Newton steps.

The objective is ``sum_i log(1 + exp(-y_i x_i'w)) + lam ||w||_1`` with labels ``y_i = +-1``.
Each outer iteration computes the full gradient ``X'g`` once (one BLAS / sparse product), which
gives the duality gap and a greedy score for every feature; the working set is the support plus
the features with the largest ``|x_j'g|``, twice the support's size (as in celer and skglm).
On the working set, whose columns are gathered into a dense Fortran block, proximal Newton
iterations (a quadratic model of the loss minimised with the L1 term by coordinate descent,
then a backtracking line search) converge superlinearly once the active set is identified —
the Newton-on-the-active-set phase of Nutini, Laradji & Schmidt (2022, Section 6).

The dual point is the negative loss gradient ``-g`` rescaled into ``||X'u||_inf <= lam``; the
dual objective is ``sum_i H(y_i u_i)`` with ``H`` the binary entropy (natural logarithm).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse as sp
from scipy.special import entr

from sparsenum.base import ConvergenceHistory, SolverResult
from sparsenum.utils import check_array, check_int, check_scalar

from ._l1_logistic_kernels import NewtonWork, l1_logistic_pn, logistic_dual, logistic_state
from ._progress import Progress, rounding_floor
from ._validation import (
    check_callback,
    check_design,
    check_solver,
    check_squares_finite,
    check_tol,
    check_verbose,
)
from .linear_problems import squared_column_norms

__all__ = ["L1LogisticResult", "l1_logistic_duality_gap", "solve_l1_logistic"]



@dataclasses.dataclass(frozen=True)
class Tuning:
    """Constants of the working-set L1-logistic solver, each with its reason."""

    #: coordinate-descent passes over the working set per proximal Newton step: the quadratic
    #: model only has to be solved well enough to give a descent direction
    max_cd: int = 50
    #: the model's coordinate descent stops once its steps fall below this fraction of the KKT
    #: violation (solving the model further is wasted on a direction that is line-searched)
    cd_ratio: float = 0.01
    #: outer iterations without a new smallest gap: the gap sits at rounding level and the solve
    #: ends (with ``tol=0``, machine precision, that counts as converged)
    stall_outer: int = 5


TUNING = Tuning()
_LABELS = {"duality_gap": "duality gap (objective units)", "primal": "objective",
           "working_set_size": "working-set size (features)", "n_active": "nonzero coefficients",
           "newton_steps": "proximal Newton steps on the working set"}


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class L1LogisticResult(SolverResult):
    """Result of :func:`solve_l1_logistic`.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
    duality_gap : float
        Final duality gap (see :func:`l1_logistic_duality_gap`).
    primal : float
        Final objective value.
    """

    coef: np.ndarray
    duality_gap: float
    primal: float


def _check_labels(y, n):
    y = check_array(y, "y", ndim=1)
    if y.shape[0] != n:
        raise ValueError(f"y must have length X.shape[0]={n}; got {y.shape[0]}")
    if not np.all(np.abs(y) == 1.0):
        values = np.unique(y)
        raise ValueError(f"y must hold labels -1 and +1; got values {values[:5].tolist()}"
                         f"{' ...' if values.size > 5 else ''}")
    return y


def _check_coef(coef, name, d):
    coef = check_array(coef, name, ndim=1)
    if coef.shape[0] != d:
        raise ValueError(f"{name} must have length X.shape[1]={d} (one coefficient per "
                         f"feature); got {coef.shape[0]}")
    return coef


def l1_logistic_duality_gap(X, y, coef, lam):
    """Duality gap of ``sum_i log(1 + exp(-y_i x_i'coef)) + lam ||coef||_1``.

    The dual point is ``u = -s g`` with ``g_i = -y_i sigmoid(-y_i x_i'coef)`` the loss gradient
    in ``z = X coef`` and ``s = min(1, lam / ||X'g||_inf)`` (feasibility ``||X'u||_inf <= lam``);
    the dual objective is ``sum_i H(y_i u_i)``, ``H(t) = -t log t - (1 - t) log(1 - t)``.

    Returns
    -------
    gap, primal, dual : float

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import l1_logistic_duality_gap
    >>> gap, primal, dual = l1_logistic_duality_gap(np.eye(2), [1.0, -1.0], [0.0, 0.0], 1.0)
    >>> round(gap, 12), round(primal, 6)
    (0.0, 1.386294)
    """
    X = check_design(X, "X")
    y = _check_labels(y, X.shape[0])
    coef = _check_coef(coef, "coef", X.shape[1])
    lam = check_scalar(lam, "lam", low=0.0)
    margin = y * np.asarray(X @ coef).ravel()
    p = np.exp(-np.logaddexp(0.0, margin))  # sigmoid(-margin)
    grad = np.asarray(X.T @ (-y * p)).ravel()
    gmax = float(np.abs(grad).max())
    scale = 1.0 if gmax <= lam else lam / gmax
    primal = float(np.logaddexp(0.0, -margin).sum()) + lam * float(np.abs(coef).sum())
    dual = float((entr(scale * p) + entr(1.0 - scale * p)).sum())
    if not (np.isfinite(primal) and np.isfinite(gmax)):
        raise ValueError("the objective at coef overflows float64: X or coef has entries too "
                         "large in magnitude; rescale them")
    return primal - dual, primal, dual


def _gather(X, ws):
    """Working-set columns as a dense Fortran block."""
    if sp.issparse(X):
        return X[:, ws].toarray(order="F")
    return np.asfortranarray(X[:, ws])


def solve_l1_logistic(X, y, lam, *, tol=1e-8, max_iter=100, max_newton=50, coef_init=None,
                      p0=10, solver="bcd", verbose=0, callback=None) -> L1LogisticResult:
    """Minimise ``sum_i log(1 + exp(-y_i x_i'w)) + lam ||w||_1`` (labels ``y_i = +-1``).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Labels -1 and +1.
    lam : float
        Penalty strength, ``>= 0`` (scikit-learn's ``1 / C``).
    tol : float, default=1e-8
        Stop when the duality gap is at most ``tol * n_samples * log 2`` (``tol`` times the
        objective at zero). ``tol=0`` asks for machine precision: the solve then ends when the
        gap stops decreasing (five outer iterations without a new smallest gap, or a working
        set on which no Newton step is possible any more), and counts as converged if the gap
        is within rounding (``16 n eps`` times that scale). With ``lam=0`` the gap is the
        loss itself unless the gradient vanishes exactly (and separable data have no
        minimiser).
    max_iter : int, default=100
        Maximum outer iterations (working-set updates).
    max_newton : int, default=50
        Maximum proximal Newton iterations per working set.
    coef_init : array-like of shape (n_features,), optional
        Warm start.
    p0 : int, default=10
        Size of the first working set (later ones hold twice the support).
    solver : {"bcd", "cvxpy"}, default="bcd"
        ``"cvxpy"`` hands the same problem to cvxpy's default conic solver (an independent
        interior-point method with its own optimality certificate): a slow reference for small
        problems. It ignores ``tol``, ``max_iter``, ``max_newton``, ``coef_init`` and ``p0``;
        ``converged`` is cvxpy's status ``"optimal"``, ``n_iter`` its solver's iterations, and
        ``duality_gap`` is recomputed here from its ``coef``.
    verbose : int or bool, default=0
        ``1``: a summary line at the end; ``2``: a line per outer iteration as well.
    callback : callable, optional
        ``callback(iteration, state)`` after each outer iteration; ``state`` is a read-only
        mapping with ``duality_gap``, ``primal``, ``coef`` (a read-only view: copy it to keep
        it), ``working_set_size``, ``n_active`` and ``newton_steps``. Returning ``True`` stops
        the solve.

    Returns
    -------
    L1LogisticResult
        ``history`` records the objective and the duality gap per outer iteration, with the
        working-set size, the number of nonzeros and the Newton iterations.

    Raises
    ------
    ValueError
        For labels other than -1 and +1, negative or non-finite ``lam`` or ``tol``, inputs of
        inconsistent sizes, NaN or infinite entries, or entries of ``X`` so large that its
        squared column norms overflow.
    TypeError
        For arguments of the wrong type.

    References
    ----------
    J. Nutini, I. Laradji, M. Schmidt. Let's Make Block Coordinate Descent Converge Faster.
    JMLR 23, 2022 (active-set identification, then Newton steps on the active set).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import solve_l1_logistic
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 20))
    >>> y = np.sign(X[:, 0] - X[:, 1] + 0.1 * rng.standard_normal(100))
    >>> res = solve_l1_logistic(X, y, 10.0)
    >>> res.converged, np.flatnonzero(res.coef).tolist()
    (True, [0, 1])
    """
    X = check_design(X, "X")
    n, d = X.shape
    y = _check_labels(y, n)
    lam = check_scalar(lam, "lam", low=0.0)
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", low=1)
    max_newton = check_int(max_newton, "max_newton", low=1)
    p0 = check_int(p0, "p0", low=1)
    solver = check_solver(solver)
    verbose = check_verbose(verbose)
    callback = check_callback(callback)
    w = np.zeros(d) if coef_init is None else _check_coef(coef_init, "coef_init", d).copy()
    # the Newton steps need the columns' squared norms (Hessian bounds) in range
    check_squares_finite(squared_column_norms(X), "X", "squared column norms")
    tol_abs = tol * n * np.log(2.0)
    progress = Progress("solve_l1_logistic", verbose, callback, "duality_gap", tol_abs)
    if solver == "cvxpy":
        return _solve_cvxpy(X, y, lam, progress)
    return _solve_working_set(X, y, w, lam, tol, tol_abs, max_iter, max_newton, p0, progress)


def _solve_working_set(X, y, w, lam, tol, tol_abs, max_iter, max_newton, p0, progress):
    """The working-set proximal Newton solver (see the module docstring); ``w`` is updated in
    place."""
    n, d = X.shape
    floor = rounding_floor(n, n * np.log(2.0))  # what tol=0 can certify
    history = ConvergenceHistory(max_iter + 1, ("working_set_size", "n_active", "newton_steps"),
                                 criterion_name="duality_gap", objective_name="primal",
                                 labels=_LABELS)
    start = time.perf_counter()
    z = np.asarray(X @ w).ravel() if w.any() else np.zeros(n)
    p = np.empty(n)
    work_n = [np.empty(n) for _ in range(4)]
    gap = primal = np.inf
    converged = False
    stopped_by = "max_iter reached"
    it = ws_size = steps = 0
    prev_ws = None
    best_gap, since_best = np.inf, 0
    for it in range(max_iter + 1):
        loss = logistic_state(y, z, p)
        grad = np.asarray(X.T @ (-y * p)).ravel()
        gmax = float(np.abs(grad).max())
        scale = 1.0 if gmax <= lam else lam / gmax
        primal = loss + lam * float(np.abs(w).sum())
        gap = primal - logistic_dual(p, scale)
        nnz = int(np.count_nonzero(w))
        history.record(it, primal, gap, elapsed=time.perf_counter() - start,
                       working_set_size=ws_size, n_active=nnz, newton_steps=steps)
        stop = progress.step(it, duality_gap=gap, primal=primal, coef=w,
                             working_set_size=ws_size, n_active=nnz, newton_steps=steps)
        if gap <= tol_abs:
            converged, stopped_by = True, "duality gap below target"
            break
        if gap < best_gap:
            best_gap, since_best = gap, 0
        else:
            since_best += 1
        if since_best >= TUNING.stall_outer:
            converged = tol == 0.0 and gap <= floor
            stopped_by = "no progress left at machine precision"
            break
        if stop:
            stopped_by = "stopped by the callback"
            break
        if it == max_iter:
            break
        # greedy working set: the support plus the features with the largest |x_j'g|
        score = np.abs(grad)
        support = np.flatnonzero(w)
        score[support] = np.inf
        ws_size = min(d, max(p0, 2 * support.size))
        ws = np.sort(np.argpartition(-score, ws_size - 1)[:ws_size])
        if steps == 0 and np.array_equal(ws, prev_ws):
            # no Newton step was possible on this working set and it comes back unchanged:
            # nothing left to gain at this precision
            converged = tol == 0.0 and gap <= floor
            stopped_by = "no progress left at machine precision"
            break
        B = _gather(X, ws)
        wb = w[ws].copy()
        m = ws.size
        prev_ws = ws
        h, g, bd, zt = work_n
        work = NewtonWork(p, h, g, bd, zt, np.empty(m), np.empty(m), np.empty(m))
        steps = l1_logistic_pn(B, y, wb, z, lam, max_newton, TUNING.max_cd, TUNING.cd_ratio,
                               max(0.3 * gap, 0.1 * tol_abs), work).n_newton
        w[ws] = wb
    result = L1LogisticResult(converged=converged, n_iter=it, history=history, coef=w,
                              duality_gap=gap, primal=primal)
    progress.finish(result, stopped_by)
    return result


def _solve_cvxpy(X, y, lam, progress):
    """The reference path: cvxpy's answer, with its gap recomputed here."""
    from ._reference import l1_logistic_cvxpy

    coef, status, n_iter = l1_logistic_cvxpy(X, y, lam)
    gap, primal, _ = l1_logistic_duality_gap(X, y, coef, lam)
    history = ConvergenceHistory.from_arrays([n_iter], [primal], [gap],
                                             criterion_name="duality_gap",
                                             objective_name="primal", labels=_LABELS)
    result = L1LogisticResult(converged=status == "optimal", n_iter=n_iter, history=history,
                              coef=coef, duality_gap=gap, primal=primal)
    progress.step(n_iter, duality_gap=gap, primal=primal, coef=coef)
    progress.finish(result, f"cvxpy status {status!r}")
    return result
