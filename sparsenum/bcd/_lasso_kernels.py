"""Numba kernels of the working-set Lasso solver's inner loop (private).

Both kernels run a chunk of cyclic coordinate-descent epochs of ``1/2 ||r||^2 + lam ||w_b||_1``
restricted to a working set, keep the residual in place, extrapolate the iterates every ``K``
epochs (Anderson acceleration, kept only when it lowers the objective; Anderson 1965, as in
Bertrand & Massias 2021) and end with the duality gap restricted to the working set, so one
Python call costs one chunk and no extra pass over the data.

* ``lasso_ws_dense``: dense design; ``X[:, cols[k]]`` is the column of coordinate ``k`` (a
  Fortran-ordered design and global indices, or a gathered block and ``arange``).
* ``lasso_ws_sparse``: CSC design centred implicitly by ``mu``; it also leaves the working
  set's correlations for the next outer iteration.

The outer iteration's kernels (correlations, gap, screening, working-set choice) are in
``_lasso_outer_kernels.py``.
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np

from sparsenum.utils import jit

from ._kernels import _REASSOC, _l1, _prox

#: a CSC design centred implicitly by its column means ``mu`` (``colsum``: its column sums)
CSCDesign = namedtuple("CSCDesign", ["indptr", "indices", "data", "mu", "colsum"])
#: Anderson extrapolation every ``K`` epochs (0: never) and its work arrays: ``hist`` holds the
#: last ``K + 1`` iterates (shape ``(K + 1, m)``), ``w_acc`` (m) and ``r_acc`` (n) the candidate
AndersonWork = namedtuple("AndersonWork", ["K", "hist", "w_acc", "r_acc"])


@jit
def _u(i):
    """An index as unsigned: numba then skips the negative-index wraparound test. Loop
    positions over ``indptr`` ranges must be unsigned too: with CSC's int32 ``indptr`` a signed
    position costs a sign extension and a wraparound test per read (measured 3x on a column
    update, 1.7x on a column dot product)."""
    return numba.uint64(i)


@jit
def _col_dot(indptr, indices, data, v, j):
    """``x_j'v`` for CSC column ``j``, for passes over many independent columns.

    Unsigned positions: signed int32 ones cost a sign extension and a wraparound test per read
    (2-3x on these loops). Plain scalar loads and one running sum: letting LLVM reassociate
    would vectorise into gathers, slower here; the add chains of successive columns are
    independent, so the core overlaps them (more partial sums measured 1.7x slower on short
    text-like columns).
    """
    g = 0.0
    for p in range(_u(indptr[j]), _u(indptr[j + 1])):
        g += data[p] * v[_u(indices[p])]
    return g


@jit
def _col_dot_cd(indptr, indices, data, v, j):
    """``x_j'v`` inside coordinate descent, where each column waits for the previous update:
    four partial sums shorten the add chain on the critical path (1.15x on an epoch)."""
    p = _u(indptr[j])
    stop = _u(indptr[j + 1])
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    # unsigned constants (uint64 + int64 would be typed float64), as casts rather than calls
    # of _u, each of whose literal arguments would compile a specialisation of its own
    one = numba.uint64(1)
    two = numba.uint64(2)
    three = numba.uint64(3)
    four = numba.uint64(4)
    while p + three < stop:
        s0 += data[p] * v[_u(indices[p])]
        s1 += data[p + one] * v[_u(indices[p + one])]
        s2 += data[p + two] * v[_u(indices[p + two])]
        s3 += data[p + three] * v[_u(indices[p + three])]
        p += four
    while p < stop:
        s0 += data[p] * v[_u(indices[p])]
        p += one
    return (s0 + s1) + (s2 + s3)


@jit
def _col_axpy(indptr, indices, data, v, j, delta):
    """``v -= delta x_j`` for CSC column ``j`` (unsigned positions: 3x faster than int32 ones)."""
    for p in range(_u(indptr[j]), _u(indptr[j + 1])):
        v[_u(indices[p])] -= data[p] * delta


@jit(fastmath=_REASSOC)
def _difference_gram(hist, K, C):
    """``C[a, b] = (w_{a+1} - w_a)'(w_{b+1} - w_b)`` for ``a, b < K`` and ``C[a, K] = 1``: the
    differences once, then vectorised dot products (contiguous rows, no gathers)."""
    m = hist.shape[1]
    D = np.empty((K, m))
    for a in range(K):
        for j in range(m):
            D[a, j] = hist[a + 1, j] - hist[a, j]
    for a in range(K):
        for b in range(a, K):
            s = 0.0
            for j in range(m):
                s += D[a, j] * D[b, j]
            C[a, b] = s
            C[b, a] = s
        C[a, K] = 1.0


@jit
def _anderson_weights(hist, K, coefs):
    """Weights ``c`` (summing to one) minimising ``||sum_k c_k (w_{k+1} - w_k)||`` over the last
    ``K + 1`` iterates stored in the rows of ``hist``; False if the small system is singular."""
    C = np.empty((K, K + 1))
    _difference_gram(hist, K, C)
    scale = 0.0
    for a in range(K):
        scale = max(scale, C[a, a])
    if scale <= 0.0:
        return False
    # Gaussian elimination with partial pivoting on [C | 1] (K is tiny)
    for p in range(K):
        piv = p
        for a in range(p + 1, K):
            if abs(C[a, p]) > abs(C[piv, p]):
                piv = a
        if abs(C[piv, p]) <= 1e-13 * scale:
            return False
        if piv != p:
            for b in range(K + 1):
                C[p, b], C[piv, b] = C[piv, b], C[p, b]
        for a in range(p + 1, K):
            f = C[a, p] / C[p, p]
            for b in range(p, K + 1):
                C[a, b] -= f * C[p, b]
    total = 0.0
    for a in range(K - 1, -1, -1):
        s = C[a, K]
        for b in range(a + 1, K):
            s -= C[a, b] * coefs[b]
        coefs[a] = s / C[a, a]
        total += coefs[a]
    if total == 0.0 or not np.isfinite(total):
        return False
    for a in range(K):
        coefs[a] /= total
    return True


@jit
def _extrapolate(hist, K, w_acc, nonneg):
    """Anderson point of the stored iterates into ``w_acc``; False when it cannot be used."""
    coefs = np.empty(K)
    if not _anderson_weights(hist, K, coefs):
        return False
    for j in range(hist.shape[1]):
        v = 0.0
        for k in range(K):
            v += coefs[k] * hist[k + 1, j]
        if nonneg and v < 0.0:
            return False
        w_acc[j] = v
    return True


@jit(fastmath=_REASSOC)
def _dot(a, b):
    """Plain loop (numba's ``@`` goes through BLAS bindings that are slow to compile)."""
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i] * b[i]
    return s


