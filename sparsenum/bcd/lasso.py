"""Lasso by working-set block coordinate descent with active-set Newton steps.

The objective is scikit-learn's ``1/(2n) ||y - Xw - b||^2 + alpha ||w||_1``. Each outer iteration
computes the full correlation ``X'r`` once (one BLAS / sparse product), which gives the duality
gap and a greedy score for every feature: the dual-constraint slack ``(n alpha - |x_j'r|) /
||x_j||`` (Gauss-Southwell on the dual, as in skglm's working sets). The block (working set) is the
current support plus the most violating features, twice the support's size. Cyclic coordinate
descent on the block, with the residual kept in place by a numba kernel, *identifies the active
set*; once the support stops changing we take the Newton step on it — the least-squares solve
``X_S'X_S w_S = X_S'y - n alpha sign(w_S)`` — which is exact when it keeps the signs (Nutini et
al. 2022, Section 6: finite termination for quadratics once the active set is identified).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

from sparsenum.base import ConvergenceHistory, SolverResult
from sparsenum.utils import check_array, check_int, check_scalar

from ._kernels import lasso_cd_dense, lasso_cd_sparse
from .problems import check_design

__all__ = ["LassoResult", "lasso_duality_gap", "solve_lasso"]


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


def _gap(r, y, corr_max, w_l1, n, alpha):
    """Primal, dual and gap at residual ``r`` with the dual point ``r`` rescaled to feasibility."""
    primal = 0.5 * float(r @ r) / n + alpha * w_l1
    scale = 1.0 if corr_max <= n * alpha else n * alpha / corr_max
    nu = scale * r
    dual = (float(nu @ y) - 0.5 * float(nu @ nu)) / n
    return primal, dual, primal - dual


def lasso_duality_gap(X, y, coef, alpha, *, intercept=0.0, positive=False):
    """Duality gap of ``1/(2n) ||y - X coef - intercept||^2 + alpha ||coef||_1``.

    The dual point is the residual rescaled so that ``||X'nu||_inf <= n alpha`` (only the upper
    side with ``positive=True``); with an intercept pass centred ``X`` and ``y``, or the fitted
    intercept (the residual is then centred when the intercept is optimal).

    Returns
    -------
    gap, primal, dual : float

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import lasso_duality_gap
    >>> gap, primal, dual = lasso_duality_gap(np.eye(2), [1.0, 0.0], [0.0, 0.0], 1.0)
    >>> gap, primal, dual
    (0.0, 0.25, 0.25)
    """
    X = check_design(X, "X")
    y = check_array(y, "y", ndim=1)
    coef = check_array(coef, "coef", ndim=1)
    n = X.shape[0]
    r = y - np.asarray(X @ coef).ravel() - intercept
    corr = np.asarray(X.T @ r).ravel()
    corr_max = float(corr.max() if positive else np.abs(corr).max())
    primal, dual, gap = _gap(r, y - intercept, max(corr_max, 0.0), float(np.abs(coef).sum()),
                             n, alpha)
    return gap, primal, dual


class _Design:
    """Centred design (explicitly for dense, implicitly by ``mu`` for CSC) with products."""

    def __init__(self, X, fit_intercept):
        self.sparse = sp.issparse(X)
        n, d = X.shape
        if self.sparse:
            self.X = X
            self.mu = (np.asarray(X.mean(axis=0)).ravel() if fit_intercept else np.zeros(d))
            sq = np.asarray(X.multiply(X).sum(axis=0)).ravel()
            self.norm2 = np.maximum(sq - n * self.mu**2, 0.0)
        else:
            self.mu = X.mean(axis=0) if fit_intercept else np.zeros(d)
            self.X = np.asfortranarray(X - self.mu if fit_intercept else X)
            self.norm2 = np.einsum("ij,ij->j", self.X, self.X)

    def matvec(self, w):
        out = np.asarray(self.X @ w).ravel()
        return out - self.mu @ w if self.sparse else out

    def rmatvec(self, r, cols=None):
        if cols is None:
            out = np.asarray(self.X.T @ r).ravel()
            return out - self.mu * r.sum() if self.sparse else out
        if self.sparse:
            return np.asarray(self.X[:, cols].T @ r).ravel() - self.mu[cols] * r.sum()
        return self.X[:, cols].T @ r

    def gram(self, cols):
        if self.sparse:
            sub = self.X[:, cols]
            G = (sub.T @ sub).toarray()
            return G - self.X.shape[0] * np.outer(self.mu[cols], self.mu[cols])
        sub = self.X[:, cols]
        return sub.T @ sub


_CONTROLLER = []


def _blas_controller():
    """One ThreadpoolController per process (building it scans the loaded libraries)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def _newton_on_support(design, y, w, support, lam, positive):
    """Newton step on the support's sign pattern (the face's exact minimiser) as far as it keeps
    the signs: the full step if no sign flips, else up to the first coefficient reaching zero.

    The objective restricted to the face is a convex quadratic minimised by the full step, so
    every point of the segment improves on ``w``. Returns ``(w_support, full)`` or None.
    """
    signs = np.sign(w[support])
    # one BLAS thread: these systems are small, and threaded BLAS on a busy machine can spin
    # for longer than the whole factorisation takes
    with _blas_controller().limit(limits=1, user_api="blas"):
        G = design.gram(support)
        rhs = design.rmatvec(y, support) - lam * signs
        try:
            w_s = np.linalg.solve(G, rhs)
        except np.linalg.LinAlgError:
            return None
    if not np.all(np.isfinite(w_s)):
        return None
    flipped = np.sign(w_s) != signs
    if not flipped.any():
        return w_s, True
    old = w[support]
    # first crossing of zero along old + t (w_s - old), t in (0, 1)
    t = np.min(old[flipped] / (old[flipped] - w_s[flipped]))
    step = old + t * (w_s - old)
    step[flipped & (np.abs(old / (old - w_s + 1e-300) - t) <= 1e-12)] = 0.0
    step[np.sign(step) != signs] = 0.0
    return step, False


