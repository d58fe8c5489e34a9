"""Numba kernels of sparsenum.unmixing: small exact QPs per pixel or band, fused with the terms
of the unmixing objective, and per-band residual norms.

Every pixel's abundance update and every band's endmember update is a quadratic programme in
``K`` variables (``K`` endmembers, a handful) sharing one ``K x K`` Hessian::

    minimise 1/2 x^T G x - c^T x   subject to  x >= 0  (and  sum(x) = 1  on the simplex)

It is solved exactly by a primal active-set method (Lawson & Hanson's NNLS, with the equality
constraint eliminated on the free set for the simplex), warm-started from the previous
iterate's support, so a typical update costs one Cholesky factorisation of a ``|P| x |P|``
block. The matrix products that build ``G`` and the linear terms stay in BLAS (numpy).
"""

from __future__ import annotations

import numba
import numpy as np

from sparsenum.utils import jit
from sparsenum.utils._threads import chunk_ranges, run_chunks

# pixels per parallel chunk: scratch buffers are allocated once per chunk, not per pixel
_CHUNK = 256
# relative ridge on the Hessian's diagonal: keeps the Cholesky factorisation defined when a
# column of the Hessian vanishes (an endmember no pixel uses) and changes nothing measurable
# otherwise (1e-14 of the largest curvature)
_RIDGE = 1e-14
# dual feasibility is tested to this fraction of the problem's scale (|c| + diag(G))
_DUAL_RTOL = 1e-13


@jit
def _solve_free(G, c, free, m, simplex, ridge, chol, z, u):
    """Minimiser of the QP restricted to the ``m`` indices ``free[:m]`` (equality only), in
    ``z[:m]``: Cholesky of ``G[free, free]``, then ``z = G^-1 (c - mu 1)`` with ``mu`` making
    ``sum(z) = 1`` on the simplex."""
    for i in range(m):
        for j in range(i + 1):
            s = G[free[i], free[j]]
            if i == j:
                s += ridge
            for k in range(j):
                s -= chol[i, k] * chol[j, k]
            if i == j:
                chol[i, i] = np.sqrt(s) if s > ridge else np.sqrt(ridge)
            else:
                chol[i, j] = s / chol[j, j]
    # forward / backward substitution for c and (on the simplex) for 1
    for i in range(m):
        s = c[free[i]]
        t = 1.0
        for k in range(i):
            s -= chol[i, k] * z[k]
            t -= chol[i, k] * u[k]
        z[i] = s / chol[i, i]
        u[i] = t / chol[i, i]
    for i in range(m - 1, -1, -1):
        s = z[i]
        t = u[i]
        for k in range(i + 1, m):
            s -= chol[k, i] * z[k]
            t -= chol[k, i] * u[k]
        z[i] = s / chol[i, i]
        u[i] = t / chol[i, i]
    if simplex:
        sz = 0.0
        su = 0.0
        for i in range(m):
            sz += z[i]
            su += u[i]
        mu = (sz - 1.0) / su
        for i in range(m):
            z[i] -= mu * u[i]


@jit
def active_set_qp(G, c, x, simplex, max_steps, free, chol, z, u, g):
    """Solve the QP in place of ``x`` (a feasible start: nonnegative, on the simplex if
    ``simplex``), keeping its support as the first free set. Returns the steps taken, or
    ``-1`` if ``max_steps`` ran out (``x`` is then feasible but not optimal)."""
    K = c.shape[0]
    scale = 0.0
    diag = 0.0
    for k in range(K):
        scale = max(scale, abs(c[k]))
        diag = max(diag, G[k, k])
    scale += diag
    ridge = _RIDGE * diag if diag > 0 else 1e-300
    tol = _DUAL_RTOL * scale
    inside = np.zeros(K, dtype=np.bool_)
    m = 0
    for k in range(K):
        if x[k] > 0:
            inside[k] = True
    if simplex and not inside.any():
        best = 0
        best_val = np.inf
        for k in range(K):
            val = 0.5 * G[k, k] - c[k]
            if val < best_val:
                best_val = val
                best = k
        x[best] = 1.0
        inside[best] = True
    for step in range(max_steps):
        m = 0
        for k in range(K):
            if inside[k]:
                free[m] = k
                m += 1
        if m > 0:
            _solve_free(G, c, free, m, simplex, ridge, chol, z, u)
            alpha = 1.0
            block = -1
            for i in range(m):
                if z[i] <= 0.0:
                    xi = x[free[i]]
                    a = xi / (xi - z[i]) if xi - z[i] > 0 else 0.0
                    if a < alpha:
                        alpha = a
                        block = i
            if block >= 0:
                # move towards the free minimiser until a variable reaches zero; drop it
                for i in range(m):
                    k = free[i]
                    x[k] += alpha * (z[i] - x[k])
                    if x[k] <= 0.0 or i == block:
                        x[k] = 0.0
                        inside[k] = False
                if simplex:  # renormalise the rounding of the step onto the simplex
                    s = 0.0
                    for k in range(K):
                        s += x[k]
                    for k in range(K):
                        x[k] /= s
                continue
            for i in range(m):
                x[free[i]] = z[i]
        # dual feasibility: the gradient outside the free set must not point inwards
        for k in range(K):
            s = -c[k]
            for j in range(K):
                s += G[k, j] * x[j]
            g[k] = s
        mu = 0.0
        if simplex:
            for i in range(m):
                mu -= g[free[i]]
            mu /= m
        worst = -tol
        enter = -1
        for k in range(K):
            if not inside[k]:
                nu = g[k] + mu
                if nu < worst:
                    worst = nu
                    enter = k
        if enter < 0:
            _clean(x, simplex)
            return step + 1
        inside[enter] = True
    _clean(x, simplex)
    return -1


