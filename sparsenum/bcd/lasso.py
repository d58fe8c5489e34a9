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
from threadpoolctl import ThreadpoolController

from sparsenum.base import ConvergenceHistory, SolverResult
from sparsenum.utils import check_array, check_int, check_scalar

from ._lasso_kernels import (
    csc_column_stats,
    csc_correlations,
    gap_screen_select,
    lasso_ws_dense,
    lasso_ws_sparse,
)
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


def _check_csc(X):
    """A canonical float64 CSC design is used as is (``check_design`` would copy it); its
    finiteness is then checked on the column norms by ``_Design``."""
    if (X.format == "csc" and X.dtype == np.float64 and X.ndim == 2 and min(X.shape) >= 1
            and X.indptr.dtype == X.indices.dtype and X.has_canonical_format):
        return X
    return check_design(X, "X")


def _overflow_error():
    return ValueError("X has entries too large in magnitude: squared column norms overflow "
                      "float64; rescale X")


_NONE = np.empty(0, dtype=np.intp)


class _Design:
    """Centred design (explicitly for dense, implicitly by ``mu`` for CSC) with products.

    A dense design keeps the caller's memory order (no full copy without an intercept): the
    coordinate-descent kernel reads columns, so a C-ordered design has its working-set columns
    gathered into a small Fortran block once per outer iteration instead.
    """

    def __init__(self, X, fit_intercept, y):
        self.sparse = sp.issparse(X)
        self.centred = fit_intercept  # columns centred (explicitly if dense, by mu if sparse)
        n, d = X.shape
        if self.sparse:
            self.X = X
            self.colsum, sq, xty = csc_column_stats(X.indptr, X.indices, X.data, y)
            self.mu = self.colsum / n if fit_intercept else np.zeros(d)
            # correlations with the centred y, current while w = 0 (sum(y - mean) = 0)
            self._corr = xty - y.mean() * self.colsum if fit_intercept else xty
            if not np.isfinite(sq).all():  # NaN / inf stored, or overflowing entries
                check_design(X, "X")
                raise _overflow_error()
            self.norm2 = np.maximum(sq - n * self.mu**2, 0.0)
            self.fortran = True
            self._all = np.arange(d)
        else:
            self.mu = X.mean(axis=0) if fit_intercept else np.zeros(d)
            if fit_intercept:  # one copy, straight into Fortran order
                self.X = np.empty((n, d), order="F")
                np.subtract(X, self.mu, out=self.X)
            else:
                self.X = X
            self.fortran = self.X.flags.f_contiguous
            self.norm2 = np.einsum("ij,ij->j", self.X, self.X)
            if not np.isfinite(self.norm2).all():  # NaN / inf in X, or overflowing entries
                check_array(X, "X", ndim=2, order="A")
                raise _overflow_error()
        self.norm = np.sqrt(self.norm2)
        self.inv_norm = np.divide(1.0, self.norm, out=np.zeros(d), where=self.norm > 0.0)

    def block(self, ws):
        """``(matrix, cols)`` with column ``cols[k]`` of ``matrix`` the design column ``ws[k]``.

        For a C-ordered design, columns are copied once into a growing Fortran cache: successive
        working sets share most columns (the support), so each outer iteration gathers only the
        new ones.
        """
        if self.fortran:
            return self.X, ws
        if not hasattr(self, "_slot"):
            self._slot = np.full(self.X.shape[1], -1, dtype=np.int64)
            self._cache = np.empty((self.X.shape[0], 0), order="F")
            self._used = 0
        new = ws[self._slot[ws] < 0]
        if new.size:
            need = self._used + new.size
            if need > self._cache.shape[1]:
                cap = min(self.X.shape[1], max(need, 2 * self._cache.shape[1], 64))
                grown = np.empty((self.X.shape[0], cap), order="F")
                grown[:, :self._used] = self._cache[:, :self._used]
                self._cache = grown
            self._cache[:, self._used:need] = self.X.T[new].T
            self._slot[new] = np.arange(self._used, need)
            self._used = need
        return self._cache, self._slot[ws]

    def correlations(self, r, cols, positive, fresh=_NONE):
        """``(corr, corr_max)``: ``corr[j] = x_j'r`` (centred) for ``j`` in ``cols`` (sorted; all
        when None; other entries are stale) and the dual-feasibility maximum over them
        (``max corr`` with ``positive``, else ``max |corr|``, at least 0). A sparse design takes
        the entries of ``fresh`` (sorted) as current: the coordinate-descent kernel leaves the
        working set's correlations at the current residual."""
        if not self.sparse:  # one BLAS product over every column is cheaper than a gather
            corr = self.X.T @ r
            sub = corr if cols is None else corr[cols]
            cmax = sub.max() if positive else np.abs(sub).max()
            return corr, max(float(cmax), 0.0)
        if cols is None:
            cols = self._all
        amax, pmax = csc_correlations(self.X.indptr, self.X.indices, self.X.data, self.mu, r,
                                      cols, fresh, self._corr)
        return self._corr, max(pmax if positive else amax, 0.0)

    def stored(self, cols):
        """Number of stored entries in the columns ``cols`` (all of them if dense)."""
        if self.sparse:
            return int((self.X.indptr[cols + 1] - self.X.indptr[cols]).sum())
        return self.X.shape[0] * cols.size

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


