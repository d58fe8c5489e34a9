"""Numba kernels that insert nodes into the HNSW graph, a batch at a time, on any number of threads
with the same result.

Insertion one node after another (Malkov & Yashunin, Algorithm 1) is inherently serial: each node
searches the graph its predecessors left. hnswlib runs insertions concurrently under a mutex per
node, and its graph then depends on the thread timing. Here a batch of nodes is inserted in two
phases whose results do not depend on the order in which threads pick up the work:

1. *Plan* (parallel over the batch's nodes). Each node searches the graph as it stood before the
   batch (nothing writes to it in this phase), layer by layer as in Algorithm 1, takes the
   nodes of the same batch that precede it as further candidates (exact distances: a serial
   insertion would have had them in the graph), and chooses its own neighbours with the
   heuristic. Each node writes only its own adjacency rows.
2. *Link back* (parallel over the nodes that gained a neighbour). Every chosen link
   ``node -> t`` asks for the reverse ``t -> node``; the requests of one ``t`` are applied by
   one chunk of work (``t`` modulo the number of chunks), in batch order, re-pruning a full list
   with the heuristic as Algorithm 1 does. A chunk writes only the rows of its own ``t``.

On several threads, each phase is run by the calling thread and a pool's threads, each in a
serial kernel that releases the GIL and takes the phase's pieces of work from a shared atomic
counter as it comes free. Neither phase depends on how its nodes are split into chunks or which
thread runs a chunk, and the graph depends on the batch size, a constant of the
index, never on the thread count: ``n_jobs=1`` and ``n_jobs=8`` build the same graph. Node and
vector data of the batch are in place before the kernels run (``hnsw.py``).
"""

from __future__ import annotations

import contextlib

import numpy as np

from ..utils import effective_n_jobs, jit
from ._graph import (
    _FASTMATH,
    L2,
    SearchBuffers,
    _claim,
    _distance_to,
    _heap_drain_sorted,
    _pair_distance,
    _row,
)
from ._kernels import _greedy_descent, _layer_search
from ._locking import run_each, thread_pool
from ._progress import Progress
from ._select import _add_link, _select_heuristic, _sort_pairs


@jit(inline="always")
def _merge(a_d, a_i, a_lo, a_hi, b_d, b_i, b_lo, b_hi, out_d, out_i, out_lo):
    """Merge the sorted runs ``a[a_lo:a_hi]`` and ``b[b_lo:b_hi]`` into ``out`` from
    ``out_lo``; on equal keys ``a``'s entry comes first (stable)."""
    i, j = a_lo, b_lo
    for k in range(out_lo, out_lo + (a_hi - a_lo) + (b_hi - b_lo)):
        if j == b_hi or (i < a_hi and a_d[i] <= b_d[j]):
            out_d[k] = a_d[i]
            out_i[k] = a_i[i]
            i += 1
        else:
            out_d[k] = b_d[j]
            out_i[k] = b_i[j]
            j += 1


@jit(inline="always")
def _sort_own(keys, ids, n, tmp_keys, tmp_ids):
    """Stable sort of the first ``n`` (key, id) pairs by key, ``tmp_*`` (>= n) as scratch:
    insertion sort for a few, bottom-up merge sort for the hundreds of nodes a batch can hold
    (insertion sort is quadratic there). Both stable: the same order either way."""
    if n <= 32:
        _sort_pairs(keys, ids, n)
        return
    src_d, src_i, dst_d, dst_i = keys, ids, tmp_keys, tmp_ids
    width = 1
    passes = 0
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            _merge(src_d, src_i, lo, mid, src_d, src_i, mid, hi, dst_d, dst_i, lo)
        src_d, src_i, dst_d, dst_i = dst_d, dst_i, src_d, src_i
        width *= 2
        passes += 1
    if passes % 2 == 1:  # the last pass wrote the scratch arrays
        for k in range(n):
            keys[k] = src_d[k]
            ids[k] = src_i[k]


