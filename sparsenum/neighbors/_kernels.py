"""Numba kernels of the HNSW index's layer search and queries: the greedy descent through the
upper layers, the best-first search of one layer (the hot loop of queries and insertion) and a
batch of queries on any number of threads. The graph ``g`` is a :data:`~._graph.Graph` (layout
and primitives in ``_graph.py``); the scratch arrays of a search are :data:`~._graph.SearchBuffers`.
"""

from __future__ import annotations

import numba
import numpy as np

from ..utils import jit, jit_parallel
from ._graph import (  # noqa: F401  (L2, INNER_PRODUCT: the metric codes, re-exported)
    _FASTMATH,
    INNER_PRODUCT,
    L2,
    Graph,
    SearchBuffers,
    _distance_to,
    _grow_pair,
    _heap_drain_sorted,
    _heap_push,
    _heap_sift_down,
    _prefetch_row,
    new_buffers,
)


@jit
def _greedy_descent(q, sq, cur, cur_d, top, bottom, g):
    """Greedy search (ef = 1) from layer ``top`` down to layer ``bottom + 1``."""
    data = g.data
    scale = g.scale
    metric = g.metric
    links0 = g.links0
    upper = g.upper
    upper_off = g.upper_off
    for layer in range(top, bottom, -1):
        changed = True
        while changed:
            changed = False
            r = cur if layer == 0 else upper_off[cur] + layer - 1
            count = links0[r, 0] if layer == 0 else upper[r, 0]
            for j in range(1, count + 1):
                nb = np.int64(links0[r, j] if layer == 0 else upper[r, j])
                d = _distance_to(q, sq, data, nb, scale[nb], metric)
                if d < cur_d:
                    cur_d = d
                    cur = nb
                    changed = True
    return cur, cur_d


