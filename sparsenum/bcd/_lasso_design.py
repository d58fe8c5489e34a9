"""The Lasso's design matrix as the working-set solver sees it (private).

A dense design is centred explicitly when an intercept is fitted (one copy, in Fortran order);
a CSC design stays sparse and is centred implicitly by its column means ``mu``. Either way the
solver asks the same things of it: column norms, correlations ``X'r`` over a set of features,
products with a coefficient vector, and Gram matrices of small supports.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sparsenum.utils import check_array

from ._lasso_outer_kernels import csc_column_stats, csc_correlations
from ._validation import check_design

__all__ = ["NONE", "Design"]


def _overflow_error():
    return ValueError("X has entries too large in magnitude: squared column norms overflow "
                      "float64; rescale X")


NONE = np.empty(0, dtype=np.intp)


class Design:
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
            self.corr = xty - y.mean() * self.colsum if fit_intercept else xty
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

    def correlations(self, r, cols, positive, fresh=NONE):
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
                                      cols, fresh, self.corr)
        return self.corr, max(pmax if positive else amax, 0.0)

    def refresh_correlations(self, r, cols):
        """``x_j'r`` (centred) for ``j`` in ``cols``, recorded as current for a sparse design
        (whose :meth:`correlations` then skips them while they stay ``fresh``)."""
        corr = self.rmatvec(r, cols)
        if self.sparse:
            self.corr[cols] = corr
        return corr

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
