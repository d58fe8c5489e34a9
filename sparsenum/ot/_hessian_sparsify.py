"""Error-bounded sparsification of the plan for the Newton stage (Tang & Qiu, NeurIPS 2024).

A magnitude threshold alone keeps a fixed fraction of the plan, so the sparsified Hessian keeps a
fixed error and Newton converges only linearly (seen on 2-D point clouds at ``reg = 1/4000``:
thousands of Newton steps). Bounding the mass dropped from every column by ``delta`` and from
every row by ``2 delta`` bounds the Hessian's error by Gershgorin; with ``delta`` proportional to
the gradient's norm the Newton steps become asymptotically exact.
"""

from __future__ import annotations

import numpy as np

from ..utils import jit
from ._sorting import heap_pop, heapify


@jit
def _largest_dropped_ascending(buf, count, budget):
    """The largest value of the ascending prefix of ``buf[:count]`` whose sum stays within
    ``budget`` (``-1`` when even the smallest exceeds it); ties at the cut stay kept.

    A min-heap yields the prefix in order: O(count + dropped log count), not a full sort.
    """
    heap = buf[:count].copy()
    heapify(heap, -1.0)
    dropped = np.empty(count)
    size = count
    total = 0.0
    k = 0
    while size > 0 and total + heap[0] <= budget:
        value = heap_pop(heap, size, -1.0)
        size -= 1
        total += value
        dropped[k] = value
        k += 1
    while k > 0 and size > 0 and dropped[k - 1] == heap[0]:
        k -= 1
    return dropped[k - 1] if k > 0 else -1.0


@jit
def error_bounded_thresholds(P, delta, thr_row, thr_col, indptr):
    """Lower ``thr_row`` and ``thr_col`` so that, with entry ``(i, j)`` kept when
    ``P_ij > thr_row[i]`` or ``P_ij > thr_col[j]``, the dropped mass is at most ``delta`` in
    every column and ``2 delta`` in every row. Fills ``indptr[1:]`` with the cumulated kept
    counts per row and returns ``(kept, ordered)``: the number of entries kept, and the number
    of entries it had to order by size (in heaps; the part of its work that grows with the
    plan's density, which the Newton stage's schedule counts).

    Entries already kept by the given thresholds stay kept. Per column, entries below
    ``delta / (2 n)`` are dropped without sorting (together at most ``delta / 2``); only the
    larger ones are sorted. Rows then give back their largest dropped entries until at most
    ``2 delta`` remains dropped.
    """
    n, m = P.shape
    buf = np.empty(max(n, m))
    col_cut = np.empty(m)
    small = 0.5 * delta / n
    n_sorted = 0
    for j in range(m):
        tj = thr_col[j]
        tiny = 0.0
        count = np.int64(0)  # not a literal 0: see _sorting._TOP
        for i in range(n):
            p = P[i, j]
            if p <= tj and p <= thr_row[i]:
                if p <= small:
                    tiny += p
                else:
                    buf[count] = p
                    count += 1
        n_sorted += count
        cut = _largest_dropped_ascending(buf, count, delta - tiny)
        col_cut[j] = min(tj, max(cut, small))
    small = 0.5 * delta / m
    for i in range(n):
        ti = thr_row[i]
        dropped = 0.0
        count = np.int64(0)  # not a literal 0: see _sorting._TOP
        for j in range(m):
            p = P[i, j]
            if p <= ti and p <= col_cut[j]:
                dropped += p
                if p > small:
                    buf[count] = p
                    count += 1
        if dropped > 2.0 * delta:
            # keep the largest dropped entries (a max-heap hands them out in order) until at
            # most 2 delta is dropped; the largest entry left dropped is the new cut
            heap = buf[:count].copy()
            heapify(heap, 1.0)
            n_sorted += count
            size = count
            while size > 0 and dropped > 2.0 * delta:
                dropped -= heap_pop(heap, size, 1.0)
                size -= 1
            ti = heap[0] if size > 0 else small
            thr_row[i] = min(thr_row[i], ti)
        kept = 0
        for j in range(m):
            p = P[i, j]
            if p > thr_row[i] or p > col_cut[j]:
                kept += 1
        indptr[i + 1] = kept
    for j in range(m):
        thr_col[j] = col_cut[j]
    indptr[0] = 0
    for i in range(n):
        indptr[i + 1] += indptr[i]
    return indptr[n], n_sorted
