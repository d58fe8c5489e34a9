"""Numba kernels of the HNSW index: distances, array heaps, layer search, insertion, queries.

Graph layout (all flat arrays, no Python object per node; see ``hnsw.py`` for the owner):

``data``      float32 [capacity, dim]  the user's vectors, C-contiguous
``scale``     float32 [capacity]       1 for "l2" / "ip", 1 / ||x|| for "cosine"
``links0``    int32 [capacity, 2M + 1] layer-0 adjacency; column 0 holds the count, so the count
                                       and the first neighbours share a cache line (as in hnswlib)
``upper``     int32 [n_rows, M + 1]    adjacency of layers >= 1, same row format
``upper_off`` int32 [capacity]         row of layer 1 of a node in ``upper`` (layer l: + l - 1)
``level``     int32 [capacity]         top layer of a node, -1 for a free slot

Distances: metric 0 is squared L2; metric 1 is ``1 - <a, b> * scale_a * scale_b`` (inner product,
or cosine with the scales being inverse norms, so the stored vectors stay the user's own).
Heaps are binary max-heaps over parallel (float32 key, int32 id) arrays; the candidate min-heap
stores negated keys in the same structure.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from ..utils import jit, jit_parallel

# Reassociation lets LLVM vectorise the float32 reductions of the distance loops (the only
# effect: a different summation order, as in hnswlib's SIMD kernels). No nnan/ninf: inputs are
# checked finite at the public boundary, but we do not want the compiler to assume it.
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}

L2 = 0
INNER_PRODUCT = 1


# The hot loops index the 2-D arrays directly instead of taking row views (``data[j]``): a view
# is a new array object whose reference count numba updates atomically, which costs as much as a
# short distance and makes threads contend for one counter.
@jit(fastmath=_FASTMATH, inline="always")
def _distance_to(q, sq, data, j, sj, metric):
    """Distance from the vector ``q`` to row ``j`` of ``data``."""
    s = np.float32(0.0)
    if metric == L2:
        for t in range(q.shape[0]):
            d = q[t] - data[j, t]
            s += d * d
        return s
    for t in range(q.shape[0]):
        s += q[t] * data[j, t]
    return np.float32(1.0) - s * sq * sj


@jit(fastmath=_FASTMATH, inline="always")
def _distance_rows(data, a, sa, b, sb, metric):
    """Distance between rows ``a`` and ``b`` of ``data``."""
    s = np.float32(0.0)
    if metric == L2:
        for t in range(data.shape[1]):
            d = data[a, t] - data[b, t]
            s += d * d
        return s
    for t in range(data.shape[1]):
        s += data[a, t] * data[b, t]
    return np.float32(1.0) - s * sa * sb


@intrinsic
def _prefetch_row(typingctx, array, row):
    """Hint the CPU to load row ``row`` of a C-contiguous 2-D array into cache (llvm.prefetch):
    the vectors of a node's neighbours are scattered in memory, and fetching the next ones while
    the current distance is computed hides much of the latency (as hnswlib's _mm_prefetch)."""

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        zero = context.get_constant(types.intp, 0)
        row_index = context.cast(builder, args[1], signature.args[1], types.intp)
        ptr = cgutils.get_item_pointer2(
            context, builder, ary.data, cgutils.unpack_tuple(builder, ary.shape),
            cgutils.unpack_tuple(builder, ary.strides), array_type.layout, [row_index, zero])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read access, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(array, row), codegen


# -- heaps ------------------------------------------------------------------------------------
@jit(inline="always")
def _heap_push(keys, ids, size, key, ident):
    """Push onto a max-heap of ``size`` entries; returns the new size."""
    j = size
    while j > 0:
        parent = (j - 1) >> 1
        if keys[parent] >= key:
            break
        keys[j] = keys[parent]
        ids[j] = ids[parent]
        j = parent
    keys[j] = key
    ids[j] = ident
    return size + 1


@jit(inline="always")
def _heap_sift_down(keys, ids, size, key, ident):
    """Place (key, ident) at the root of a heap of ``size`` entries and sift it down."""
    j = 0
    while True:
        child = 2 * j + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] > keys[child]:
            child += 1
        if keys[child] <= key:
            break
        keys[j] = keys[child]
        ids[j] = ids[child]
        j = child
    keys[j] = key
    ids[j] = ident


