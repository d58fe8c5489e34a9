"""Numba kernels of the working-set Lasso solver's outer iteration (private).

Each outer iteration costs two calls besides the inner coordinate descent: ``csc_correlations``
(or one BLAS product for a dense design) over the features not yet screened, and
``gap_screen_select``, which computes the duality gap, screens (gap safe rule) and picks the
next working set. At a few milliseconds per solve on text-like data, the numpy / scipy steps
these replace cost about as much as the arithmetic.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sparsenum.utils import jit

from ._lasso_kernels import _col_dot, _dot, _gap_from, _u

#: What :func:`gap_screen_select` returns: the gap and objective of ``1/2 ||r||^2 + lam ||w||_1``,
#: the nonzeros of ``w``, how many features stay and were dropped by screening, the largest
#: ``|x_j'r|`` and ``||x_j||`` among the dropped, whether a dropped one had ``w_j != 0``, and the
#: size of the next working set
OuterStep = namedtuple("OuterStep", ["gap", "primal", "nnz", "n_kept", "n_dropped",
                                     "dropped_corr_max", "dropped_norm_max", "dropped_nonzero",
                                     "ws_size"])

@jit
def csc_column_stats(indptr, indices, data, y):
    """Sums, squared norms and correlations ``x_j'y`` of the columns of a CSC matrix in one
    pass (the correlations at ``w = 0`` come with the statistics for the cost of the gathers)."""
    d = indptr.shape[0] - 1
    sums = np.zeros(d)
    sq = np.zeros(d)
    xty = np.zeros(d)
    for j in range(d):
        s = 0.0
        s2 = 0.0
        g = 0.0
        for p in range(_u(indptr[j]), _u(indptr[j + 1])):
            v = data[p]
            s += v
            s2 += v * v
            g += v * y[_u(indices[p])]
        sums[j] = s
        sq[j] = s2
        xty[j] = g
    return sums, sq, xty


@jit
def csc_correlations(indptr, indices, data, mu, r, cols, fresh, out):
    """``out[j] = x_j'r - mu_j sum(r)`` for ``j`` in ``cols`` (columns of a CSC design centred
    implicitly by ``mu``); returns ``max_j |out[j]|`` and ``max_j out[j]`` over ``cols``.

    ``cols`` and ``fresh`` are sorted; ``out[j]`` is taken as current for ``j`` in ``fresh``
    (the working set, whose correlations the coordinate-descent kernel has just computed).
    """
    rsum = 0.0
    for i in range(r.shape[0]):
        rsum += r[i]
    amax = 0.0
    pmax = -np.inf
    q = 0
    n_fresh = fresh.shape[0]
    for k in range(cols.shape[0]):
        j = cols[k]
        while q < n_fresh and fresh[q] < j:
            q += 1
        if q < n_fresh and fresh[q] == j:
            g = out[j]
        else:
            g = _col_dot(indptr, indices, data, r, j) - mu[j] * rsum
            out[j] = g
        amax = max(amax, abs(g))
        pmax = max(pmax, g)
    return amax, pmax


@jit
def _screen(corr, norm, inv_norm, keep, w, scale, radius, lam, nonneg, score, dropped):
    """Gap safe test and working-set scores of the kept features.

    Feature ``j`` of ``keep`` is dropped when ``scale c_j + ||x_j|| radius < lam`` (``c_j`` the
    signed correlation if ``nonneg``, else its absolute value) or its column is zero; the kept
    ones are compacted at the front of ``keep`` with ``score[k] = (lam - c_j) / ||x_j||`` for
    ``j = keep[k]`` (the dual-constraint slack; ``-inf`` on the support). Dropped indices go to
    ``dropped``. Returns ``(n_kept, n_dropped, max |corr| and max ||x_j|| over the dropped,
    whether a dropped feature has w_j != 0, nonzeros of w among the kept)``.

    The test and the scores take one pass with fixed output positions; the compaction, with
    its data-dependent stores (4x slower per feature), a second one, only when some feature is
    dropped (a few outer iterations).
    """
    m = keep.shape[0]
    drop = np.empty(m, dtype=np.bool_)
    n_dropped = 0
    nnz = 0
    for k in range(m):
        j = keep[k]
        c = corr[j] if nonneg else abs(corr[j])
        drop[k] = (norm[j] == 0.0) | (scale * c + norm[j] * radius < lam)
        active = w[j] != 0.0
        score[k] = -np.inf if active else (lam - c) * inv_norm[j]
        n_dropped += drop[k]
        nnz += active
    cmax = 0.0
    nmax = 0.0
    nonzero = False
    if n_dropped == 0:
        return m, 0, cmax, nmax, nonzero, nnz
    n_kept = 0
    n_dropped = 0
    for k in range(m):
        j = keep[k]
        if drop[k]:
            dropped[n_dropped] = j
            n_dropped += 1
            cmax = max(cmax, abs(corr[j]))
            nmax = max(nmax, norm[j])
            if w[j] != 0.0:
                nonzero = True
                nnz -= 1
        else:
            keep[n_kept] = j
            score[n_kept] = score[k]
            n_kept += 1
    return n_kept, n_dropped, cmax, nmax, nonzero, nnz


@jit
def _kth_smallest(a, k):
    """The ``k``-th smallest entry (0-based) of ``a``, which is reordered in place.

    Quickselect with Hoare partitioning around the median of the entries at a quarter, half and
    three quarters of the range (robust to sorted input and to ties); after more rounds than a
    balanced selection needs, the remaining range is sorted instead, so the cost stays bounded
    on any input. Written out rather than ``np.partition``, whose numba implementation took
    most of the module's first-call compilation time.
    """
    lo = 0
    hi = a.shape[0] - 1
    rounds = 0
    limit = 16
    size = a.shape[0]
    while size > 1:
        size //= 2
        limit += 2
    while lo < hi:
        rounds += 1
        if rounds > limit:  # shell sort of what is left (Ciura's gaps)
            for gap in (701, 301, 132, 57, 23, 10, 4, 1):
                for i in range(lo + gap, hi + 1):
                    v = a[i]
                    j = i
                    while j - gap >= lo and a[j - gap] > v:
                        a[j] = a[j - gap]
                        j -= gap
                    a[j] = v
            break
        n = hi - lo + 1
        x = a[lo + n // 4]
        y = a[lo + n // 2]
        z = a[lo + (3 * n) // 4]
        pivot = max(min(x, y), min(max(x, y), z))
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        # now a[lo:j + 1] <= pivot <= a[i:hi + 1], and entries strictly between equal the pivot
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return a[k]
    return a[k]


@jit
def _select_smallest(score, keep, size, ws):
    """The ``size`` features ``keep[k]`` of smallest ``score[k]``, in the order of ``keep``,
    into ``ws``; ties at the threshold go to the first ones.

    The threshold is the ``size``-th smallest score. A strided sample of the scores bounds it
    from above first, so that the exact selection runs on the few candidates below the bound
    (the working set is a small fraction of the features); all scores are used when the bound
    turns out too low.
    """
    m = keep.shape[0]
    stride = 16
    n_sample = m // stride
    cand = np.empty(m)
    n_cand = 0
    if n_sample >= 64 and 2 * size < m:
        sample = np.empty(n_sample)
        for q in range(n_sample):
            sample[q] = score[q * stride]
        # a rank well above the expected one, so that the bound rarely fails
        rank = min(n_sample - 1, int(1.5 * size / stride) + 8)
        bound = _kth_smallest(sample, rank)
        for k in range(m):  # branch-free compaction
            cand[n_cand] = score[k]
            n_cand += score[k] <= bound
    if n_cand < size:
        for k in range(m):
            cand[k] = score[k]
        n_cand = m
    t = _kth_smallest(cand[:n_cand], size - 1)
    ties = size
    for k in range(n_cand):
        ties -= cand[k] < t
    count = 0
    for k in range(m):
        v = score[k]
        tie = (v == t) & (ties > 0)
        ties -= tie
        ws[count] = keep[k]  # kept only if the count moves on
        count += (v < t) | tie
    return count


@jit
def gap_screen_select(corr, cmax, norm, inv_norm, keep, w, r, y, lam, gap_tol, nonneg, p0,
                      grow_to, prev_gap, score, dropped, ws):
    """An outer iteration's bookkeeping in one call, given the correlations ``corr`` on ``keep``
    and their dual-feasibility maximum ``cmax``: the duality gap of
    ``1/2 ||r||^2 + lam ||w||_1`` and, when it exceeds ``gap_tol``, gap safe screening of
    ``keep`` (compacted in place, see :func:`_screen`) and the next working set.

    The working set (into ``ws``, in the order of ``keep``) holds the support and the features
    of smallest slack: ``max(p0, 2 nnz(w))`` of them, or ``grow_to`` if the gap fell by less
    than 4x from ``prev_gap``, capped at the kept count. ``inv_norm`` holds ``1 / ||x_j||``
    (0 for zero columns); ``score`` and ``dropped`` are work arrays of the length of
    ``keep``. Returns an :data:`OuterStep`.
    """
    rr = _dot(r, r)
    ry = _dot(r, y)
    l1 = 0.0
    nnz = 0
    for j in range(w.shape[0]):
        l1 += abs(w[j])
        nnz += w[j] != 0.0
    gap = _gap_from(rr, ry, l1, cmax, lam)
    primal = 0.5 * rr + lam * l1
    n_keep = keep.shape[0]
    if gap <= gap_tol:
        return OuterStep(gap, primal, nnz, n_keep, 0, 0.0, 0.0, False, 0)
    scale = 1.0 if cmax <= lam else lam / cmax
    radius = np.sqrt(2.0 * max(gap, 0.0))
    n_kept, n_dropped, dcmax, dnmax, nonzero, nnz_kept = _screen(
        corr, norm, inv_norm, keep, w, scale, radius, lam, nonneg, score, dropped)
    size = max(p0, 2 * nnz_kept)
    if gap > 0.25 * prev_gap:
        size = max(size, grow_to)
    size = min(size, n_kept)
    if size > 0:
        size = _select_smallest(score[:n_kept], keep[:n_kept], size, ws)
    return OuterStep(gap, primal, nnz, n_kept, n_dropped, dcmax, dnmax, nonzero, size)
