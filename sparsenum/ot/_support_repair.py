"""Numba kernels that find a support with at most ``k`` rows per column carrying a feasible plan.

A support is stored per column as ``slot_row[j, s]`` (the row of slot ``s`` of column ``j``,
``k`` slots per column) with a flow ``flow[j, s] >= 0`` on it. Whether some plan with marginals
``a, b`` lives on the support is a maximum-flow question (source -> row ``i`` with capacity
``a_i``, row -> column along the support with unbounded capacity, column ``j`` -> sink with
capacity ``b_j``): :func:`augment` pushes flow along shortest augmenting paths (Edmonds-Karp,
many sources at once) until none is left, and the rows and columns its last search reached are
the minimum cut. A deficit means the reached rows still have mass but every column they touch is
full, so a feasible support needs an edge from a reached row to an unreached column: that is the
only kind of move :func:`repair` tries (replace one slot of an unreached column by a reached
row), ranked by how much the dual score drops. Each move takes the first trial that lowers the
deficit, or else the trial that raises it least, and a (row, column) pair just swapped may not be
swapped back for a while (a tabu search: it crosses the plateaus where no single swap lowers the
deficit, which are common when the support must be a spanning tree, e.g. ``k = 2, n = m``).
The trials of a move run in place on the move's state and adjacency
(:func:`._max_flow.swap_deficit`): they find the same flows as a maximum flow rebuilt per
trial, without its copies.
"""

from __future__ import annotations

import numpy as np

from ..utils import jit
from ._max_flow import augment, row_adjacency, swap_deficit, workspace
from ._max_flow import spares as _spares
from ._sorting import heapify_order, pop_order


@jit
def _copy_state(rows, flow, row_spare, col_spare, to_rows, to_flow, to_row_spare, to_col_spare):
    """Explicit loops: numba compiles whole-array assignments far more slowly."""
    m, k = rows.shape
    for j in range(m):
        to_col_spare[j] = col_spare[j]
        for s in range(k):
            to_rows[j, s] = rows[j, s]
            to_flow[j, s] = flow[j, s]
    for i in range(row_spare.shape[0]):
        to_row_spare[i] = row_spare[i]


@jit
def _candidates(score_t, slot_row, reach_row, reach_col, tabu_until, move, per_column):
    """Moves ``(loss, column, slot, new row)``: a reached row into an unreached column.

    ``score_t`` and ``tabu_until`` are indexed ``[column, row]``: a column's scan reads them
    contiguously."""
    m = score_t.shape[0]
    k = slot_row.shape[1]
    rows = np.empty(reach_row.shape[0], np.int64)  # the reached rows (np.flatnonzero compiles
    n_rows = 0  # slowly)
    for i in range(reach_row.shape[0]):
        if reach_row[i]:
            rows[n_rows] = i
            n_rows += 1
    size = 0
    cap = m * per_column * k
    loss = np.empty(cap)
    col = np.empty(cap, np.int64)
    slot = np.empty(cap, np.int64)
    new_row = np.empty(cap, np.int64)
    best_val = np.empty(per_column)
    best_row = np.empty(per_column, np.int64)
    for j in range(m):
        if reach_col[j]:
            continue
        filled = 0
        for r in range(n_rows):  # the per_column best-scoring reached rows not in column j
            i = rows[r]
            z = score_t[j, i]
            if filled == per_column and z <= best_val[filled - 1]:
                continue  # the cheap test first
            taken = False
            for s in range(k):
                if slot_row[j, s] == i:
                    taken = True
            if taken or tabu_until[j, i] > move:
                continue
            pos = filled if filled < per_column else per_column - 1
            while pos > 0 and best_val[pos - 1] < z:
                best_val[pos] = best_val[pos - 1]
                best_row[pos] = best_row[pos - 1]
                pos -= 1
            best_val[pos] = z
            best_row[pos] = i
            if filled < per_column:
                filled += 1
        for t in range(filled):
            for s in range(k):
                if tabu_until[j, slot_row[j, s]] > move:
                    continue
                loss[size] = score_t[j, slot_row[j, s]] - best_val[t]
                col[size] = j
                slot[size] = s
                new_row[size] = best_row[t]
                size += 1
    return loss[:size], col[:size], slot[:size], new_row[:size]


def saturate(a, b, slot_row, flow, tol):
    """Augment ``flow`` in place to a maximum flow on the support; returns the deficit (the
    column mass it cannot carry, 0 when the support is feasible). The common case needs only
    this: :func:`repair` (and its compilation) is for supports that turn out infeasible.
    Python calling the two kernels: a kernel of its own would compile them again inside it."""
    row_spare, col_spare = _spares(a, b, slot_row, flow)
    reach_row = np.zeros(a.shape[0], np.bool_)
    reach_col = np.zeros(slot_row.shape[0], np.bool_)
    return augment(slot_row, flow, row_spare, col_spare, tol, reach_row, reach_col)