@jit(fastmath=_FASTMATH, inline="always")
def _plan_node(b, start, slots, levels, entry, max_level, g, m, ef, buf, tag, bufs_d, bufs_i):
    """Phase 1 for node ``b`` of the batch beginning at ``start``: its own adjacency rows on
    every layer.

    ``bufs_*`` are ``(4, ef + batch + 1)`` scratch rows (results and sorted results, which
    ``buf`` holds, merged candidates, in-batch distances); returns ``(tag, buf)`` (the
    candidate heap may have grown)."""
    data = g.data
    scale = g.scale
    metric = g.metric
    is_l2 = metric == L2
    node = slots[b]
    top = np.int64(levels[b])
    g.level[node] = top
    g.links0[node, 0] = 0
    for layer in range(1, top + 1):
        g.upper[g.upper_off[node] + layer - 1, 0] = 0
    q = data[node]
    sq = scale[node]
    sorted_d, sorted_i = buf.sorted_d, buf.sorted_i
    merged_d, merged_i = bufs_d[2], bufs_i[2]
    own_d, own_i = bufs_d[3], bufs_i[3]
    no_skip = np.zeros(1, np.uint8)
    cur = np.int64(entry)
    cur_d = np.float32(0.0)
    if entry >= 0:
        cur_d = _distance_to(q, sq, data, cur, scale[cur], metric)
        cur, cur_d = _greedy_descent(q, sq, cur, cur_d, max_level, top, g)
    for layer in range(top, -1, -1):
        n_old = 0
        if entry >= 0 and layer <= max_level:
            n_res, tag, buf = _layer_search(q, sq, cur, cur_d, layer, ef, g, buf, tag, no_skip,
                                            no_skip[0] != 0)
            n_old = _heap_drain_sorted(buf.res_d, buf.res_i, n_res, sorted_d, sorted_i)
            cur = np.int64(sorted_i[0])  # the next layer's search starts at the nearest
            cur_d = sorted_d[0]
        n_own = 0  # the batch's earlier nodes on this layer
        for b2 in range(start, b):
            if levels[b2] >= layer:
                other = slots[b2]
                own_d[n_own] = _pair_distance(data, node, sq, other, scale[other], is_l2)
                own_i[n_own] = other
                n_own += 1
        _sort_own(own_d, own_i, n_own, merged_d, merged_i)  # merged_*: free until the merge
        _merge(sorted_d, sorted_i, 0, n_old, own_d, own_i, 0, n_own, merged_d, merged_i, 0)
        row = _row(g, node, layer)
        _select_heuristic(merged_i, merged_d, n_old + n_own, m, data, scale, metric, row,
                          np.int64(0))
    return tag, buf


@jit(fastmath=_FASTMATH)
def _plan_nodes(counters, start, stop, slots, levels, entry, max_level, g, m, ef, visited, tags):
    """Phase 1 for the batch's nodes ``start + _claim(counters, 0)`` until ``stop``, with the
    visited tags of row ``_claim(counters, 1)`` (each thread running it at once takes its own)."""
    thread = _claim(counters, np.int64(1))
    width = ef + (stop - start) + 1
    bufs_d = np.empty((4, width), np.float32)
    bufs_i = np.empty((4, width), np.int32)
    cand_d = np.empty(max(256, 4 * ef), np.float32)
    buf = SearchBuffers(visited[thread], cand_d, np.empty(cand_d.shape[0], np.int32), bufs_d[0],
                        bufs_i[0], bufs_d[1], bufs_i[1])
    tag = tags[thread]
    b = start + _claim(counters, np.int64(0))
    while b < stop:
        tag, buf = _plan_node(b, start, slots, levels, entry, max_level, g, m, ef, buf, tag,
                              bufs_d, bufs_i)
        b = start + _claim(counters, np.int64(0))
    tags[thread] = tag


# The helpers below are compiled once and shared by both drivers (insert_serial and the threads
# of Inserter): inlined, numba would compile each again into insert_serial, for no gain at run
# time (they run once per batch, or once per chunk).
@jit
def _link_requests(start, stop, slots, levels, g):
    """The reverse links the batch asks for, in batch order: ``(target, node, layer)``."""
    count = 0
    for b in range(start, stop):
        for layer in range(levels[b] + 1):
            count += _row(g, slots[b], layer)[0]
    target = np.empty(count, np.int32)
    node = np.empty(count, np.int32)
    layer_of = np.empty(count, np.int64)
    r = 0
    for b in range(start, stop):
        for layer in range(levels[b] + 1):
            row = _row(g, slots[b], layer)
            for j in range(1, row[0] + 1):
                target[r] = row[j]
                node[r] = slots[b]
                layer_of[r] = layer
                r += 1
    return target, node, layer_of


@jit
def _link_chunks(counters, n_chunks, target, node, layer_of, m, g):
    """Phase 2 for the chunks ``_claim(counters, 0)`` until ``n_chunks``; chunk ``c`` applies the
    requests of the targets ``t`` with ``t % n_chunks == c``, so each target's requests are
    applied by one chunk, in batch order, whatever the number of chunks."""
    tmp_d = np.empty(2 * m + 2, np.float32)
    tmp_i = np.empty(2 * m + 2, np.int32)
    data, scale, metric = g.data, g.scale, g.metric
    links0, upper, upper_off = g.links0, g.upper, g.upper_off
    chunk = _claim(counters, np.int64(0))
    while chunk < n_chunks:
        for r in range(target.shape[0]):
            if target[r] % n_chunks != chunk:
                continue
            layer = layer_of[r]
            mmax = 2 * m if layer == 0 else m
            _add_link(target[r], np.int64(node[r]), layer, mmax, data, scale, metric, links0,
                      upper, upper_off, tmp_d, tmp_i)
        chunk = _claim(counters, np.int64(0))


@jit
def _raise_entry(start, stop, slots, levels, entry, max_level):
    """The entry point after the batch: the first of its nodes above the top level, if any."""
    for b in range(start, stop):
        if levels[b] > max_level:
            entry = np.int64(slots[b])
            max_level = np.int64(levels[b])
    return entry, max_level