# This is the hot loop of queries and insertion, written out in one function on purpose (hence its
# length). Numba counts references to arrays: an array variable that may hold one of two arrays
# (``adj = links0 if layer == 0 else upper``), that is reassigned in a loop (a buffer that grows),
# or that is an argument of a function inlined by numba (``inline="always"``) makes it emit atomic
# increments and decrements inside the loop; helpers called normally are not inlined by LLVM and pay
# a call with every array field pushed on the stack. Measured with perf on 256-D data, these cost
# about a quarter of the query time. So the heap operations and the distance are written inline, the
# adjacency array is picked per access, no array is reassigned, and a full candidate heap ends the
# search with -1 (the caller grows the buffers and searches again; rare, they start at max(256, 4
# ef)). The named tuples' fields are read into locals once, before the loop, so the loop itself is
# the same code as with separate arguments.
@jit(fastmath=_FASTMATH)
def _search_layer(q, sq, entry, entry_d, layer, ef, g, buf, tag, skip, has_skip):
    """Best-first search of one layer (Malkov & Yashunin, Algorithm 2).

    The results max-heap (``buf.res_*``, capacity >= ef + 1) keeps the ``ef`` nearest nodes that
    are not skipped (deleted or filtered out); skipped nodes are still traversed. The candidates are
    a max-heap of negated distances. Returns the result count, or -1 if the candidate heap
    ``buf.cand_*`` ran out of room. The distance is :func:`_distance_to`, inlined.
    """
    data = g.data
    scale = g.scale
    metric = g.metric
    links0 = g.links0
    upper = g.upper
    upper_off = g.upper_off
    visited = buf.visited
    cand_d = buf.cand_d
    cand_i = buf.cand_i
    res_d = buf.res_d
    res_i = buf.res_i
    cap = cand_d.shape[0]
    dim = q.shape[0]
    is_l2 = metric == L2
    visited[entry] = tag
    n_res = 0
    lower = np.float32(np.inf)
    if not (has_skip and skip[entry]):
        n_res = _heap_push(res_d, res_i, 0, entry_d, entry)
        lower = entry_d
    n_cand = _heap_push(cand_d, cand_i, 0, -entry_d, entry)
    while n_cand > 0:
        if -cand_d[0] > lower and (n_res == ef or not has_skip):
            break
        c = cand_i[0]
        # pop the nearest candidate: move the last entry to the root and sift it down
        n_cand -= 1
        key = cand_d[n_cand]
        ident = cand_i[n_cand]
        i = 0
        while True:
            child = 2 * i + 1
            if child >= n_cand:
                break
            if child + 1 < n_cand and cand_d[child + 1] > cand_d[child]:
                child += 1
            if cand_d[child] <= key:
                break
            cand_d[i] = cand_d[child]
            cand_i[i] = cand_i[child]
            i = child
        if n_cand > 0:
            cand_d[i] = key
            cand_i[i] = ident
            if layer == 0:  # the next node to expand, unless this one finds a nearer one
                _prefetch_row(links0, cand_i[0])
        r = c if layer == 0 else upper_off[c] + layer - 1
        count = links0[r, 0] if layer == 0 else upper[r, 0]
        if count > 0:
            _prefetch_row(data, links0[r, 1] if layer == 0 else upper[r, 1])
        for j in range(1, count + 1):
            nb = links0[r, j] if layer == 0 else upper[r, j]
            if j < count:  # fetch the next vector while this one is compared
                _prefetch_row(data, links0[r, j + 1] if layer == 0 else upper[r, j + 1])
            if visited[nb] == tag:
                continue
            visited[nb] = tag
            d = np.float32(0.0)
            if is_l2:
                for t in range(dim):
                    diff = q[t] - data[nb, t]
                    d += diff * diff
            else:
                for t in range(dim):
                    d += q[t] * data[nb, t]
                d = np.float32(1.0) - d * sq * scale[nb]
            if not (n_res < ef or d < lower):
                continue
            if n_cand == cap:
                return -1
            # push (-d, nb) onto the candidates: sift up from the end
            i = n_cand
            while i > 0:
                parent = (i - 1) >> 1
                if cand_d[parent] >= -d:
                    break
                cand_d[i] = cand_d[parent]
                cand_i[i] = cand_i[parent]
                i = parent
            cand_d[i] = -d
            cand_i[i] = nb
            n_cand += 1
            if has_skip and skip[nb]:
                continue
            if n_res < ef:  # push (d, nb) onto the results
                i = n_res
                while i > 0:
                    parent = (i - 1) >> 1
                    if res_d[parent] >= d:
                        break
                    res_d[i] = res_d[parent]
                    res_i[i] = res_i[parent]
                    i = parent
                n_res += 1
            else:  # replace the farthest result by (d, nb): sift down from the root
                i = 0
                while True:
                    child = 2 * i + 1
                    if child >= n_res:
                        break
                    if child + 1 < n_res and res_d[child + 1] > res_d[child]:
                        child += 1
                    if res_d[child] <= d:
                        break
                    res_d[i] = res_d[child]
                    res_i[i] = res_i[child]
                    i = child
            res_d[i] = d
            res_i[i] = nb
            lower = res_d[0]
    return n_res


@jit(inline="always")
def _next_tag(visited, tag):
    """A fresh visited tag (the array is cleared when the tags wrap around)."""
    tag += 1
    if tag == np.iinfo(np.int32).max:
        for i in range(visited.shape[0]):
            visited[i] = 0
        tag = 1
    return tag


# The buffers ``buf`` are never reassigned here: a named tuple of arrays reassigned in a loop made
# numba count references to all its arrays on every call, which showed in the query time. Only
# the two candidate arrays are, on the rare growth path.
@jit
def _layer_search(q, sq, entry, entry_d, layer, ef, g, buf, tag, skip, has_skip):
    """:func:`_search_layer` with a new visited tag, growing the candidate buffers until they
    suffice. Returns ``(n_res, tag, buf)``, ``buf`` with the grown candidate buffers."""
    tag = _next_tag(buf.visited, tag)
    n_res = _search_layer(q, sq, entry, entry_d, layer, ef, g, buf, tag, skip, has_skip)
    if n_res >= 0:
        return n_res, tag, buf
    cand_d, cand_i = buf.cand_d, buf.cand_i
    while n_res < 0:
        cand_d, cand_i = _grow_pair(cand_d, cand_i)
        tag = _next_tag(buf.visited, tag)
        n_res = _search_layer(q, sq, entry, entry_d, layer, ef, g,
                              SearchBuffers(buf.visited, cand_d, cand_i, buf.res_d, buf.res_i,
                                            buf.sorted_d, buf.sorted_i),
                              tag, skip, has_skip)
    return n_res, tag, SearchBuffers(buf.visited, cand_d, cand_i, buf.res_d, buf.res_i,
                                     buf.sorted_d, buf.sorted_i)