@jit(inline="always")
def _heap_pop(keys, ids, size):
    """Remove the root of a max-heap; returns the new size."""
    size -= 1
    if size > 0:
        _heap_sift_down(keys, ids, size, keys[size], ids[size])
    return size


@jit
def _grow_pair(keys, ids):
    new_keys = np.empty(2 * keys.shape[0], np.float32)
    new_ids = np.empty(2 * ids.shape[0], np.int32)
    new_keys[: keys.shape[0]] = keys
    new_ids[: ids.shape[0]] = ids
    return new_keys, new_ids


@jit
def _heap_drain_sorted(keys, ids, size, out_keys, out_ids):
    """Empty a max-heap into ``out_*[:size]`` in ascending key order."""
    n = size
    while size > 0:
        out_keys[size - 1] = keys[0]
        out_ids[size - 1] = ids[0]
        size = _heap_pop(keys, ids, size)
    return n


# -- graph access -----------------------------------------------------------------------------
@jit
def _row(node, layer, links0, upper, upper_off):
    """Adjacency row of ``node`` on ``layer`` (column 0 is the count)."""
    if layer == 0:
        return links0[node]
    return upper[upper_off[node] + layer - 1]


@jit
def _greedy_descent(q, sq, cur, cur_d, top, bottom, data, scale, metric, links0, upper,
                    upper_off):
    """Greedy search (ef = 1) from layer ``top`` down to layer ``bottom + 1``."""
    for layer in range(top, bottom, -1):
        adj = links0 if layer == 0 else upper
        changed = True
        while changed:
            changed = False
            r = cur if layer == 0 else upper_off[cur] + layer - 1
            for j in range(1, adj[r, 0] + 1):
                nb = adj[r, j]
                d = _distance_to(q, sq, data, nb, scale[nb], metric)
                if d < cur_d:
                    cur_d = d
                    cur = nb
                    changed = True
    return cur, cur_d


@jit
def _search_layer(q, sq, entry, entry_d, layer, ef, data, scale, metric, links0, upper,
                  upper_off, visited, tag, skip, has_skip, cand_d, cand_i, res_d, res_i):
    """Best-first search of one layer (Malkov & Yashunin, Algorithm 2).

    The results max-heap (``res_*``, capacity >= ef + 1) keeps the ``ef`` nearest nodes that are
    not skipped (deleted or filtered out); skipped nodes are still traversed. Returns the result
    count and the candidate buffers, which grow when needed.
    """
    visited[entry] = tag
    n_res = 0
    lower = np.float32(np.inf)
    if not (has_skip and skip[entry]):
        n_res = _heap_push(res_d, res_i, 0, entry_d, entry)
        lower = entry_d
    n_cand = _heap_push(cand_d, cand_i, 0, -entry_d, entry)
    adj = links0 if layer == 0 else upper
    while n_cand > 0:
        c_d = -cand_d[0]
        if c_d > lower and (n_res == ef or not has_skip):
            break
        c = cand_i[0]
        n_cand = _heap_pop(cand_d, cand_i, n_cand)
        r = c if layer == 0 else upper_off[c] + layer - 1
        count = adj[r, 0]
        if count > 0:
            _prefetch_row(data, adj[r, 1])
        for j in range(1, count + 1):
            nb = adj[r, j]
            if j < count:  # fetch the next vector while this one is compared
                _prefetch_row(data, adj[r, j + 1])
            if visited[nb] == tag:
                continue
            visited[nb] = tag
            d = _distance_to(q, sq, data, nb, scale[nb], metric)
            if n_res < ef or d < lower:
                if n_cand == cand_d.shape[0]:
                    cand_d, cand_i = _grow_pair(cand_d, cand_i)
                n_cand = _heap_push(cand_d, cand_i, n_cand, -d, nb)
                if not (has_skip and skip[nb]):
                    if n_res < ef:
                        n_res = _heap_push(res_d, res_i, n_res, d, nb)
                    else:
                        _heap_sift_down(res_d, res_i, n_res, d, nb)
                    lower = res_d[0]
    return n_res, cand_d, cand_i