@jit
def insert_serial(slots, levels, entry, max_level, g, m, ef, batch, visited, tags):
    """Insert ``slots`` into the graph ``g`` in batches of ``batch`` on the calling thread;
    returns the new entry point and top level. ``visited`` has one row and ``tags`` one entry
    per thread (here 1)."""
    entry = np.int64(entry)
    max_level = np.int64(max_level)
    one = np.int64(1)  # not a literal: numba would compile _link_chunks again for it
    # the claim counters, reset for each phase (np.empty's implementation is compiled here
    # anyway; np.zeros would compile two more)
    counters = np.empty(2, np.int64)
    for start in range(0, slots.shape[0], batch):
        stop = min(start + batch, slots.shape[0])
        counters[0] = 0
        counters[1] = 0
        _plan_nodes(counters, start, stop, slots, levels, entry, max_level, g, m, ef, visited,
                    tags)
        target, node, layer_of = _link_requests(start, stop, slots, levels, g)
        counters[0] = 0
        _link_chunks(counters, one, target, node, layer_of, m, g)
        entry, max_level = _raise_entry(start, stop, slots, levels, entry, max_level)
    return entry, max_level


# Chunks of link requests per thread: several, so that the threads even out the targets'
# unequal numbers of requests; few, since every chunk scans all the batch's requests.
_LINK_CHUNKS_PER_THREAD = 4


class Inserter:
    """Runs the insertion kernels above on ``n_threads`` threads (1: the serial kernel), keeping
    the visited tags of each thread from one call to the next."""

    def __init__(self, index, n_threads: int) -> None:
        self.index = index
        self.n_threads = n_threads
        self.visited = np.zeros((n_threads, index.capacity), np.int32)
        self.tags = np.zeros(n_threads, np.int64)

    def __call__(self, slots: np.ndarray, levels: np.ndarray) -> None:
        """Insert the nodes ``slots`` (their vectors in place) at ``levels``."""
        index = self.index
        args = (slots, levels, index._entry, index._max_level, index._graph(), index.M,
                index._ef_build(), index._LINK_BATCH)
        if self.n_threads == 1:
            entry, top = insert_serial(*args, self.visited, self.tags)
        else:
            entry, top = self._insert_threads(*args)
        index._entry, index._max_level = int(entry), int(top)

    def _insert_threads(self, slots, levels, entry, max_level, g, m, ef, batch):
        """:func:`insert_serial` with each phase of a batch run by the ``n_threads`` threads
        (the calling one and a pool's), which take its pieces of work (a node, a chunk of link
        targets) from a shared counter as they come free. The same graph."""
        n_link_chunks = _LINK_CHUNKS_PER_THREAD * self.n_threads
        for start in range(0, slots.shape[0], batch):
            stop = min(start + batch, slots.shape[0])
            run_each(_plan_nodes, self.n_threads, np.zeros(2, np.int64), start, stop, slots,
                     levels, entry, max_level, g, m, ef, self.visited, self.tags)
            target, node, layer_of = _link_requests(start, stop, slots, levels, g)
            run_each(_link_chunks, self.n_threads, np.zeros(1, np.int64), n_link_chunks, target,
                     node, layer_of, m, g)
            entry, max_level = _raise_entry(start, stop, slots, levels, entry, max_level)
        return entry, max_level


@contextlib.contextmanager
def inserter(index, n: int):
    """An :class:`Inserter` for ``n`` nodes: one thread unless there are two link batches to
    share and (with the default n_jobs) the estimated work outweighs starting threads."""
    n_threads = 1
    if n >= 2 * index._LINK_BATCH:
        # each insertion searches about ef_construction nodes of up to 2 M neighbours
        work = 2.0 * n * index._ef_build() * 2 * index.M * index.dim
        n_threads = effective_n_jobs(index.n_jobs, work)
    with thread_pool(n_threads) as parallel:
        yield Inserter(index, n_threads if parallel else 1)


def insert_batches(index, X, ids, slots, levels, scales, verbose) -> None:
    """Insert the rows ``X`` into ``slots`` of ``index`` in batches of ``index._INSERT_BATCH``,
    each under the index's exclusive lock and complete when it is released (so a concurrent
    query sees the index before or after each batch, and waits for one batch at most)."""
    n = X.shape[0]
    progress = Progress("HNSWIndex.add", n, verbose)
    with inserter(index, n) as insert:
        for start in range(0, n, index._INSERT_BATCH):
            part = slice(start, min(start + index._INSERT_BATCH, n))
            batch = slots[part]
            with index._lock.exclusive():
                index._place(batch, levels[part], X[part], scales[part], ids[part])
                insert(batch, levels[part])
                index._n_live += batch.size
                index._next_id = max(index._next_id, int(ids[part].max()) + 1)
                index._lookup = None
            progress.update(part.stop)
