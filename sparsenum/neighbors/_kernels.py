"""Numba kernels of the HNSW index: distances, array heaps, layer search, neighbour selection
and queries (insertion is in ``_insert.py``, deletion repair in ``_repair.py``).

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
@jit(fastmath=_FASTMATH)
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


@jit(fastmath=_FASTMATH)
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
# The small helpers below are inlined by numba (inline="always") rather than compiled each on
# its own: every separately compiled function pays its own type inference, LLVM pipeline and
# cache entry on first use, which made up much of the first call's compile time. None of them
# runs in the search loop itself (see the note above _search_layer).
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


@jit(inline="always")
def _grow_pair(keys, ids):
    new_keys = np.empty(2 * keys.shape[0], np.float32)
    new_ids = np.empty(2 * ids.shape[0], np.int32)
    for i in range(keys.shape[0]):  # loops: slice assignment compiles slowly
        new_keys[i] = keys[i]
        new_ids[i] = ids[i]
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
@jit(inline="always")
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


# This is the hot loop of queries and insertion, written out in one function on purpose. Numba
# counts references to arrays: an array variable that may hold one of two arrays (``adj = links0
# if layer == 0 else upper``), that is reassigned in a loop (a buffer that grows), or that is an
# argument of a function inlined by numba (``inline="always"``) makes it emit atomic increments
# and decrements inside the loop; helpers called normally are not inlined by LLVM and pay a
# call with every array field pushed on the stack. Measured with perf on 256-D data, these cost
# about a quarter of the query time. So the heap operations and the distance are written inline,
# the adjacency array is picked per access, no array is reassigned, and a full candidate heap
# ends the search with -1 (the caller grows the buffers and searches again; rare, they start at
# max(256, 4 ef)).
@jit(fastmath=_FASTMATH)
def _search_layer(q, sq, entry, entry_d, layer, ef, data, scale, metric, links0, upper,
                  upper_off, visited, tag, skip, has_skip, cand_d, cand_i, res_d, res_i):
    """Best-first search of one layer (Malkov & Yashunin, Algorithm 2).

    The results max-heap (``res_*``, capacity >= ef + 1) keeps the ``ef`` nearest nodes that are
    not skipped (deleted or filtered out); skipped nodes are still traversed. The candidates are
    a max-heap of negated distances. Returns the result count, or -1 if the candidate heap
    ``cand_*`` ran out of room. The distance is :func:`_distance_to`, inlined.
    """
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


@jit
def _search_layer_growing(q, sq, entry, entry_d, layer, ef, data, scale, metric, links0, upper,
                          upper_off, visited, tag, skip, has_skip, cand_d, cand_i, res_d,
                          res_i):
    """:func:`_search_layer` with a new visited tag, growing the candidate buffers until they
    suffice. Returns ``(n_res, tag, cand_d, cand_i)``."""
    while True:
        tag = _next_tag(visited, tag)
        n_res = _search_layer(q, sq, entry, entry_d, layer, ef, data, scale, metric, links0,
                              upper, upper_off, visited, tag, skip, has_skip, cand_d, cand_i,
                              res_d, res_i)
        if n_res >= 0:
            return n_res, tag, cand_d, cand_i
        cand_d, cand_i = _grow_pair(cand_d, cand_i)


# -- neighbour selection ----------------------------------------------------------------------
@jit
def _select_heuristic(cand_ids, cand_dist, n_cand, m, data, scale, metric, out, kept):
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


@jit(inline="always")
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
    _select_heuristic(tmp_i, tmp_d, count + 1, mmax, data, scale, metric, row, np.int64(0))


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
def query_chunk(chunk, n_chunks, queries, k, ef, exact, n_slots, entry, max_level, data, scale,
                 metric, links0, upper, upper_off, level, skip, has_skip, out_ids, out_dist):
    """Queries ``chunk, chunk + n_chunks, ...`` with their own visited tags and heaps."""
    one = np.float32(1.0)
    layer0 = np.int64(0)  # not a literal 0: numba would compile the callees again for it
    visited = np.zeros(data.shape[0], np.int32)
    tag = np.int64(0)  # not a literal: numba would compile the callees for it too
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
            cur = entry
            cur_d = _distance_to(q, one, data, cur, scale[cur], metric)
            cur, cur_d = _greedy_descent(q, one, cur, cur_d, max_level, layer0, data, scale,
                                         metric, links0, upper, upper_off)
            n_res, tag, cand_d, cand_i = _search_layer_growing(
                q, one, cur, cur_d, layer0, ef, data, scale, metric, links0, upper, upper_off,
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
        query_chunk(np.int64(chunk), n_chunks, queries, k, ef, exact, n_slots, entry, max_level,
                     data, scale, metric, links0, upper, upper_off, level, skip, has_skip,
                     out_ids, out_dist)