# -- neighbour selection ----------------------------------------------------------------------
@jit
def _select_heuristic(cand_ids, cand_dist, n_cand, m, data, scale, metric, out, kept=0):
    """The paper's heuristic (Algorithm 4, no refill): scan candidates nearest first and keep one
    only if it is closer to the base than to every neighbour already kept. ``cand_*`` must be
    sorted ascending. ``out[1:kept + 1]`` are neighbours kept beforehand. Writes the kept ids to
    ``out[1:]`` and their count to ``out[0]``."""
    for c in range(n_cand):
        if kept == m:
            break
        e = cand_ids[c]
        good = True
        for k in range(kept):
            o = out[1 + k]
            if _distance_rows(data, e, scale[e], o, scale[o], metric) < cand_dist[c]:
                good = False
                break
        if good:
            out[1 + kept] = e
            kept += 1
    out[0] = kept
    return kept


@jit
def _sort_pairs(keys, ids, n):
    """Insertion sort of the first ``n`` (key, id) pairs by key (n is at most 2M + 1)."""
    for a in range(1, n):
        k = keys[a]
        i = ids[a]
        b = a - 1
        while b >= 0 and keys[b] > k:
            keys[b + 1] = keys[b]
            ids[b + 1] = ids[b]
            b -= 1
        keys[b + 1] = k
        ids[b + 1] = i


@jit
def _add_link(node, new, layer, mmax, data, scale, metric, links0, upper, upper_off, tmp_d,
              tmp_i):
    """Link ``node -> new`` on ``layer``; a full list is re-pruned with the heuristic."""
    row = _row(node, layer, links0, upper, upper_off)
    count = row[0]
    for j in range(1, count + 1):
        if row[j] == new:
            return
    if count < mmax:
        row[count + 1] = new
        row[0] = count + 1
        return
    sn = scale[node]
    for j in range(count):
        o = row[j + 1]
        tmp_i[j] = o
        tmp_d[j] = _distance_rows(data, node, sn, o, scale[o], metric)
    tmp_i[count] = new
    tmp_d[count] = _distance_rows(data, node, sn, new, scale[new], metric)
    _sort_pairs(tmp_d, tmp_i, count + 1)
    _select_heuristic(tmp_i, tmp_d, count + 1, mmax, data, scale, metric, row)


# -- insertion --------------------------------------------------------------------------------
@jit(fastmath=_FASTMATH)
def insert_batch(slots, levels, entry, max_level, data, scale, metric, links0, upper, upper_off,
                 level, m, ef_construction, visited, tag):
    """Insert the nodes ``slots`` (vectors, scales and upper rows already in place), serially.

    Returns ``(entry, max_level, tag)``: the new entry point, its level and the visited tag.
    """
    cap_res = ef_construction + 1
    res_d = np.empty(cap_res, np.float32)
    res_i = np.empty(cap_res, np.int32)
    cand_d = np.empty(max(256, 4 * ef_construction), np.float32)
    cand_i = np.empty(cand_d.shape[0], np.int32)
    sorted_d = np.empty(cap_res, np.float32)
    sorted_i = np.empty(cap_res, np.int32)
    tmp_d = np.empty(2 * m + 2, np.float32)
    tmp_i = np.empty(2 * m + 2, np.int32)
    no_skip = np.zeros(1, np.uint8)
    for b in range(slots.shape[0]):
        node = slots[b]
        node_level = levels[b]
        level[node] = node_level
        links0[node, 0] = 0
        for layer in range(1, node_level + 1):
            upper[upper_off[node] + layer - 1, 0] = 0
        if entry < 0:
            entry = node
            max_level = node_level
            continue
        q = data[node]
        sq = scale[node]
        cur = entry
        cur_d = _distance_to(q, sq, data, cur, scale[cur], metric)
        cur, cur_d = _greedy_descent(q, sq, cur, cur_d, max_level, node_level, data, scale,
                                     metric, links0, upper, upper_off)
        for layer in range(min(node_level, max_level), -1, -1):
            tag += 1
            if tag == np.iinfo(np.int32).max:
                visited[:] = 0
                tag = 1
            n_res, cand_d, cand_i = _search_layer(
                q, sq, cur, cur_d, layer, ef_construction, data, scale, metric, links0, upper,
                upper_off, visited, tag, no_skip, False, cand_d, cand_i, res_d, res_i)
            n_res = _heap_drain_sorted(res_d, res_i, n_res, sorted_d, sorted_i)
            cur = sorted_i[0]
            cur_d = sorted_d[0]
            row = _row(node, layer, links0, upper, upper_off)
            kept = _select_heuristic(sorted_i, sorted_d, n_res, m, data, scale, metric, row)
            mmax = 2 * m if layer == 0 else m
            for j in range(1, kept + 1):
                _add_link(row[j], node, layer, mmax, data, scale, metric, links0, upper,
                          upper_off, tmp_d, tmp_i)
        if node_level > max_level:
            entry = node
            max_level = node_level
    return entry, max_level, tag


