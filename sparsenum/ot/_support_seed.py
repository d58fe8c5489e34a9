"""Supports that carry a feasible k-sparse plan by construction, keeping most of the dual's.

A *backbone* is a feasible plan with few rows per column; the seed support puts the backbone's
rows first in every column and fills the column's remaining slots with the dual's best rows
(``idx``, decreasing score). The backbone's flow is a plan with both marginals on that support,
so no maximum-flow search is needed, and where the backbone agrees with the dual the column is
the dual's own.

- :func:`assignment_backbone` (equal column masses, row masses whole numbers of columns, e.g.
  uniform weights with ``n = m``): the assignment of columns to copies of the rows that loses
  the least dual score (a min-cost perfect matching over each column's candidates, its next-best
  rows and the edges of one perfect matching: a maximum matching of the candidate graph,
  Hopcroft-Karp, completed by an exact assignment of the columns it leaves out).
- :func:`staircase_backbone` (any weights): the north-west-corner plan with columns in the order
  of their best row, taking next the largest of the following columns that keeps at most ``k``
  rows and moving to the largest of the following rows; with ``max(b) <= (k - 1) min(a)`` every
  column fits, otherwise the last few may be left for the repair. Far from the dual's support,
  so only a last resort.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_bipartite_matching, min_weight_full_bipartite_matching

from ..utils import jit

#: columns the staircase looks ahead for one that fits, before giving up
_WINDOW = 64


def assignment_form(a, b):
    """Copies per row if every column has the same mass and every row mass is a whole number
    of columns, else None."""
    unit = b[0]
    if unit <= 0 or not np.allclose(b, unit, rtol=1e-12, atol=0):
        return None
    copies = np.rint(a / unit)
    if copies.sum() != b.shape[0] or not np.allclose(copies * unit, a, rtol=1e-9, atol=0):
        return None
    return copies.astype(np.int64)


def assignment_backbone(a, b, score, idx, extra=4):
    """Row per column of an assignment (weights of :func:`assignment_form`) that loses the
    least dual score against the candidate support ``idx`` (m, k).

    A column keeps its candidates when its row is one of them; otherwise its weakest candidate
    gives way, which costs the score between the two. The assignment minimises that total over
    the candidate edges, every column's ``extra`` next-best rows, and the edges of one perfect
    matching (a maximum matching of the candidate graph completed by an assignment of the
    left-over columns), so that a full assignment exists in the graph.
    """
    copies = assignment_form(a, b)
    n, m = score.shape
    k = idx.shape[1]
    owner = np.repeat(np.arange(n), copies)  # row of every copy
    first = np.r_[0, np.cumsum(copies)[:-1]]
    cols = np.arange(m)
    wider = min(k + extra, n)
    near = np.argpartition(-score, wider - 1, axis=0)[:wider].T  # (m, wider), any order
    base = _complete(_copy_graph(np.ascontiguousarray(idx), copies, first, m), owner, score)
    # edges (column, row): candidates, the wider neighbourhood, the completed matching
    rows_e = np.r_[idx.ravel(), near.ravel(), owner[base]]
    cols_e = np.r_[np.repeat(cols, k), np.repeat(cols, wider), cols]
    weakest = score[idx[:, -1], cols]
    loss = np.maximum(weakest[cols_e] - score[rows_e, cols_e], 0.0)
    loss[: idx.size] = 0.0
    key = np.unique(cols_e * n + rows_e, return_index=True)[1]
    rows_e, cols_e, loss = rows_e[key], cols_e[key], loss[key]
    # to every copy of the row; a tiny positive weight keeps zero-loss edges in the matrix
    per = copies[rows_e]
    cc = np.repeat(cols_e, per)
    copy = np.repeat(first[rows_e], per) + np.arange(per.sum()) - np.repeat(np.cumsum(per) - per,
                                                                            per)
    scale = max(float(np.abs(score[idx[:, 0], cols]).max()), 1e-300)
    weight = np.repeat(loss, per) / scale + 1e-9
    graph = sp.csr_matrix((weight, (cc, copy)), shape=(m, m))
    r, c = min_weight_full_bipartite_matching(graph)
    match = np.empty(m, np.int64)
    match[r] = c
    return owner[match]


def _copy_graph(idx, copies, first, m):
    per_edge = copies[idx.ravel()]
    cols = np.repeat(np.repeat(np.arange(m), idx.shape[1]), per_edge)
    starts = np.repeat(first[idx.ravel()], per_edge)
    offsets = np.arange(per_edge.sum()) - np.repeat(np.cumsum(per_edge) - per_edge, per_edge)
    return sp.csr_matrix((np.ones(cols.size, np.int8), (cols, starts + offsets)), shape=(m, m))


def _complete(graph, owner, score):
    """Copy per column: a maximum matching of ``graph``, the columns it leaves out assigned to
    the left-over copies by the largest total score."""
    m = graph.shape[0]
    match = maximum_bipartite_matching(graph, perm_type="column")
    free_cols = np.flatnonzero(match < 0)
    if free_cols.size:
        taken = np.zeros(m, bool)
        taken[match[match >= 0]] = True
        free_copies = np.flatnonzero(~taken)
        r, c = scipy.optimize.linear_sum_assignment(
            score[np.ix_(owner[free_copies], free_cols)], maximize=True)
        match[free_cols[c]] = free_copies[r]
    return match


@jit
def _next_rows(a, row_order, used, start, window, count, out):
    """The ``count`` largest unused rows among the next ``window`` unused ones of ``row_order``
    from position ``start``, in decreasing mass, into ``out``; returns how many were found."""
    found = 0
    seen = 0
    p = start
    n = row_order.shape[0]
    while p < n and seen < window:
        i = row_order[p]
        p += 1
        if used[i]:
            continue
        seen += 1
        pos = found if found < count else count - 1
        if found == count and a[i] <= a[out[count - 1]]:
            continue
        while pos > 0 and a[out[pos - 1]] < a[i]:
            out[pos] = out[pos - 1]
            pos -= 1
        out[pos] = i
        if found < count:
            found += 1
    return found


@jit
def _staircase(a, b, row_order, col_order, k, window, tol):
    """North-west corner plan with choices: the next column is the largest of the following
    ``window`` ones of ``col_order`` that spans at most ``k`` rows, and each new row is the
    largest of the following ``window`` ones of ``row_order``. Returns ``(rows, flows, count)``
    per column (``count[j]`` entries) and whether every column was placed."""
    n = a.shape[0]
    m = b.shape[0]
    rows = np.full((m, k), -1, np.int64)
    flows = np.zeros((m, k))
    count = np.zeros(m, np.int64)
    placed = np.zeros(m, np.bool_)
    used = np.zeros(n, np.bool_)
    ahead = np.empty(max(k - 1, 1), np.int64)
    head = 0  # first position of col_order not yet placed
    row_head = 0  # first position of row_order not yet used
    cur = row_order[0]
    used[cur] = True
    left = a[cur]  # mass of the current row still free
    for _ in range(m):
        while head < m and placed[col_order[head]]:
            head += 1
        while row_head < n and used[row_order[row_head]]:
            row_head += 1
        found = _next_rows(a, row_order, used, row_head, window, k - 1, ahead)
        chosen = -1
        seen = 0
        t = head
        while t < m and seen < window:
            j = col_order[t]
            t += 1
            if placed[j]:
                continue
            seen += 1
            need = b[j] - left  # mass beyond the current row, in the largest rows ahead
            spans = 1
            while need > tol and spans - 1 < found:
                need -= a[ahead[spans - 1]]
                spans += 1
            if need <= tol and (chosen < 0 or b[j] > b[chosen]):
                chosen = j  # the largest that fits: small columns are kept for tight spots
        if chosen < 0:
            return rows, flows, count, False
        j = chosen
        placed[j] = True
        need = b[j]
        nxt = 0
        while True:
            take = min(need, left)
            rows[j, count[j]] = cur
            flows[j, count[j]] = take
            count[j] += 1
            need -= take
            left -= take
            if need <= tol or nxt >= found:
                break
            cur = ahead[nxt]
            nxt += 1
            used[cur] = True
            left = a[cur]
        if left <= tol:
            while row_head < n and used[row_order[row_head]]:
                row_head += 1
            if _next_rows(a, row_order, used, row_head, window, 1, ahead) == 0:
                continue
            cur = ahead[0]
            used[cur] = True
            left = a[cur]
    return rows, flows, count, True


def staircase_backbone(a, b, idx):
    """``(rows, flows, count)`` of a staircase plan with at most ``k`` rows per column; it may
    leave the last few columns unplaced (``count[j] = 0``), which the repair then completes.

    Columns come in the order of their best row (``idx[:, 0]``) and rows in index order, so a
    column's step of the staircase falls near its best row, shifted by the mass that the
    columns before it take from rows they do not rank first.
    """
    n = a.shape[0]
    row_order = np.arange(n)
    col_order = np.argsort(idx[:, 0], kind="stable")
    tol = 1e-14 * max(float(a.sum()), np.finfo(float).tiny)
    rows, flows, count, _ = _staircase(a, b, row_order, col_order, idx.shape[1], _WINDOW, tol)
    return rows, flows, count


def seed_support(backbone_rows, backbone_flow, count, idx):
    """``(slot_row, flow)``: every column's backbone rows with their flow, then its best
    candidate rows of ``idx`` not already there (zero flow)."""
    m, k = idx.shape
    slot_row = np.empty((m, k), np.int64)
    flow = np.zeros((m, k))
    _fill(backbone_rows, backbone_flow, count, idx, slot_row, flow)
    return slot_row, flow


@jit
def _fill(backbone_rows, backbone_flow, count, idx, slot_row, flow):
    m, k = idx.shape
    for j in range(m):
        c = count[j]
        for s in range(c):
            slot_row[j, s] = backbone_rows[j, s]
            flow[j, s] = backbone_flow[j, s]
        s = c
        for r in range(k):
            if s == k:
                break
            i = idx[j, r]
            dup = False
            for q in range(c):
                if backbone_rows[j, q] == i:
                    dup = True
            if not dup:
                slot_row[j, s] = i
                s += 1