@jit
def _copy(src, dst):
    for i in range(src.shape[0]):
        dst[i] = src[i]


@jit
def _gap_from(rr, ry, l1, cmax, lam):
    """Gap of ``1/2 ||r||^2 + lam ||w||_1`` with the dual point ``r`` scaled into feasibility."""
    s = 1.0 if cmax <= lam else lam / cmax
    return 0.5 * rr + lam * l1 - (s * ry - 0.5 * s * s * rr)


@jit(fastmath=_REASSOC)
def lasso_ws_dense(X, cols, norm2, w, r, y, lam, nonneg, n_epochs, anderson):
    """``n_epochs`` epochs on the working set; returns its restricted duality gap.

    ``w`` (length ``m = cols.size``) and ``r = y - X w`` are updated in place; ``anderson`` is
    an :data:`AndersonWork`.
    """
    K, hist, w_acc, r_acc = anderson
    n = X.shape[0]
    m = cols.shape[0]
    n_hist = 0
    if K > 0:
        _copy(w, hist[0])
        n_hist = 1
    for _ in range(n_epochs):
        for k in range(m):
            L = norm2[k]
            if L <= 0.0:
                continue
            c = cols[k]
            g = 0.0
            for i in range(n):
                g += X[i, c] * r[i]
            old = w[k]
            new = _prox(old + g / L, lam / L, nonneg)
            delta = new - old
            if delta != 0.0:
                w[k] = new
                for i in range(n):
                    r[i] -= X[i, c] * delta
        if K == 0:
            continue
        _copy(w, hist[n_hist])
        n_hist += 1
        if n_hist < K + 1:
            continue
        if _extrapolate(hist, K, w_acc, nonneg):
            _copy(r, r_acc)
            for k in range(m):
                delta = w_acc[k] - w[k]
                if delta != 0.0:
                    c = cols[k]
                    for i in range(n):
                        r_acc[i] -= X[i, c] * delta
            if 0.5 * _dot(r_acc, r_acc) + lam * _l1(w_acc) < 0.5 * _dot(r, r) + lam * _l1(w):
                _copy(w_acc, w)
                _copy(r_acc, r)
        _copy(w, hist[0])
        n_hist = 1
    cmax = 0.0
    for k in range(m):
        c = cols[k]
        g = 0.0
        for i in range(n):
            g += X[i, c] * r[i]
        cmax = max(cmax, g if nonneg else abs(g))
    return _gap_from(_dot(r, r), _dot(r, y), _l1(w), cmax, lam)


