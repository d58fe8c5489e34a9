"""Maximum flow on a k-sparse support, and the deficit of a one-slot swap without copying it.

A support is stored per column as ``slot_row[j, s]`` (``k`` slots per column) with a flow
``flow[j, s] >= 0``. The network is source -> row ``i`` (capacity ``a_i``, the unused part in
``row_spare``), row -> column along the support (unbounded), column ``j`` -> sink (capacity
``b_j``, unused part in ``col_spare``). :func:`augment` pushes flow along shortest augmenting
paths (Edmonds-Karp, many sources at once) until none is left; the rows and columns its last
search reached are the minimum cut.

The support repair tries many swaps per move, each replacing one slot ``(j, s)`` by a new row
and asking for the new maximum flow. :func:`swap_deficit` answers that in place: it reuses the
move's row adjacency (the swapped edge skipped at its old row and merged into the new row's
list at the position a rebuilt adjacency would give it, so the searches visit edges in the same
order and find the same flow as a fresh :func:`augment` on the swapped support), records which
entries it changes, and restores them from the move's copy. Its cost is that of the searches
alone, where a copy of the state and a rebuilt adjacency per trial cost more than the searches.
"""

from __future__ import annotations

import numpy as np

from ..utils import jit

# Arguments of _push as typed values, not literals: a literal passed to a jitted function is
# typed Literal[...] and compiles another copy of the callee (see _sorting._TOP)
_NO_EDGE = np.int64(-1)
_EMPTY = np.int64(0)
_YES = np.bool_(True)
_NO = np.bool_(False)


@jit
def spares(a, b, slot_row, flow):
    """Unused row and column masses of a flow (clipped at 0 against rounding)."""
    m, k = slot_row.shape
    row_spare = np.empty(a.shape[0])
    col_spare = np.empty(m)
    for i in range(a.shape[0]):
        row_spare[i] = a[i]
    for j in range(m):
        col_spare[j] = b[j]
        for s in range(k):
            row_spare[slot_row[j, s]] -= flow[j, s]
            col_spare[j] -= flow[j, s]
    for i in range(a.shape[0]):
        row_spare[i] = max(row_spare[i], 0.0)
    for j in range(m):
        col_spare[j] = max(col_spare[j], 0.0)
    return row_spare, col_spare


