"""Numba kernels of the working-set Lasso solver (private).

Both kernels run a chunk of cyclic coordinate-descent epochs of ``1/2 ||r||^2 + lam ||w_b||_1``
restricted to a working set, keep the residual in place, extrapolate the iterates every ``K``
epochs (Anderson acceleration, kept only when it lowers the objective; Anderson 1965, as in
Bertrand & Massias 2021) and end with the duality gap restricted to the working set, so one
Python call costs one chunk and no extra pass over the data.

* ``lasso_ws_dense``: dense design; ``X[:, cols[k]]`` is the column of coordinate ``k`` (a
  Fortran-ordered design and global indices, or a gathered block and ``arange``).
* ``lasso_ws_sparse``: CSC design centred implicitly by ``mu`` (see ``lasso_cd_sparse``).
"""

from __future__ import annotations

import numba
import numpy as np

from sparsenum.utils import jit

from ._kernels import _prox

# reassociation lets LLVM vectorise the column dot products (SIMD partial sums); no other
# fast-math flag, so NaN / inf semantics stay IEEE
_REASSOC = {"reassoc", "contract"}


@jit
def _u(i):
    """An index as unsigned: numba then skips the negative-index wraparound test (about 10%
    of a sparse gather loop)."""
    return numba.uint64(i)


@jit
def _anderson_weights(hist, K, coefs):
    """Weights ``c`` (summing to one) minimising ``||sum_k c_k (w_{k+1} - w_k)||`` over the last
    ``K + 1`` iterates stored in the rows of ``hist``; False if the small system is singular."""
    m = hist.shape[1]
    C = np.empty((K, K + 1))
    for a in range(K):
        for b in range(a, K):
            s = 0.0
            for j in range(m):
                s += (hist[a + 1, j] - hist[a, j]) * (hist[b + 1, j] - hist[b, j])
            C[a, b] = s
            C[b, a] = s
        C[a, K] = 1.0
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
def _store(hist, row, w):
    for j in range(w.shape[0]):
        hist[row, j] = w[j]


@jit
def _l1(w):
    s = 0.0
    for j in range(w.shape[0]):
        s += abs(w[j])
    return s


@jit
def _gap_from(rr, ry, l1, cmax, lam):
    """Gap of ``1/2 ||r||^2 + lam ||w||_1`` with the dual point ``r`` scaled into feasibility."""
    s = 1.0 if cmax <= lam else lam / cmax
    return 0.5 * rr + lam * l1 - (s * ry - 0.5 * s * s * rr)


@jit(fastmath=_REASSOC)
def lasso_ws_dense(X, cols, norm2, w, r, y, lam, nonneg, n_epochs, K, hist, w_acc, r_acc):
    """``n_epochs`` epochs on the working set; returns its restricted duality gap.

    ``w`` (length ``m = cols.size``) and ``r = y - X w`` are updated in place. ``hist`` has shape
    ``(K + 1, m)``; ``w_acc`` (m) and ``r_acc`` (n) are work arrays. ``K = 0`` disables Anderson.
    """
    n = X.shape[0]
    m = cols.shape[0]
    n_hist = 0
    if K > 0:
        _store(hist, 0, w)
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
        _store(hist, n_hist, w)
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
        _store(hist, 0, w)
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
def lasso_ws_sparse(indptr, indices, data, mu, colsum, cols, norm2, w, rs, state, y, lam, nonneg,
                    n_epochs, K, hist, w_acc, r_acc, full_every):
    """Like :func:`lasso_ws_dense` for a CSC design whose columns are centred by ``mu``.

    The true residual is ``rs + state[0]`` (``state[0] = mu'w``), ``state[1] = sum(rs)``;
    ``cols`` holds the working set's global column indices and ``colsum`` the design's column
    sums. Only epochs ``0, full_every, 2 full_every, ...`` visit the zero coefficients (a
    sparse epoch is dominated by them; their gradients are checked again at the chunk's end).
    Plain loops: reassociation would vectorise the indexed reads into gather instructions,
    slower than scalar loads here.
    """
    m = cols.shape[0]
    n_hist = 0
    if K > 0:
        _store(hist, 0, w)
        n_hist = 1
    for epoch in range(n_epochs):
        active_only = epoch % full_every != 0
        for k in range(m):
            L = norm2[k]
            if L <= 0.0 or (active_only and w[k] == 0.0):
                continue
            j = cols[k]
            g = 0.0
            for p in range(indptr[j], indptr[j + 1]):
                g += data[p] * rs[_u(indices[p])]
            g -= mu[j] * state[1]
            old = w[k]
            new = _prox(old + g / L, lam / L, nonneg)
            delta = new - old
            if delta != 0.0:
                w[k] = new
                for p in range(indptr[j], indptr[j + 1]):
                    rs[_u(indices[p])] -= data[p] * delta
                state[0] += mu[j] * delta
                state[1] -= colsum[j] * delta
        if K == 0:
            continue
        _store(hist, n_hist, w)
        n_hist += 1
        if n_hist < K + 1:
            continue
        if _extrapolate(hist, K, w_acc, nonneg):
            _copy(rs, r_acc)
            s0 = state[0]
            s1 = state[1]
            for k in range(m):
                delta = w_acc[k] - w[k]
                if delta != 0.0:
                    j = cols[k]
                    for p in range(indptr[j], indptr[j + 1]):
                        r_acc[_u(indices[p])] -= data[p] * delta
                    s0 += mu[j] * delta
                    s1 -= colsum[j] * delta
            if (_sparse_objective(r_acc, s0, w_acc, lam)
                    < _sparse_objective(rs, state[0], w, lam)):
                _copy(w_acc, w)
                _copy(r_acc, rs)
                state[0] = s0
                state[1] = s1
        _store(hist, 0, w)
        n_hist = 1
    cmax = 0.0
    for k in range(m):
        j = cols[k]
        g = 0.0
        for p in range(indptr[j], indptr[j + 1]):
            g += data[p] * rs[_u(indices[p])]
        g -= mu[j] * state[1]
        cmax = max(cmax, g if nonneg else abs(g))
    s0 = state[0]
    rr = 0.0
    ry = 0.0
    for i in range(rs.shape[0]):
        ri = rs[i] + s0
        rr += ri * ri
        ry += ri * y[i]
    return _gap_from(rr, ry, _l1(w), cmax, lam)