@jit
def repair(a, b, score, slot_row, flow, tol, max_moves, patience, trials_per_move, tenure,
           per_column):
    """Tabu search over single-slot swaps for a support whose maximum flow meets both marginals.

    ``slot_row``/``flow`` hold the starting support and a flow on it with row sums ``<= a`` and
    column sums ``<= b``; on return they hold the best support found and its maximum flow.
    The search stops when the support is feasible, after ``max_moves`` moves, or after
    ``patience`` moves without a new best deficit. Returns ``(deficit, moves)``: the mass the
    best support cannot carry (0 when feasible).
    """
    n, m = score.shape
    k = slot_row.shape[1]
    row_spare, col_spare = _spares(a, b, slot_row, flow)
    reach_row = np.zeros(n, np.bool_)
    reach_col = np.zeros(m, np.bool_)
    deficit = augment(slot_row, flow, row_spare, col_spare, tol, reach_row, reach_col)
    best_deficit = deficit
    best_rows = np.empty((m, k), np.int64)
    best_flow = np.empty((m, k))
    best_row_spare = np.empty(n)
    best_col_spare = np.empty(m)
    _copy_state(slot_row, flow, row_spare, col_spare, best_rows, best_flow, best_row_spare,
                best_col_spare)
    tabu_until = np.zeros((m, n), np.int32)  # (column, row) pairs just swapped
    score_t = np.empty((m, n))
    for i in range(n):
        for j in range(m):
            score_t[j, i] = score[i, j]
    # the move's state, restored after every trial, and the trials' buffers
    base_rows = np.empty((m, k), np.int64)
    base_flow = np.empty((m, k))
    base_row_spare = np.empty(n)
    base_col_spare = np.empty(m)
    start, edges, merged, work, seen, touched, dirty = workspace(n, m, k)
    move = np.int64(0)  # not a literal 0: see _sorting._TOP
    best_move = 0
    done = tol * (n + m)
    while best_deficit > done and move < max_moves and move - best_move < patience:
        loss, col, slot, new_row = _candidates(score_t, slot_row, reach_row, reach_col,
                                               tabu_until, move, per_column)
        if loss.size == 0:
            break
        # the trials by increasing loss, from a heap: most moves stop at one of their first
        neg_loss = -loss
        order = np.empty(loss.size, np.int64)  # a loop: np.arange compiles slowly
        for t in range(loss.size):
            order[t] = t
        heapify_order(neg_loss, order)
        chosen = -1
        chosen_deficit = np.inf
        _copy_state(slot_row, flow, row_spare, col_spare, base_rows, base_flow, base_row_spare,
                    base_col_spare)
        row_adjacency(slot_row, n, start, edges)
        for left in range(loss.size, max(loss.size - trials_per_move, 0), -1):
            t = pop_order(neg_loss, order, left)
            d = swap_deficit(slot_row, flow, row_spare, col_spare, tol, start, edges, col[t],
                             slot[t], new_row[t], merged, work, seen, touched, dirty,
                             base_flow, base_row_spare, base_col_spare)
            if d < chosen_deficit - tol:
                chosen, chosen_deficit = t, d
                if d < deficit - tol:
                    break  # first improving move
        # apply the chosen move (the trials left the state as it was)
        j, s = col[chosen], slot[chosen]
        tabu_until[j, slot_row[j, s]] = move + tenure
        tabu_until[j, new_row[chosen]] = move + tenure
        row_spare[slot_row[j, s]] += flow[j, s]
        col_spare[j] += flow[j, s]
        flow[j, s] = 0.0
        slot_row[j, s] = new_row[chosen]
        deficit = augment(slot_row, flow, row_spare, col_spare, tol, reach_row, reach_col)
        move += 1
        if deficit < best_deficit - tol:
            best_deficit = deficit
            best_move = move
            _copy_state(slot_row, flow, row_spare, col_spare, best_rows, best_flow,
                        best_row_spare, best_col_spare)
    _copy_state(best_rows, best_flow, best_row_spare, best_col_spare, slot_row, flow, row_spare,
                col_spare)
    return best_deficit, move


@jit
def improving_swaps(a, b, score, slot_row, flow, tol):
    """Swap in, column by column, the best outside row whose score beats a slot's, whenever the
    support stays feasible (checked by re-augmenting the flow); returns the number of swaps.

    ``score`` comes from the potentials of the restricted problem on the current support: a
    positive score outside the support is a direction of descent there. The caller keeps the
    new support only if the polished objective improves.
    """
    n, m = score.shape
    k = slot_row.shape[1]
    row_spare, col_spare = _spares(a, b, slot_row, flow)
    reach_row = np.zeros(n, np.bool_)
    reach_col = np.zeros(m, np.bool_)
    trial_rows = np.empty((m, k), np.int64)
    trial_flow = np.empty((m, k))
    trial_row_spare = np.empty(n)
    trial_col_spare = np.empty(m)
    done = tol * (n + m)
    swaps = 0
    for j in range(m):
        best_i = -1
        best_z = 0.0  # only rows that would enter the restricted problem (positive score)
        for i in range(n):
            z = score[i, j]
            if z > best_z:
                taken = False
                for s in range(k):
                    if slot_row[j, s] == i:
                        taken = True
                if not taken:
                    best_i, best_z = i, z
        if best_i < 0:
            continue
        worst_s = 0
        for s in range(1, k):
            if score[slot_row[j, s], j] < score[slot_row[j, worst_s], j]:
                worst_s = s
        if score[slot_row[j, worst_s], j] >= best_z:
            continue
        _copy_state(slot_row, flow, row_spare, col_spare, trial_rows, trial_flow,
                    trial_row_spare, trial_col_spare)
        trial_row_spare[trial_rows[j, worst_s]] += trial_flow[j, worst_s]
        trial_col_spare[j] += trial_flow[j, worst_s]
        trial_flow[j, worst_s] = 0.0
        trial_rows[j, worst_s] = best_i
        if augment(trial_rows, trial_flow, trial_row_spare, trial_col_spare, tol, reach_row,
                   reach_col) <= done:
            _copy_state(trial_rows, trial_flow, trial_row_spare, trial_col_spare, slot_row, flow,
                        row_spare, col_spare)
            swaps += 1
    return swaps