@jit
def row_adjacency(slot_row, n, start, edges):
    """CSR lists (``start`` of size n + 1, ``edges`` of size m k) of the edges ``j * k + s`` at
    every row, in increasing order."""
    m, k = slot_row.shape
    for i in range(n + 1):
        start[i] = 0
    for j in range(m):
        for s in range(k):
            start[slot_row[j, s] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    for j in range(m):
        for s in range(k):
            r = slot_row[j, s]
            edges[start[r]] = j * k + s
            start[r] += 1
    for i in range(n, 0, -1):  # the fill moved every start to the next row's
        start[i] = start[i - 1]
    start[0] = 0


@jit
def _push(slot_row, flow, row_spare, col_spare, tol, reach_row, reach_col, start, edges,
          moved, old_row, new_row, merged, n_merged, work, track, touched, dirty):
    """Augment until no path is left (the core of :func:`augment` and :func:`swap_deficit`).

    ``moved`` (edge ``j * k + s``, or -1) is skipped at ``old_row``, whose list in ``start,
    edges`` still holds it, and ``merged[:n_merged]`` replaces the list of ``new_row``.
    ``work`` holds three int64 buffers of size ``max(n, m)`` (parents and queue). With
    ``track``, every changed entry is recorded once in ``touched`` (flags: flow edges, then
    rows, then columns) and listed in ``dirty`` (its first entry counts them).
    """
    n = row_spare.shape[0]
    m, k = slot_row.shape
    row_parent = work[0]  # edge j*k+s used backwards to reach the row; -1: source
    col_parent = work[1]  # edge used forwards to reach the column
    queue = work[2]
    while True:
        for i in range(n):
            reach_row[i] = False
        for j in range(m):
            reach_col[j] = False
        head = 0
        tail = 0
        for i in range(n):
            if row_spare[i] > tol:
                reach_row[i] = True
                row_parent[i] = -1
                queue[tail] = i
                tail += 1
        found = -1
        while head < tail and found < 0:
            i = queue[head]
            head += 1
            lst, lo, hi = edges, start[i], start[i + 1]
            if i == new_row:
                lst, lo, hi = merged, 0, n_merged
            for p in range(lo, hi):
                e = lst[p]
                if e == moved and i == old_row:
                    continue
                j = e // k
                if reach_col[j]:
                    continue
                reach_col[j] = True
                col_parent[j] = e
                if col_spare[j] > tol:
                    found = j
                    break
                for s in range(k):
                    r = slot_row[j, s]
                    if not reach_row[r] and flow[j, s] > tol:
                        reach_row[r] = True
                        row_parent[r] = j * k + s
                        queue[tail] = r
                        tail += 1
        if found < 0:
            deficit = 0.0  # a loop, in the order of numba's sum, which compiles slowly
            for j in range(m):
                deficit += col_spare[j]
            return deficit
        delta = col_spare[found]
        j = found
        while True:  # bottleneck: the source row's spare and the flows used backwards
            e = col_parent[j]
            i = slot_row[e // k, e % k]
            if row_parent[i] < 0:
                delta = min(delta, row_spare[i])
                break
            e = row_parent[i]
            delta = min(delta, flow[e // k, e % k])
            j = e // k
        if track:
            _touch(touched, dirty, m * k + n + found)
        col_spare[found] -= delta
        j = found
        while True:
            e = col_parent[j]
            if track:
                _touch(touched, dirty, e)
            flow[e // k, e % k] += delta
            i = slot_row[e // k, e % k]
            if row_parent[i] < 0:
                if track:
                    _touch(touched, dirty, m * k + i)
                row_spare[i] -= delta
                break
            e = row_parent[i]
            if track:
                _touch(touched, dirty, e)
            flow[e // k, e % k] -= delta
            j = e // k


@jit
def _touch(touched, dirty, entry):
    if not touched[entry]:
        touched[entry] = True
        dirty[0] += 1
        dirty[dirty[0]] = entry


@jit
def workspace(n, m, k):
    """Buffers of :func:`swap_deficit` for an ``n x m`` problem with ``k`` slots per column:
    ``(start, edges, merged, work, seen, touched, dirty)``."""
    return (np.zeros(n + 1, np.int64), np.zeros(m * k, np.int64), np.zeros(m * k + 1, np.int64),
            np.zeros((3, max(n, m)), np.int64), np.zeros(n + m, np.bool_),
            np.zeros(m * k + n + m, np.bool_), np.zeros(m * k + n + m + 1, np.int64))


@jit
def augment(slot_row, flow, row_spare, col_spare, tol, reach_row, reach_col):
    """Push flow until no augmenting path is left; returns the remaining deficit.

    ``row_spare``/``col_spare`` are the unused masses (updated in place with ``flow``);
    ``reach_row``/``reach_col`` receive the rows and columns reached by the last search.
    """
    n = row_spare.shape[0]
    m, k = slot_row.shape
    start = np.empty(n + 1, np.int64)
    edges = np.empty(m * k, np.int64)
    row_adjacency(slot_row, n, start, edges)
    work = np.empty((3, max(n, m)), np.int64)
    none = np.zeros(1, np.int64)
    return _push(slot_row, flow, row_spare, col_spare, tol, reach_row, reach_col, start, edges,
                 _NO_EDGE, _NO_EDGE, _NO_EDGE, none, _EMPTY, work, _NO, np.zeros(1, np.bool_),
                 none)


@jit
def swap_deficit(slot_row, flow, row_spare, col_spare, tol, start, edges, j, s, new_row, merged,
                 work, seen, touched, dirty, base_flow, base_row_spare, base_col_spare):
    """The deficit of the maximum flow after slot ``(j, s)`` takes ``new_row`` (its flow
    dropped), augmenting from the current flow as :func:`augment` would on the swapped support.

    ``start, edges`` must be the row adjacency of ``slot_row`` and ``base_*`` copies of the
    current state: on return the support, flow and spares are as on entry.
    """
    n = row_spare.shape[0]
    m, k = slot_row.shape
    moved = j * k + s
    old_row = slot_row[j, s]
    # the new row's list with the swapped edge in its increasing place
    n_merged = 0
    placed = False
    for p in range(start[new_row], start[new_row + 1]):
        if not placed and moved < edges[p]:
            merged[n_merged] = moved
            n_merged += 1
            placed = True
        merged[n_merged] = edges[p]
        n_merged += 1
    if not placed:
        merged[n_merged] = moved
        n_merged += 1
    dirty[0] = 0
    _touch(touched, dirty, moved)
    _touch(touched, dirty, m * k + old_row)
    _touch(touched, dirty, m * k + n + j)
    row_spare[old_row] += flow[j, s]
    col_spare[j] += flow[j, s]
    flow[j, s] = 0.0
    slot_row[j, s] = new_row
    reach_row = seen[:n]  # the searches' reached sets (not wanted here)
    reach_col = seen[n:]
    deficit = _push(slot_row, flow, row_spare, col_spare, tol, reach_row, reach_col, start, edges,
                    moved, old_row, new_row, merged, n_merged, work, _YES, touched, dirty)
    slot_row[j, s] = old_row
    for t in range(1, dirty[0] + 1):
        entry = dirty[t]
        touched[entry] = False
        if entry < m * k:
            flow[entry // k, entry % k] = base_flow[entry // k, entry % k]
        elif entry < m * k + n:
            row_spare[entry - m * k] = base_row_spare[entry - m * k]
        else:
            col_spare[entry - m * k - n] = base_col_spare[entry - m * k - n]
    return deficit
