"""Numba kernels that unlink deleted nodes from the HNSW graph so their slots can be reused.

hnswlib reuses a deleted slot by overwriting it in place and patching the neighbourhood, and its
recall degrades under churn. Here, before any slot is reused, every live node that links to a
deleted one gets a new list on that layer, chosen as an insertion would choose it: a search of
the current graph (deleted nodes still traversed, never selected) from the node's own vector,
merged with its live links, pruned with the heuristic and refilled to its former degree. The
searches only read the graph, so they run in parallel and write to a buffer; then the new lists
are committed and the live neighbours of deleted nodes, which lose in-links, are linked back from
their own neighbours (serially, in slot order, so the result is reproducible).
"""

from __future__ import annotations

import numpy as np

from ..utils import effective_n_jobs, jit
from ._graph import _FASTMATH, _claim, _distance_to, _heap_drain_sorted, _row, new_buffers
from ._insert import inserter
from ._kernels import _greedy_descent, _layer_search
from ._locking import run_each, thread_pool
from ._select import _add_link, _select_heuristic


# One kernel, not a helper per list: each compiled kernel links (and LLVM optimises again) a
# copy of every kernel it calls, and a helper called from this loop alone only added a copy.
@jit(fastmath=_FASTMATH)
def _repair_rows(counters, affected, layer, mmax, ef, dead, entry, max_level, g, new_rows):
    """The repaired adjacency rows on ``layer`` of ``affected[_claim(counters, 0)]`` until all
    are taken, written to the same rows of ``new_rows``."""
    buf = new_buffers(g.data.shape[0], ef)
    tag = np.int64(0)  # not a literal: numba would compile the callees for it too
    data, scale, metric = g.data, g.scale, g.metric
    has_dead = dead.shape[0] > 0
    a = _claim(counters, np.int64(0))
    while a < affected.shape[0]:
        p = affected[a]
        out = new_rows[a]
        row = _row(g, p, layer)
        count = row[0]
        kept = 0
        for j in range(1, count + 1):  # live links stay: they carry the reverse links
            if not dead[row[j]]:
                kept += 1
                out[kept] = row[j]
        q = data[p]
        sq = scale[p]
        cur_d = _distance_to(q, sq, data, entry, scale[entry], metric)
        cur, cur_d = _greedy_descent(q, sq, entry, cur_d, max_level, layer, g)
        n_res, tag, buf = _layer_search(q, sq, cur, cur_d, layer, ef, g, buf, tag, dead,
                                        has_dead)
        sorted_d = buf.sorted_d
        sorted_i = buf.sorted_i
        n_res = _heap_drain_sorted(buf.res_d, buf.res_i, n_res, sorted_d, sorted_i)
        n = 0
        for j in range(n_res):  # drop p itself and links already kept
            c = sorted_i[j]
            present = c == p
            for t in range(1, kept + 1):
                if out[t] == c:
                    present = True
                    break
            if not present:
                sorted_i[n] = c
                sorted_d[n] = sorted_d[j]
                n += 1
        # int64() on the counts: while numba infers their types it would otherwise also compile
        # the heuristic for their first value, the literal 0
        kept = _select_heuristic(sorted_i, sorted_d, np.int64(n), mmax, data, scale, metric, out,
                                 np.int64(kept))
        for j in range(n):  # refill to the former degree with the nearest pruned candidates
            if kept >= count:
                break
            c = sorted_i[j]
            present = False
            for t in range(1, kept + 1):
                if out[t] == c:
                    present = True
                    break
            if not present:
                kept += 1
                out[kept] = c
        out[0] = kept
        a = _claim(counters, np.int64(0))


@jit
def _affected(layer, dead, n_slots, g):
    """Live nodes on ``layer`` that link to a dead node."""
    out = np.empty(n_slots, np.int32)
    n = 0
    for p in range(n_slots):
        if dead[p] or g.level[p] < layer:
            continue
        row = _row(g, p, layer)
        for j in range(1, row[0] + 1):
            if dead[row[j]]:
                out[n] = p
                n += 1
                break
    return out[:n]


@jit
def _commit_and_relink(layer, mmax, affected, new_rows, dead, n_slots, g):
    lost = np.zeros(n_slots, np.uint8)
    for d in range(n_slots):
        if dead[d] and g.level[d] >= layer:
            drow = _row(g, d, layer)
            for t in range(1, drow[0] + 1):
                lost[drow[t]] = 1
    for a in range(affected.shape[0]):
        row = _row(g, affected[a], layer)
        for j in range(new_rows[a, 0] + 1):  # a loop: slice assignment compiles slowly
            row[j] = new_rows[a, j]
    tmp_d = np.empty(mmax + 1, np.float32)
    tmp_i = np.empty(mmax + 1, np.int32)
    data, scale, metric = g.data, g.scale, g.metric
    links0, upper, upper_off = g.links0, g.upper, g.upper_off
    for x in range(n_slots):
        if lost[x] and not dead[x]:
            row = _row(g, x, layer)
            for j in range(1, row[0] + 1):
                _add_link(row[j], x, layer, mmax, data, scale, metric, links0, upper,
                          upper_off, tmp_d, tmp_i)


def repair_around(dead, n_slots, entry, max_level, g, m, ef, n_jobs):
    """Remove every link into the ``dead`` nodes (uint8 mask over slots) of the graph ``g``,
    layer by layer."""
    for layer in range(max_level, -1, -1):
        mmax = 2 * m if layer == 0 else m
        affected = _affected(layer, dead, n_slots, g)
        if affected.size:
            new_rows = np.zeros((affected.size, mmax + 1), np.int32)
            # each new list is a search of about ef expanded nodes of up to mmax neighbours
            work = 2.0 * affected.size * ef * mmax * g.data.shape[1]
            n_threads = effective_n_jobs(n_jobs, work)
            with thread_pool(n_threads) as parallel:
                run_each(_repair_rows, min(affected.size, n_threads) if parallel else 1,
                         np.zeros(1, np.int64), affected, layer, mmax, ef, dead, entry, max_level,
                         g, new_rows)
        else:
            new_rows = np.zeros((0, mmax + 1), np.int32)
        _commit_and_relink(layer, mmax, affected, new_rows, dead, n_slots, g)


def release_deleted(index) -> None:
    """Unlink every deleted element of ``index`` and free its slot: the links into them are
    repaired, or above ``index._REBUILD_FRACTION`` deleted the survivors' graph is rebuilt."""
    n = index._n_slots
    dead = index._deleted[:n].copy()
    rebuild = index._n_deleted > index._REBUILD_FRACTION * (index._n_live + index._n_deleted)
    if not rebuild:
        repair_around(dead, n, index._entry, index._max_level, index._graph(), index.M,
                      index._ef_build(), index.n_jobs)
    gone = np.flatnonzero(dead)
    index._level[gone] = -1
    index._links0[gone, 0] = 0
    index._upper_off[gone] = -1
    index._labels[gone] = -1
    index._deleted[gone] = 0
    index._n_deleted = 0
    if rebuild:  # re-insert the survivors in slot order, keeping their levels
        live = np.flatnonzero(index._level[:n] >= 0).astype(np.int32)
        index._entry, index._max_level = -1, -1
        with inserter(index, live.size) as insert:
            insert(live, index._level[live].copy())
    elif dead[index._entry]:
        levels = index._level[:n]
        if (levels >= 0).any():
            index._entry = int(np.argmax(levels))
            index._max_level = int(levels[index._entry])
        else:
            index._entry, index._max_level = -1, -1