def solve_lasso(X, y, alpha, *, fit_intercept=False, positive=False, tol=1e-8, max_iter=100,
                max_epochs=50_000, coef_init=None, p0=10) -> LassoResult:
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
        intercept is fitted) — scikit-learn's convention.
    max_iter : int, default=100
        Maximum outer iterations (working-set updates).
    max_epochs : int, default=50000
        Total budget of coordinate-descent passes over working sets.
    coef_init : array-like of shape (n_features,), optional
        Warm start.
    p0 : int, default=10
        Size of the first working set.

    Returns
    -------
    LassoResult
        ``history`` records the objective and the duality gap per outer iteration, with the
        working-set size and the number of nonzeros.

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
    X = check_design(X, "X")
    y = check_array(y, "y", ndim=1)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y must have length X.shape[0]={n}; got {y.shape[0]}")
    alpha = check_scalar(alpha, "alpha", low=0.0)
    tol = check_scalar(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    max_epochs = check_int(max_epochs, "max_epochs", low=1)
    p0 = check_int(p0, "p0", low=1)
    design = _Design(X, fit_intercept)
    y_mean = float(y.mean()) if fit_intercept else 0.0
    yc = y - y_mean
    lam = n * alpha
    w = np.zeros(d) if coef_init is None else check_array(coef_init, "coef_init", ndim=1,
                                                           copy=True)
    if w.shape[0] != d:
        raise ValueError(f"coef_init must have length n_features={d}; got {w.shape[0]}")
    if positive:
        w = np.maximum(w, 0.0)
    tol_abs = tol * float(yc @ yc) / n
    history = ConvergenceHistory(max_iter + 1, ("working_set_size", "n_active"),
                                 criterion_name="duality_gap", objective_name="primal")
    start = time.perf_counter()
    r = yc - design.matvec(w)
    epochs = 0
    gap = primal = np.inf
    converged = False
    it = 0
    ws_size = 0
    for it in range(max_iter + 1):
        corr = design.rmatvec(r)
        corr_max = float(corr.max() if positive else np.abs(corr).max())
        primal, _, gap = _gap(r, yc, max(corr_max, 0.0), float(np.abs(w).sum()), n, alpha)
        history.record(it, primal, gap, elapsed=time.perf_counter() - start,
                       working_set_size=ws_size, n_active=np.count_nonzero(w))
        if gap <= tol_abs:
            converged = True
            break
        if it == max_iter or epochs >= max_epochs:
            break
        # greedy block: the support plus the features whose dual constraint is most violated
        slack = (lam - (corr if positive else np.abs(corr))) / np.sqrt(np.maximum(design.norm2,
                                                                                  1e-300))
        support = np.flatnonzero(w)
        slack[support] = -np.inf
        slack[design.norm2 == 0] = np.inf
        ws_size = min(d, max(p0, 2 * support.size))
        ws = np.sort(np.argpartition(slack, ws_size - 1)[:ws_size]).astype(np.int64)
        epochs += _solve_block(design, yc, w, r, ws, lam, positive, alpha, n,
                               max(0.3 * gap, 0.1 * tol_abs), max_epochs - epochs)
    return LassoResult(converged=converged, n_iter=it, history=history, coef=w,
                       intercept=y_mean - float(design.mu @ w), duality_gap=gap, primal=primal)


def _solve_block(design, yc, w, r, ws, lam, positive, alpha, n, inner_tol, budget):
    """Coordinate descent on the working set ``ws`` until its restricted gap <= ``inner_tol``.

    ``w`` and ``r`` (the centred residual) are updated in place. Returns the epochs used.
    """
    check_every = 10
    used = 0
    last_support = None
    newton_tried = set()
    wait = 0  # checks to skip before the next Newton attempt (doubles after each failure)
    if design.sparse:
        state = np.array([float(design.mu @ w), 0.0])
        rs = r - state[0]  # kernel residual: true residual minus the offset mu'w
        state[1] = rs.sum()
        X = design.X
    while used < budget:
        n_ep = min(check_every, budget - used)
        if design.sparse:
            lasso_cd_sparse(X.indptr, X.indices, X.data, design.mu, ws, design.norm2, w, rs,
                            state, lam, positive, n_ep)
            r[:] = rs + state[0]
        else:
            lasso_cd_dense(design.X, ws, design.norm2, w, r, lam, positive, n_ep)
        used += n_ep
        support = ws[w[ws] != 0]
        key = (support.tobytes(), np.sign(w[support]).tobytes())
        wait -= 1
        if key == last_support and key not in newton_tried and support.size and wait <= 0:
            newton_tried.add(key)
            out = _newton_on_support(design, yc, w, support, lam, positive)
            wait = 2 ** min(len(newton_tried), 10) if out is None else 0
            if out is not None:
                w[support] = out[0]
                r[:] = yc - design.matvec(w)
                if design.sparse:
                    state[0] = float(design.mu @ w)
                    rs = r - state[0]
                    state[1] = rs.sum()
        last_support = key
        corr = design.rmatvec(r, ws)
        corr_max = float(corr.max() if positive else np.abs(corr).max())
        _, _, gap = _gap(r, yc, max(corr_max, 0.0), float(np.abs(w).sum()), n, alpha)
        if gap <= inner_tol:
            break
    return used