@jit
def _sparse_objective(rs, s0, w, lam):
    rr = 0.0
    for i in range(rs.shape[0]):
        rr += (rs[i] + s0) ** 2
    return 0.5 * rr + lam * _l1(w)


@jit
def lasso_ws_sparse(X, cols, norm2, w, rs, state, y, lam, nonneg, n_epochs, anderson, full_every,
                    corr):
    """Like :func:`lasso_ws_dense` for a CSC design ``X`` (a :data:`CSCDesign`) whose columns
    are centred by ``mu``.

    The true residual is ``rs + state[0]`` (``state[0] = mu'w``), ``state[1] = sum(rs)``;
    ``cols`` holds the working set's global column indices and ``colsum`` the design's column
    sums. Only epochs ``0, full_every, 2 full_every, ...`` visit the zero coefficients (a
    sparse epoch is dominated by them; their gradients are checked again at the chunk's end).
    The final correlations ``x_j'r`` (centred) go to ``corr[cols[k]]``, so the next full pass of
    :func:`csc_correlations` can skip them.
    Plain loops: reassociation would vectorise the indexed reads into gather instructions,
    slower than scalar loads here.
    """
    indptr, indices, data, mu, colsum = X
    K, hist, w_acc, r_acc = anderson
    m = cols.shape[0]
    # the offsets live in locals: kept in ``state``, each update would wait on a store
    # forwarded through memory (LLVM cannot keep them in registers across the stores to ``rs``)
    off = state[0]
    rsum = state[1]
    n_hist = 0
    if K > 0:
        _copy(w, hist[0])
        n_hist = 1
    for epoch in range(n_epochs):
        active_only = epoch % full_every != 0
        for k in range(m):
            L = norm2[k]
            if L <= 0.0 or (active_only and w[k] == 0.0):
                continue
            j = cols[k]
            inv_L = 1.0 / L  # off the critical path, unlike a division of the gradient
            g = _col_dot_cd(indptr, indices, data, rs, j) - mu[j] * rsum
            old = w[k]
            new = _prox(old + g * inv_L, lam * inv_L, nonneg)
            delta = new - old
            if delta != 0.0:
                w[k] = new
                _col_axpy(indptr, indices, data, rs, j, delta)
                off += mu[j] * delta
                rsum -= colsum[j] * delta
        if K == 0:
            continue
        _copy(w, hist[n_hist])
        n_hist += 1
        if n_hist < K + 1:
            continue
        if _extrapolate(hist, K, w_acc, nonneg):
            _copy(rs, r_acc)
            s0 = off
            s1 = rsum
            for k in range(m):
                delta = w_acc[k] - w[k]
                if delta != 0.0:
                    j = cols[k]
                    _col_axpy(indptr, indices, data, r_acc, j, delta)
                    s0 += mu[j] * delta
                    s1 -= colsum[j] * delta
            if _sparse_objective(r_acc, s0, w_acc, lam) < _sparse_objective(rs, off, w, lam):
                _copy(w_acc, w)
                _copy(r_acc, rs)
                off = s0
                rsum = s1
        _copy(w, hist[0])
        n_hist = 1
    state[0] = off
    state[1] = rsum
    cmax = 0.0
    for k in range(m):
        j = cols[k]
        g = _col_dot(indptr, indices, data, rs, j) - mu[j] * rsum
        corr[j] = g
        cmax = max(cmax, g if nonneg else abs(g))
    s0 = state[0]
    rr = 0.0
    ry = 0.0
    for i in range(rs.shape[0]):
        ri = rs[i] + s0
        rr += ri * ri
        ry += ri * y[i]
    return _gap_from(rr, ry, _l1(w), cmax, lam)
