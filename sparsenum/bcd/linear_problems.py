"""Linear-model problems of the general framework: least squares, binary and multinomial
logistic regression, ``f(x) = sum_i loss(a_i'X) + l2/2 ||x||^2``.

The linear predictor ``z = A X`` and the full gradient are updated after a block step by touching
only the rows of ``A`` that the block's columns reach (or, for small dense least squares, one
column block of the Gram matrix).

Coordinates of the multinomial problem are the entries of the ``(n_features, n_classes)`` weight
matrix in C order: coordinate ``i`` is feature ``i // n_classes`` of class ``i % n_classes``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit, logsumexp, softmax

from sparsenum.utils import check_array, check_int, check_scalar

from ._validation import check_design
from .problems import BCDProblem, ProblemState

__all__ = ["BinaryLogistic", "LeastSquares", "MultinomialLogistic", "squared_column_norms"]

_GRAM_MAX_FEATURES = 2048  # dense least squares keeps A'A when it is at most this wide


def squared_column_norms(A):
    """``||a_j||^2`` of every column of a dense array or CSC matrix."""
    if sp.issparse(A):
        return np.asarray(A.multiply(A).sum(axis=0)).ravel()
    return np.einsum("ij,ij->j", A, A)


class _LinearModelProblem(BCDProblem):
    """``f(x) = sum_i loss(z_i) + l2/2 ||x||^2`` with ``z = A X`` (``X`` of shape (d, k))."""

    curvature = 1.0  # sup of the loss's second derivative (matrix sense for multinomial)

    def __init__(self, A, n_outputs, l1, l2, nonneg):
        A = check_design(A)
        self.A = A
        self.n_samples, self.n_features = A.shape
        self.k = n_outputs
        self.n_coords = self.n_features * self.k
        self._check_penalty(l1, nonneg)
        self.l2 = check_scalar(l2, "l2", low=0.0)
        self._sparse = sp.issparse(A)
        self._A_csr = A.tocsr() if self._sparse else None
        self._col_norm2 = squared_column_norms(A)
        if not np.isfinite(self._col_norm2).all():
            raise ValueError("A has entries too large in magnitude: its squared column norms "
                             "overflow float64; rescale A")
        self.lipschitz = np.repeat(self.curvature * self._col_norm2 + self.l2, self.k)
        self._gram = None
        if self.is_quadratic and self.n_features <= _GRAM_MAX_FEATURES:
            # small least squares: keep A'A, so a block step costs O(n_features * |b|) and z is
            # not needed (it is left stale: state.z is None)
            self._gram = np.asarray((A.T @ A).toarray() if self._sparse else A.T @ A)

    # loss interface: z_rows (m, k), rows index array or slice
    def _loss_rows(self, z, rows):
        raise NotImplementedError  # pragma: no cover

    def _dloss(self, z, rows):
        raise NotImplementedError  # pragma: no cover

    def start(self, x0=None):
        x = self._check_x0(x0)
        X = x.reshape(self.n_features, self.k)
        z = np.asarray(self.A @ X).reshape(self.n_samples, self.k)
        allrows = slice(None)
        grad = np.asarray(self.A.T @ self._dloss(z, allrows)).ravel() + self.l2 * x
        f = self._loss(z, allrows) + 0.5 * self.l2 * float(x @ x)
        # with the Gram matrix kept, block steps never read z: it is left stale (None)
        return ProblemState(x=x, z=None if self._gram is not None else z, grad=grad,
                            f=float(f))

    def _delta_z(self, block, d):
        """Rows reached by the block's columns and the change of ``z`` on them."""
        feats = block // self.k
        D = np.zeros((block.shape[0], self.k))
        D[np.arange(block.shape[0]), block % self.k] = d
        if self._sparse:
            sub = self.A[:, feats]
            rows = np.unique(sub.indices)
            dz = np.asarray(sub @ D)[rows]
        else:
            rows = slice(None)
            dz = self.A[:, feats] @ D
        return rows, dz

    def _loss_change(self, z_old, dz, rows):
        """Sum over rows of loss(z_old + dz) - loss(z_old), per row first (no cancellation)."""
        return float(np.sum(self._loss_rows(z_old + dz, rows) - self._loss_rows(z_old, rows)))

    def _loss(self, z, rows):
        return float(np.sum(self._loss_rows(z, rows)))

    def smooth_change(self, state, block, d):
        if self._gram is not None:
            Gd = self._gram[np.ix_(block, block)] @ d
            return float(state.grad[block] @ d + 0.5 * d @ Gd + 0.5 * self.l2 * d @ d)
        rows, dz = self._delta_z(block, d)
        change = self._loss_change(state.z[rows], dz, rows)
        xb = state.x[block]
        return change + 0.5 * self.l2 * float(d @ (2 * xb + d))

    def directional_derivative(self, state, block, d):
        if self._gram is not None:
            Gd = self._gram[np.ix_(block, block)] @ d
            return float((state.grad[block] + Gd + self.l2 * d) @ d)
        rows, dz = self._delta_z(block, d)
        slope = float(np.sum(self._dloss(state.z[rows] + dz, rows) * dz))
        return slope + self.l2 * float((state.x[block] + d) @ d)

    def apply(self, state, block, d):
        if self._gram is not None:
            state.f += self.smooth_change(state, block, d)
            state.grad += self._gram[:, block] @ d
            state.grad[block] += self.l2 * d
            state.x[block] += d
            return
        rows, dz = self._delta_z(block, d)
        z_old = state.z[rows]
        z_new = z_old + dz
        g2 = state.grad.reshape(self.n_features, self.k)
        delta = self._dloss(z_new, rows) - self._dloss(z_old, rows)
        if self._sparse:
            g2 += np.asarray(self._A_csr[rows].T @ delta)
        else:
            g2 += self.A.T @ delta
        xb = state.x[block]
        state.f += self._loss_change(z_old, dz, rows) + 0.5 * self.l2 * float(d @ (2 * xb + d))
        if self.l2:
            state.grad[block] += self.l2 * d
        state.z[rows] = z_new
        state.x[block] += d

    def _columns(self, block):
        cols = self.A[:, block // self.k]
        return cols.toarray() if self._sparse else cols

    def block_bound(self, block):
        if self._gram is not None:
            H = self._gram[np.ix_(block, block)].copy()
            H[np.diag_indices_from(H)] += self.l2
            return H
        Ab = self._columns(block)
        H = self.curvature * (Ab.T @ Ab)
        if self.k > 1:
            cls = block % self.k
            H *= cls[:, None] == cls[None, :]
        H[np.diag_indices_from(H)] += self.l2
        return H

    def diag_bound(self, block_size):
        if self._sparse:
            absA = abs(self.A)
            rows = np.asarray(absA.sum(axis=1)).ravel()
            gersh = np.asarray(absA.T @ rows).ravel()
        else:
            gersh = np.abs(self.A).T @ np.abs(self.A).sum(axis=1)
        # |H_ij| <= sqrt(L_i L_j): a block of tau coordinates is also bounded by tau sqrt(L_i L_max)
        cs = np.sqrt(self._col_norm2)
        bound = np.minimum(gersh, block_size * cs * cs.max())
        return np.repeat(self.curvature * bound + self.l2, self.k)

    def bound_matvec(self, v):
        V = v.reshape(self.n_features, self.k)
        out = self.curvature * np.asarray(self.A.T @ np.asarray(self.A @ V)).reshape(V.shape)
        return out.ravel() + self.l2 * v


class LeastSquares(_LinearModelProblem):
    """``f(x) = 1/2 ||A x - b||^2 + l2/2 ||x||^2`` (+ ``l1 ||x||_1``, ``x >= 0`` if ``nonneg``).

    Parameters
    ----------
    A : array-like or sparse matrix of shape (n_samples, n_features)
        Design; sparse input is kept sparse (CSC and CSR copies).
    b : array-like of shape (n_samples,)
        Targets.
    l1, l2 : float, default=0
        Penalty strengths.
    nonneg : bool, default=False
        Constrain ``x >= 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import LeastSquares
    >>> p = LeastSquares(np.eye(3), [1.0, 2.0, 3.0])
    >>> s = p.start()
    >>> s.f, s.grad
    (7.0, array([-1., -2., -3.]))
    """

    is_quadratic = True
    curvature = 1.0

    def __init__(self, A, b, *, l1=0.0, l2=0.0, nonneg=False):
        super().__init__(A, 1, l1, l2, nonneg)
        b = check_array(b, "b", ndim=1)
        if b.shape[0] != self.n_samples:
            raise ValueError(f"b must have length A.shape[0]={self.n_samples}; got {b.shape[0]}")
        self.b = b.reshape(-1, 1)

    def _loss_rows(self, z, rows):
        r = z - self.b[rows]
        return 0.5 * r * r

    def _loss_change(self, z_old, dz, rows):
        return float(np.sum(dz * (z_old - self.b[rows] + 0.5 * dz)))

    def _dloss(self, z, rows):
        return z - self.b[rows]

    def block_hessian(self, state, block):
        return self.block_bound(block)


class BinaryLogistic(_LinearModelProblem):
    """``f(x) = sum_i log(1 + exp(-y_i a_i'x)) + l2/2 ||x||^2`` with labels ``y_i`` in {-1, +1}.

    Parameters
    ----------
    A : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Labels in {-1, +1}.
    l1, l2 : float, default=0
    nonneg : bool, default=False

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import BinaryLogistic
    >>> p = BinaryLogistic(np.eye(2), [1, -1])
    >>> round(p.start().f, 6)  # 2 log 2
    1.386294
    """

    curvature = 0.25

    def __init__(self, A, y, *, l1=0.0, l2=0.0, nonneg=False):
        super().__init__(A, 1, l1, l2, nonneg)
        y = check_array(y, "y", ndim=1)
        if y.shape[0] != self.n_samples:
            raise ValueError(f"y must have length A.shape[0]={self.n_samples}; got {y.shape[0]}")
        if not np.isin(y, (-1.0, 1.0)).all():
            raise ValueError(f"y must hold labels -1 and +1; got values {np.unique(y)[:5]}")
        self.y = y.reshape(-1, 1)

    def _loss_rows(self, z, rows):
        return -log_expit(self.y[rows] * z)

    def _dloss(self, z, rows):
        y = self.y[rows]
        return -y * expit(-y * z)

    def block_hessian(self, state, block):
        Ab = self._columns(block)
        z = state.z[:, 0]
        w = expit(z) * expit(-z)
        H = Ab.T @ (w[:, None] * Ab)
        H[np.diag_indices_from(H)] += self.l2
        return H


class MultinomialLogistic(_LinearModelProblem):
    """Softmax cross-entropy ``f(X) = sum_i [logsumexp(a_i'X) - a_i'X y_i] + l2/2 ||X||_F^2``.

    Coordinates are the entries of ``X`` (n_features x n_classes) in C order. The matrix bound is
    Böhning's ``1/2 (I - 11'/K) (x) A'A <= 1/2 I (x) A'A``.

    Parameters
    ----------
    A : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Integer class labels 0..n_classes-1.
    n_classes : int, optional
        Number of classes (default ``max(y) + 1``).
    l1, l2 : float, default=0
    nonneg : bool, default=False

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import MultinomialLogistic
    >>> p = MultinomialLogistic(np.eye(3), [0, 1, 2])
    >>> round(p.start().f, 6)  # 3 log 3
    3.295837
    """

    curvature = 0.5

    def __init__(self, A, y, *, n_classes=None, l1=0.0, l2=0.0, nonneg=False):
        y = check_array(y, "y", ndim=1, dtype=None)
        if (y != np.round(y)).any() or (y < 0).any():
            raise ValueError("y must hold integer class labels 0..n_classes-1")
        y = y.astype(np.int64)
        k = check_int(n_classes, "n_classes", low=2, allow_none=True)
        if k is None:
            k = int(y.max()) + 1
            if k < 2:
                raise ValueError("n_classes must be >= 2: y holds only the label 0 (give "
                                 "n_classes, or labels of at least two classes)")
        elif y.max() >= k:
            raise ValueError(f"n_classes must be > max(y)={int(y.max())}; got {k}")
        super().__init__(A, k, l1, l2, nonneg)
        if y.shape[0] != self.n_samples:
            raise ValueError(f"y must have length A.shape[0]={self.n_samples}; got {y.shape[0]}")
        self.Y = np.zeros((self.n_samples, k))
        self.Y[np.arange(y.shape[0]), y] = 1.0

    def _loss_rows(self, z, rows):
        return logsumexp(z, axis=1) - np.sum(self.Y[rows] * z, axis=1)

    def _dloss(self, z, rows):
        return softmax(z, axis=1) - self.Y[rows]

    def block_hessian(self, state, block):
        Ab = self._columns(block)
        P = softmax(state.z, axis=1)[:, block % self.k]
        AP = Ab * P
        cls = block % self.k
        H = (AP.T @ Ab) * (cls[:, None] == cls[None, :]) - AP.T @ AP
        H[np.diag_indices_from(H)] += self.l2
        return H