@jit
def _clean(x, simplex):
    """Round-off can leave an entry at -1e-17 (an interpolation step that lands on zero):
    clip it, and keep the simplex's sum exact."""
    clipped = False
    for k in range(x.shape[0]):
        if x[k] < 0.0:
            x[k] = 0.0
            clipped = True
    if simplex and clipped:
        s = 0.0
        for k in range(x.shape[0]):
            s += x[k]
        for k in range(x.shape[0]):
            x[k] /= s


def qp_rows(G, B, X, simplex, max_steps, push, p, eps, sparsity):
    """Solve one QP per row of ``X`` (feasible warm starts, overwritten) with the shared
    Hessian ``G``; returns the number of rows whose solve ran out of steps.

    Without a penalty (``push`` empty) row ``r``'s linear term is ``B[r]``. With one (the
    abundance step of :func:`~sparsenum.unmixing.rrlbs`) it is ``B[r] - push[r] w`` with
    ``w_k = (X[r, k] + eps)^(p - 1)``, the slope of ``(x + eps)^p / p`` at the current row: the
    tangent majorises the concave penalty. ``sparsity[r]`` then receives the new row's
    ``sum_k (x_k + eps)^p - eps^p``.

    Chunks of rows run on the thread count numba is set to (the callers' ``numba_threads``),
    as a serial kernel on Python threads: a parallel kernel cost seconds of compilation on a
    user's first call.
    """
    n_chunks = (B.shape[0] + _CHUNK - 1) // _CHUNK
    failed = np.zeros(n_chunks, dtype=np.int64)
    threads = numba.get_num_threads()
    run_chunks(qp_row_chunks, (G, B, X, simplex, max_steps, push, p, eps, sparsity, failed),
               chunk_ranges(n_chunks, threads), threads)
    return int(failed.sum())


@jit
def qp_row_chunks(G, B, X, simplex, max_steps, push, p, eps, sparsity, failed, lo, hi):
    """:func:`qp_rows` on the rows of chunks ``lo .. hi - 1`` (``failed[chunk]`` counts the
    chunk's rows that ran out of steps)."""
    n, K = B.shape
    penalised = push.shape[0] > 0
    eps_p = eps ** p
    free = np.empty(K, dtype=np.int64)
    chol = np.empty((K, K))
    z = np.empty(K)
    u = np.empty(K)
    g = np.empty(K)
    c = np.empty(K)
    for chunk in range(lo, hi):
        for r in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
            x = X[r]
            for k in range(K):
                c[k] = B[r, k]
                if penalised:
                    c[k] -= push[r] * (x[k] + eps) ** (p - 1.0)
            if active_set_qp(G, c, x, simplex, max_steps, free, chol, z, u, g) < 0:
                failed[chunk] += 1
            if penalised:
                s = 0.0
                for k in range(K):
                    s += (x[k] + eps) ** p - eps_p
                sparsity[r] = s


@jit
def band_residual_norms(X, A, E):
    """``||X[:, l] - A @ E[:, l]||`` for every band ``l``, accumulated over chunks of pixels
    (no n_pixels x n_bands temporary; exact where the Gram-product formula would cancel).
    Serial: it costs a fraction of the solve it checks, and a parallel kernel compiles slowly."""
    n, L = X.shape
    K = A.shape[1]
    n_chunks = (n + _CHUNK - 1) // _CHUNK
    partial = np.zeros((n_chunks, L))
    for chunk in range(n_chunks):
        acc = partial[chunk]
        for r in range(chunk * _CHUNK, min(n, (chunk + 1) * _CHUNK)):
            for j in range(L):
                s = X[r, j]
                for k in range(K):
                    s -= A[r, k] * E[k, j]
                acc[j] += s * s
    out = np.zeros(L)
    for chunk in range(n_chunks):
        for j in range(L):
            out[j] += partial[chunk, j]
    return np.sqrt(out)