@jit
def csc_column_stats(indptr, data):
    """Sums and squared norms of the columns of a CSC matrix (one pass over ``data``)."""
    d = indptr.shape[0] - 1
    sums = np.zeros(d)
    sq = np.zeros(d)
    for j in range(d):
        s = 0.0
        s2 = 0.0
        for p in range(indptr[j], indptr[j + 1]):
            s += data[p]
            s2 += data[p] * data[p]
        sums[j] = s
        sq[j] = s2
    return sums, sq


@jit
def csc_correlations(indptr, indices, data, mu, r, cols, out):
    """``out[j] = x_j'r - mu_j sum(r)`` for ``j`` in ``cols`` (columns of a CSC design centred
    implicitly by ``mu``); returns ``max_j |out[j]|`` and ``max_j out[j]`` over ``cols``.

    Plain loops without reassociation: vectorising the indexed reads would emit gather
    instructions, slower than scalar loads on current x86 cores.
    """
    rsum = 0.0
    for i in range(r.shape[0]):
        rsum += r[i]
    amax = 0.0
    pmax = -np.inf
    for k in range(cols.shape[0]):
        j = cols[k]
        g = 0.0
        for p in range(indptr[j], indptr[j + 1]):
            g += data[p] * r[_u(indices[p])]
        g -= mu[j] * rsum
        out[j] = g
        amax = max(amax, abs(g))
        pmax = max(pmax, g)
    return amax, pmax


@jit
def screen_and_score(corr, norm, keep, w, scale, radius, lam, nonneg, slack, dropped):
    """Gap safe test and working-set scores in one pass over the kept features.

    Feature ``j`` of ``keep`` is dropped when ``scale c_j + ||x_j|| radius < lam`` (``c_j`` the
    signed correlation if ``nonneg``, else its absolute value) or its column is zero; the kept
    ones are compacted at the front of ``keep`` and get ``slack[j] = (lam - c_j) / ||x_j||``
    (``-inf`` on the support), every other ``slack`` entry is ``+inf``. Dropped indices go to
    ``dropped``. Returns ``(n_kept, n_dropped, max |corr| and max ||x_j|| over the dropped,
    whether a dropped feature has w_j != 0)``.
    """
    for j in range(slack.shape[0]):
        slack[j] = np.inf
    n_kept = 0
    n_dropped = 0
    cmax = 0.0
    nmax = 0.0
    nonzero = False
    for k in range(keep.shape[0]):
        j = keep[k]
        c = corr[j] if nonneg else abs(corr[j])
        if norm[j] == 0.0 or scale * c + norm[j] * radius < lam:
            dropped[n_dropped] = j
            n_dropped += 1
            cmax = max(cmax, abs(corr[j]))
            nmax = max(nmax, norm[j])
            nonzero = nonzero or w[j] != 0.0
        else:
            keep[n_kept] = j
            n_kept += 1
            slack[j] = -np.inf if w[j] != 0.0 else (lam - c) / norm[j]
    return n_kept, n_dropped, cmax, nmax, nonzero