# Anderson extrapolation of the inner iterates every K epochs (skglm uses 5 too)
_ANDERSON_K = 5
# sparse kernel: one epoch in five visits every working-set coordinate, the others only the
# nonzeros; five = the Anderson period, so every extrapolation window sees the same sequence
_FULL_EVERY = 5
_CHECK_EVERY = 10
_GROW = True  # double the working set while an outer iteration gains less than 4x on the gap

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
                max_epochs=50_000, coef_init=None, p0=100) -> LassoResult:
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
    p0 : int, default=100
        Size of the first working set (later ones hold twice the support, and at least twice
        the previous size while an outer iteration gains less than 4x on the gap). Smaller
        first sets cost more outer iterations, each a full product ``X'r``, which costs about
        as much as ten epochs on 250 columns.

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
    # dense designs keep their memory order (C or Fortran): no full copy just for validation;
    # their finiteness is checked on the column norms (_Design), saving two passes over X
    X = _check_csc(X) if sp.issparse(X) else check_array(X, "X", ndim=2, order="A",
                                                          allow_nan=True)
    y = check_array(y, "y", ndim=1)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y must have length X.shape[0]={n}; got {y.shape[0]}")
    alpha = check_scalar(alpha, "alpha", low=0.0)
    tol = check_scalar(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    max_epochs = check_int(max_epochs, "max_epochs", low=1)
    p0 = check_int(p0, "p0", low=1)
    design = _Design(X, fit_intercept, y)
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
    r = yc - design.matvec(w) if w.any() else yc.copy()
    epochs = 0
    track = {"key": None, "gap": np.inf, "tried": set()}
    gap = primal = np.inf
    converged = False
    it = 0
    ws_size = 0
    keep = np.arange(d)  # features not yet discarded by the gap safe rule (sorted)
    screened = []  # (residual, max |x_j'r|, max ||x_j||) over the features dropped then
    score = np.empty(d)  # slack of each kept feature (work array of the kernel)
    dropped = np.empty(d, dtype=np.intp)
    ws_buf = np.empty(d, dtype=np.intp)
    # sorted features whose correlations design holds at the current residual: the last
    # working set, or all of them at w = 0 for a sparse design
    fresh = design._all if design.sparse and not w.any() else _NONE
    prev_gap = np.inf  # unscaled, as in the kernels
    for it in range(max_iter + 1):
        last = it == max_iter or epochs >= max_epochs
        # gap, screening and the next working set in one kernel call (skipped when converged)
        step = (design.norm, design.inv_norm, keep, w, r, yc, lam,
                n * tol_abs if not last else np.inf, positive, p0,
                2 * ws_size if _GROW and it > 1 else 0, prev_gap, score, dropped, ws_buf)
        corr, corr_max = design.correlations(r, keep, positive, fresh)
        out = gap_screen_select(corr, corr_max, *step)
        if out[0] <= n * tol_abs and not _screened_below(screened, r, corr_max):
            # the restricted gap certifies the screened problem; report the full problem's
            corr, corr_max = design.correlations(r, None, positive, fresh)
            out = gap_screen_select(corr, corr_max, *step)
        gap_u, primal_u, nnz, n_kept, n_dropped, drop_cmax, drop_nmax, nonzero, size = out
        gap, primal = gap_u / n, primal_u / n
        history.record(it, primal, gap, elapsed=time.perf_counter() - start,
                       working_set_size=ws_size, n_active=nnz)
        if gap <= tol_abs:
            converged = True
            break
        if last:
            break
        keep = keep[:n_kept]  # compacted in place by the kernel
        if n_dropped:
            _record_screening(design, yc, w, r, dropped[:n_dropped], drop_cmax, drop_nmax,
                              nonzero, positive, screened)
            fresh = _NONE if nonzero else fresh
        if n_kept == 0:  # every feature is provably zero at the optimum, and now so is w
            r = yc.copy()
            primal, _, gap = _gap(r, yc, design.correlations(r, None, positive)[1], 0.0, n, alpha)
            converged = True
            break
        ws_size = size
        prev_gap = gap_u
        ws = ws_buf[:size].copy()
        used, fresh = _solve_block(design, yc, w, r, ws, lam, positive,
                                   n * max(0.3 * gap, 0.1 * tol_abs), n * tol_abs,
                                   max_epochs - epochs, _ANDERSON_K, track)
        epochs += used
    return LassoResult(converged=converged, n_iter=it, history=history, coef=w,
                       intercept=y_mean - float(design.mu @ w), duality_gap=gap, primal=primal)


def _record_screening(design, yc, w, r, dropped, cmax, nmax, nonzero, positive, screened):
    """Bookkeeping of features just dropped by gap safe screening (Fercoq, Gramfort & Salmon,
    ICML 2015; the test itself runs in :func:`gap_screen_select`).

    The dual ``D(nu) = 1/2 ||y||^2 - 1/2 ||y - nu||^2`` is 1-strongly concave, so the optimal dual
    point lies within ``sqrt(2 gap)`` of the rescaled residual ``nu = s r`` (unscaled ``gap``);
    feature ``j`` is inactive at the optimum when ``s |x_j'r| + ||x_j|| sqrt(2 gap) < lam``
    (the signed correlation with ``positive``). Zero columns are dropped too. Dropped features
    still nonzero in ``w`` are zeroed (``r`` updated); appends to ``screened`` what
    :func:`_screened_below` needs to bound the dropped correlations later.
    """
    if nonzero:
        w[dropped] = 0.0
        r[:] = yc - design.matvec(w)
        cmax = float(np.abs(design.correlations(r, dropped, positive)[0][dropped]).max())
    screened.append((r.copy(), cmax, nmax))


def _screened_below(screened, r, corr_max):
    """Whether every screened feature provably has ``|x_j'r| <= corr_max``, so that the gap of
    the screened problem is the full one: ``|x_j'r| <= |x_j'r_e| + ||x_j|| ||r - r_e||`` from
    the residual ``r_e`` of the screening event that dropped ``j``."""
    return all(cmax + nmax * float(np.linalg.norm(r - r_e)) <= corr_max
               for r_e, cmax, nmax in screened)


def _newton_pays(gap, prev_gap, target, size, n, epochs, nnz):
    """Whether the Newton step on a support of ``size`` should cost less than the coordinate
    descent epochs still needed, extrapolating the linear rate of the last chunk of ``epochs``.

    The step costs a Gram matrix, about ``nnz^2 / n`` flops for ``nnz`` stored entries in the
    support's columns (``n size^2`` when dense), and a Cholesky-like solve, ``size^3 / 3``; an
    epoch costs ``2 nnz``. Dense, that is ``size (1 + size / (3 n)) / 2`` epochs; on sparse
    columns the solve weighs ``1 / density`` times more.
    """
    nnz = max(nnz, 1)
    cost = (nnz * (nnz / n) + size**3 / 3.0) / (2.0 * nnz)
    if gap >= prev_gap:  # coordinate descent stalls on this face
        return True
    remaining = epochs * np.log(gap / target) / np.log(prev_gap / gap)
    return remaining > cost


def _solve_block(design, yc, w, r, ws, lam, positive, inner_tol, target, budget, anderson,
                 track):
    """Coordinate descent on the working set ``ws`` until its restricted gap <= ``inner_tol``.

    Gaps here are of the unscaled objective ``1/2 ||r||^2 + lam ||w||_1``; ``target`` is the
    outer one. ``w`` and ``r`` (the centred residual) are updated in place. ``track`` carries the
    last support / signs, its gap and the faces already tried by Newton across outer iterations.
    Returns the epochs used and the features whose correlations ``design`` now holds at the
    final residual (the working set for a sparse design, see :meth:`_Design.correlations`).
    """
    check_every = _CHECK_EVERY
    used = 0
    m = ws.size
    wb = w[ws].copy()
    norm2b = design.norm2[ws]
    hist = np.empty((anderson + 1, m))
    w_acc = np.empty(m)
    r_acc = np.empty_like(r)
    if design.sparse:
        X = design.X
        state = np.zeros(2)  # without an intercept mu = 0: no offsets, r itself is updated
        rs = r
        if design.centred:  # kernel residual: true residual minus the offset mu'w
            state[0] = float(design.mu @ w)
            rs = r - state[0]
            state[1] = rs.sum()
    else:
        Xb, cols = design.block(ws)
    while used < budget:
        n_ep = min(check_every, budget - used)
        if design.sparse:
            gap = lasso_ws_sparse(X.indptr, X.indices, X.data, design.mu, design.colsum, ws,
                                  norm2b, wb, rs, state, yc, lam, positive, n_ep, anderson, hist,
                                  w_acc, r_acc, _FULL_EVERY, design._corr)
        else:
            gap = lasso_ws_dense(Xb, cols, norm2b, wb, r, yc, lam, positive, n_ep, anderson,
                                 hist, w_acc, r_acc)
        used += n_ep
        inside = np.flatnonzero(wb)
        support = ws[inside]
        key = (support.tobytes(), np.sign(wb[inside]).tobytes())
        if (gap > target and key == track["key"] and key not in track["tried"]
                and inside.size and _newton_pays(gap, track["gap"], target, inside.size,
                                                 r.shape[0], n_ep, design.stored(support))):
            # the support and signs survived a whole chunk and coordinate descent is slow on
            # this face: take the exact step on it (finite termination once identified)
            track["tried"].add(key)
            w[ws] = wb
            out = _newton_on_support(design, yc, w, support, lam, positive)
            if out is not None:
                w[support] = out[0]
                wb[:] = w[ws]
                r[:] = yc - design.matvec(w)
                if design.sparse and design.centred:
                    state[0] = float(design.mu @ w)
                    rs = r - state[0]
                    state[1] = rs.sum()
                corr = design.rmatvec(r, ws)
                if design.sparse:  # keep the working set's correlations current
                    design._corr[ws] = corr
                corr_max = float(corr.max() if positive else np.abs(corr).max())
                n = r.shape[0]
                gap = n * _gap(r, yc, max(corr_max, 0.0), float(np.abs(wb).sum()), n, lam / n)[2]
        track["key"], track["gap"] = key, gap
        if gap <= inner_tol:
            break
    w[ws] = wb
    if design.sparse:
        if design.centred:
            r[:] = rs + state[0]
        return used, ws
    return used, _NONE
