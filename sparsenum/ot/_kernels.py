"""Numba kernels of entropic OT: stabilised scaling (Sinkhorn) and the sparse Newton stage.

Notation: potentials ``f, g`` (absorbed), scalings ``u, v`` and a kernel
``K_ij = exp((f_i + g_j - C_ij) / reg)``, so that the plan is ``P = diag(u) K diag(v)`` and the
effective potentials are ``f + reg log u``, ``g + reg log v`` (Schmitzer 2019). An iteration costs
two kernel matrix-vector products; the kernel is recomputed (an exp per entry) only when a scaling
leaves ``[exp(-tau), exp(tau)]`` or a product underflows to zero. The products themselves are
BLAS ``dgemv`` calls (numba's ``np.dot``); the exp passes are parallel numba loops.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ..utils import jit, jit_parallel

_COL_BLOCK = 64  # columns per task in column-wise (transposed) passes over a row-major matrix


@jit_parallel
def absorb_rows(C, a, g, reg, K, f, u):
    """Exact log-domain row update for the given ``g``: sets ``K``, ``f`` and ``u`` (v = 1).

    ``f_i`` holds the row maximum so every row of ``K`` has an entry equal to 1 (never all zero);
    ``u_i = a_i / sum_j K_ij`` then makes the row marginals exact.
    """
    n, m = C.shape
    for i in prange(n):
        best = -np.inf
        for j in range(m):
            z = (g[j] - C[i, j]) / reg
            if z > best:
                best = z
        s = 0.0
        for j in range(m):
            k = np.exp((g[j] - C[i, j]) / reg - best)
            K[i, j] = k
            s += k
        f[i] = -reg * best
        u[i] = a[i] / s


@jit_parallel
def absorb_cols(C, b, f, reg, K, g, v):
    """Column counterpart of :func:`absorb_rows`: sets ``K``, ``g``, ``v`` for the given ``f``."""
    n, m = C.shape
    n_blocks = (m + _COL_BLOCK - 1) // _COL_BLOCK
    for blk in prange(n_blocks):
        j0 = blk * _COL_BLOCK
        j1 = min(m, j0 + _COL_BLOCK)
        best = np.full(j1 - j0, -np.inf)
        for i in range(n):
            for j in range(j0, j1):
                z = (f[i] - C[i, j]) / reg
                if z > best[j - j0]:
                    best[j - j0] = z
        s = np.zeros(j1 - j0)
        for i in range(n):
            for j in range(j0, j1):
                k = np.exp((f[i] - C[i, j]) / reg - best[j - j0])
                K[i, j] = k
                s[j - j0] += k
        for j in range(j0, j1):
            g[j] = -reg * best[j - j0]
            v[j] = b[j] / s[j - j0]


@jit
def _scale(target, prod, out):
    """``out = target / prod``; returns max |log out| (inf if a product is zero or not finite)."""
    worst = 0.0
    for i in range(out.shape[0]):
        p = prod[i]
        if not (p > 0.0 and p < np.inf):
            return np.inf
        out[i] = target[i] / p
        lo = abs(np.log(out[i]))
        if lo > worst:
            worst = lo
    return worst


ABSORB_ROWS = 1
ABSORB_COLS = 2


@jit
def scaling_iterations(C, a, b, reg, f, g, K, u, v, max_iter, tol, check_every, tau, state,
                       hist_it, hist_err, hist_obj):
    """Stabilised Sinkhorn iterations in place until done or an absorption is due.

    ``state = [iteration, n_checks, phase]`` is read and updated so the caller can resume. The
    return code is 0 when done (converged, ``max_iter`` reached, or not finite),
    :data:`ABSORB_ROWS` or :data:`ABSORB_COLS` when a scaling left ``[exp(-tau), exp(tau)]``:
    the scaling has then been moved into ``g`` (or ``f``) and the caller recomputes the kernel
    with :func:`absorb_rows_any` (:func:`absorb_cols_any`) and calls again. Keeping the exp
    passes out of this kernel lets them run threaded or serial by size, and keeps this kernel
    small to compile.

    The marginal violation ``||P 1 - a||_1 + ||P^T 1 - b||_1`` is evaluated every
    ``check_every`` iterations from the product ``K v`` that the next row update needs anyway
    (after a column update the column marginals are exact up to rounding, so no check is made
    before the first one) and once more on exit. ``hist_it``, ``hist_err`` and ``hist_obj``
    receive the iteration, the violation and the dual objective at each check.
    """
    n, m = C.shape
    it = state[0]
    n_checks = state[1]
    phase = state[2]
    while True:
        if phase == 0:
            # the two products go to BLAS (dgemv), as fast as numpy's and threaded like it
            kv = np.dot(K, v)
            if it > 0 and (it % check_every == 0 or it == max_iter):
                err = 0.0
                mass = 0.0
                for i in range(n):
                    r = u[i] * kv[i]
                    err += abs(r - a[i])
                    mass += r
                dual = -reg * mass
                for i in range(n):
                    dual += a[i] * (f[i] + reg * np.log(u[i]))
                for j in range(m):
                    dual += b[j] * (g[j] + reg * np.log(v[j]))
                if n_checks < hist_err.shape[0]:
                    hist_it[n_checks] = it
                    hist_err[n_checks] = err
                    hist_obj[n_checks] = dual
                n_checks += 1
                if err <= tol or not np.isfinite(err):
                    break
            if it == max_iter:
                break
            if _scale(a, kv, u) > tau:
                for j in range(m):
                    g[j] += reg * np.log(v[j])
                    v[j] = 1.0
                state[0] = it
                state[1] = n_checks
                state[2] = 1  # resume with the column update after the row absorption
                return ABSORB_ROWS
        phase = 0
        ktu = np.dot(u, K)
        it += 1
        if _scale(b, ktu, v) > tau:
            for i in range(n):
                f[i] += reg * np.log(u[i])
                u[i] = 1.0
            state[0] = it
            state[1] = n_checks
            state[2] = 0
            return ABSORB_COLS
    state[0] = it
    state[1] = n_checks
    state[2] = 0
    return 0


@jit_parallel
def plan_from_potentials(C, f, g, reg, P, row):
    """``P = exp((f + g - C) / reg)`` with its row sums (columns: see :func:`plan_any`)."""
    n, m = C.shape
    inv = 1.0 / reg
    for i in prange(n):
        s = 0.0
        fi = f[i]
        for j in range(m):
            z = (fi + g[j] - C[i, j]) * inv
            # below -708 the result is subnormal: libm's slow path, ~2x the cost of the pass
            p = np.exp(z) if z > -708.0 else 0.0
            P[i, j] = p
            s += p
        row[i] = s


@jit
def _hess_matvec(row, col, indptr, indices, data, shift, x, y):
    """``y = ([[diag(row), S], [S^T, diag(col)]] + shift I) x``, S in CSR; last g pinned to 0."""
    n = row.shape[0]
    m = col.shape[0]
    for j in range(m):
        y[n + j] = (col[j] + shift) * x[n + j]
    for i in range(n):
        s = (row[i] + shift) * x[i]
        xi = x[i]
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            s += data[k] * x[n + j]
            y[n + j] += data[k] * xi
        y[i] = s
    y[n + m - 1] = 0.0


@jit
def newton_direction(row, col, indptr, indices, data, shift, rhs, rtol, max_cg):
    """Jacobi-preconditioned CG on the shifted sparsified Hessian, last g pinned (gauge).

    Returns ``(x, n_products, curvature)`` with ``curvature = x^T (M + shift I) x``; stops when
    ``||r|| <= rtol ||rhs||``. The vector updates are fused loops without temporaries: a product
    costs only ``O(n + m + nnz)``, so allocations would dominate.
    """
    n = row.shape[0]
    m = col.shape[0]
    size = n + m
    inv_diag = np.empty(size)
    for i in range(n):
        inv_diag[i] = 1.0 / (row[i] + shift)
    for j in range(m):
        inv_diag[n + j] = 1.0 / (col[j] + shift)
    inv_diag[size - 1] = 0.0  # pinned coordinate: z, p and x stay 0 there
    x = np.zeros(size)
    r = rhs.copy()
    r[size - 1] = 0.0
    p = np.empty(size)
    q = np.empty(size)
    rz = 0.0
    rr = 0.0
    for i in range(size):
        p[i] = r[i] * inv_diag[i]
        rz += r[i] * p[i]
        rr += r[i] * r[i]
    target = rtol * rtol * rr
    k = 0
    while k < max_cg and rr > target:
        _hess_matvec(row, col, indptr, indices, data, shift, p, q)
        k += 1
        pq = 0.0
        for i in range(size):
            pq += p[i] * q[i]
        if not pq > 0.0:
            break
        step = rz / pq
        rz_new = 0.0
        rr = 0.0
        for i in range(size):
            x[i] += step * p[i]
            r[i] -= step * q[i]
            rz_new += r[i] * r[i] * inv_diag[i]
            rr += r[i] * r[i]
        beta = rz_new / rz
        rz = rz_new
        for i in range(size):
            p[i] = r[i] * inv_diag[i] + beta * p[i]
    _hess_matvec(row, col, indptr, indices, data, shift, x, q)
    curvature = 0.0
    for i in range(size):
        curvature += x[i] * q[i]
    return x, k + 1, curvature


# Serial twins for small problems (see PARALLEL_MIN_SIZE): a parallel region costs a thread
# wake-up per call, which dominates passes over a few thousand entries.
PARALLEL_MIN_SIZE = 250_000
_absorb_rows_serial = jit(absorb_rows.py_func)
_absorb_cols_serial = jit(absorb_cols.py_func)
_plan_serial = jit(plan_from_potentials.py_func)


def pass_work(C):
    """Floating-point operations of one exp pass over ``C`` (about 20 per entry): the work
    estimate given to ``numba_threads``, so the default ``n_jobs`` runs small problems on one
    thread."""
    return 20.0 * C.size


def _numpy_exp_pays(C, reg):
    """numpy's SIMD exp is 2-4x faster than numba's scalar libm exp (no SVML here) while no
    exponent underflows (5 ms against 10-19 ms at n = 1000, ``reg = 0.01``), and slower once
    most do (24 ms against 21 ms at ``reg = 1/4000``): exponents span ``ptp(C) / reg``."""
    return float(np.ptp(C)) <= 700.0 * reg


def variant(C, reg):
    """Which compiled kernels the ``*_any`` dispatchers pick for ``(C, reg)``."""
    return C.size >= PARALLEL_MIN_SIZE, _numpy_exp_pays(C, reg)


def absorb_rows_any(C, a, g, reg, K, f, u):
    if not _numpy_exp_pays(C, reg):
        fn = absorb_rows if C.size >= PARALLEL_MIN_SIZE else _absorb_rows_serial
        fn(C, a, g, reg, K, f, u)
        return
    np.subtract(g[None, :], C, out=K)  # K is the only temporary
    K *= 1.0 / reg
    best = K.max(axis=1)
    K -= best[:, None]
    np.exp(K, out=K)
    f[:] = -reg * best
    u[:] = a / K.sum(axis=1)


def absorb_cols_any(C, b, f, reg, K, g, v):
    if not _numpy_exp_pays(C, reg):
        fn = absorb_cols if C.size >= PARALLEL_MIN_SIZE else _absorb_cols_serial
        fn(C, b, f, reg, K, g, v)
        return
    np.subtract(f[:, None], C, out=K)
    K *= 1.0 / reg
    best = K.max(axis=0)
    K -= best[None, :]
    np.exp(K, out=K)
    g[:] = -reg * best
    v[:] = b / K.sum(axis=0)


def plan_any(C, f, g, reg, P, row, col):
    """Fill ``P``, its row sums ``row`` and column sums ``col``; returns ``sum(P)``.

    numba, not numpy's exp: most entries underflow at small ``reg``, which numba skips (cut at
    -708) and numpy's SIMD exp handles slowly (measured 5.6 ms against 24 ms, n = 1000,
    ``reg = 1/4000``)."""
    fn = plan_from_potentials if C.size >= PARALLEL_MIN_SIZE else _plan_serial
    fn(C, f, g, reg, P, row)
    # column sums outside numba (a reduction in a kernel costs seconds of compilation), and by
    # numpy's reduction rather than a BLAS gemv: OpenBLAS threads competing with numba's took
    # 2-8 ms instead of 0.1 ms at n = 800 (clouds, eta=100)
    P.sum(axis=0, out=col)
    return float(row.sum())


@jit
def plan_from_scalings(K, u, v, P, row):
    """``P = diag(u) K diag(v)`` with its row sums: the current plan of the scaling iterations,
    a multiply per entry instead of the exp of :func:`plan_from_potentials`."""
    n, m = K.shape
    for i in range(n):
        s = 0.0
        ui = u[i]
        for j in range(m):
            p = ui * K[i, j] * v[j]
            P[i, j] = p
            s += p
        row[i] = s


@jit
def plan_cost_entropy(C, f, g, reg, P):
    """``(<C, P>, sum P (log P - 1))`` for ``P = exp((f + g - C) / reg)``, ``0 log 0 = 0``.

    ``log P`` is the exponent itself, so the entropy costs no logarithm (a pass of
    multiply-adds instead of a masked copy and a log of every entry).
    """
    n, m = C.shape
    inv = 1.0 / reg
    cost = 0.0
    entropy = 0.0
    for i in range(n):
        fi = f[i]
        for j in range(m):
            p = P[i, j]
            if p > 0.0:
                c = C[i, j]
                cost += c * p
                entropy += p * ((fi + g[j] - c) * inv - 1.0)
    return cost, entropy


@jit
def sparsify_fill(P, thr_row, thr_col, indptr, indices, data):
    n, m = P.shape
    for i in range(n):
        k = indptr[i]
        ti = thr_row[i]
        for j in range(m):
            p = P[i, j]
            if p > ti or p > thr_col[j]:
                indices[k] = j
                data[k] = p
                k += 1