# -- queries ----------------------------------------------------------------------------------
@jit
def _exact_search(q, k, n_slots, data, scale, metric, level, skip, has_skip, res_d, res_i):
    """Exhaustive scan of the returnable nodes (used when a filter leaves fewer than ef)."""
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
def _query_chunk(chunk, n_chunks, queries, k, ef, exact, n_slots, entry, max_level, data, scale,
                 metric, links0, upper, upper_off, level, skip, has_skip, out_ids, out_dist):
    """Queries ``chunk, chunk + n_chunks, ...`` with their own visited tags and heaps."""
    one = np.float32(1.0)
    visited = np.zeros(data.shape[0], np.int32)
    tag = 0
    res_d = np.empty(ef + 1, np.float32)
    res_i = np.empty(ef + 1, np.int32)
    cand_d = np.empty(max(256, 4 * ef), np.float32)
    cand_i = np.empty(cand_d.shape[0], np.int32)
    sorted_d = np.empty(ef + 1, np.float32)
    sorted_i = np.empty(ef + 1, np.int32)
    for qi in range(chunk, queries.shape[0], n_chunks):
        q = queries[qi]
        n_res = 0
        if not exact:
            tag += 1
            cur = entry
            cur_d = _distance_to(q, one, data, cur, scale[cur], metric)
            cur, cur_d = _greedy_descent(q, one, cur, cur_d, max_level, 0, data, scale, metric,
                                         links0, upper, upper_off)
            n_res, cand_d, cand_i = _search_layer(
                q, one, cur, cur_d, 0, ef, data, scale, metric, links0, upper, upper_off,
                visited, tag, skip, has_skip, cand_d, cand_i, res_d, res_i)
        if n_res < k:
            n_res = _exact_search(q, k, n_slots, data, scale, metric, level, skip, has_skip,
                                  res_d, res_i)
        n_res = _heap_drain_sorted(res_d, res_i, n_res, sorted_d, sorted_i)
        for j in range(k):
            out_ids[qi, j] = sorted_i[j]
            out_dist[qi, j] = sorted_d[j]


@jit_parallel
def query_batch(queries, k, ef, exact, n_slots, entry, max_level, data, scale, metric, links0,
                upper, upper_off, level, skip, has_skip, n_chunks, out_ids, out_dist):
    """k nearest returnable nodes of every query, in parallel over queries.

    Query ``i`` is handled by chunk ``i % n_chunks``; each chunk owns its visited tags and heap
    buffers, so threads share nothing but the read-only graph. A query whose graph search finds
    fewer than ``k`` returnable nodes (a filter cutting the graph) falls back to an exact scan.
    Slots are written to ``out_ids`` (ascending distance), distances to ``out_dist``.
    """
    for chunk in numba.prange(n_chunks):
        _query_chunk(chunk, n_chunks, queries, k, ef, exact, n_slots, entry, max_level, data,
                     scale, metric, links0, upper, upper_off, level, skip, has_skip, out_ids,
                     out_dist)