# Separate arrays in, for tests that drive one layer search with buffers of their own; the
# index's kernels call _layer_search. Compiled only when called.
@jit
def _search_layer_growing(q, sq, entry, entry_d, layer, ef, data, scale, metric, links0, upper,
                          upper_off, visited, tag, skip, has_skip, cand_d, cand_i, res_d,
                          res_i):
    """:func:`_layer_search` on separate arrays; returns ``(n_res, tag, cand_d, cand_i)``."""
    g = Graph(data, scale, metric, links0, upper, upper_off, np.empty(0, np.int32))
    buf = SearchBuffers(visited, cand_d, cand_i, res_d, res_i, res_d, res_i)
    n_res, tag, buf = _layer_search(q, sq, entry, entry_d, layer, ef, g, buf, tag, skip,
                                    has_skip)
    return n_res, tag, buf.cand_d, buf.cand_i


# -- queries ----------------------------------------------------------------------------------
@jit
def _exact_search(q, k, n_slots, g, skip, has_skip, res_d, res_i):
    """Exhaustive scan of the returnable nodes (used when a filter leaves fewer than ef)."""
    data = g.data
    scale = g.scale
    metric = g.metric
    level = g.level
    n_res = 0
    for node in range(n_slots):
        if level[node] < 0 or (has_skip and skip[node]):
            continue
        d = _distance_to(q, np.float32(1.0), data, node, scale[node], metric)
        if n_res < k:
            n_res = _heap_push(res_d, res_i, n_res, d, node)
        elif d < res_d[0]:
            _heap_sift_down(res_d, res_i, n_res, d, node)
    return n_res


@jit(fastmath=_FASTMATH)
def query_chunk(chunk, n_chunks, queries, k, ef, exact, n_slots, entry, max_level, g, skip,
                has_skip, out_ids, out_dist):
    """Queries ``chunk, chunk + n_chunks, ...`` with their own visited tags and heaps."""
    one = np.float32(1.0)
    layer0 = np.int64(0)  # not a literal 0: numba would compile the callees again for it
    data = g.data  # fields read once: each read of a tuple's array counts a reference
    scale = g.scale
    metric = g.metric
    buf = new_buffers(data.shape[0], ef)
    res_d = buf.res_d
    res_i = buf.res_i
    sorted_d = buf.sorted_d
    sorted_i = buf.sorted_i
    tag = np.int64(0)  # not a literal: numba would compile the callees for it too
    for qi in range(chunk, queries.shape[0], n_chunks):
        q = queries[qi]
        n_res = 0
        if not exact:
            cur = entry
            cur_d = _distance_to(q, one, data, cur, scale[cur], metric)
            cur, cur_d = _greedy_descent(q, one, cur, cur_d, max_level, layer0, g)
            n_res, tag, buf = _layer_search(q, one, cur, cur_d, layer0, ef, g, buf, tag, skip,
                                            has_skip)
        if n_res < k:
            n_res = _exact_search(q, k, n_slots, g, skip, has_skip, res_d, res_i)
        n_res = _heap_drain_sorted(res_d, res_i, n_res, sorted_d, sorted_i)
        for j in range(k):
            out_ids[qi, j] = sorted_i[j]
            out_dist[qi, j] = sorted_d[j]


@jit_parallel
def query_batch(queries, k, ef, exact, n_slots, entry, max_level, g, skip, has_skip, n_chunks,
                out_ids, out_dist):
    """k nearest returnable nodes of every query, in parallel over queries.

    Query ``i`` is handled by chunk ``i % n_chunks``; each chunk owns its visited tags and heap
    buffers, so threads share nothing but the read-only graph ``g``. A query whose graph search
    finds fewer than ``k`` returnable nodes (a filter cutting the graph) falls back to an exact
    scan. Slots are written to ``out_ids`` (ascending distance), distances to ``out_dist``.
    """
    for chunk in numba.prange(n_chunks):
        query_chunk(np.int64(chunk), n_chunks, queries, k, ef, exact, n_slots, entry, max_level,
                    g, skip, has_skip, out_ids, out_dist)
