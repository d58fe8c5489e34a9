"""The graph of the HNSW index as the numba kernels see it, and the primitives they share:
distances, prefetch, array heaps, adjacency rows (layer search and queries are in ``_kernels.py``,
neighbour selection in ``_select.py``, insertion in ``_insert.py``, deletion repair in
``_repair.py``).

Graph layout (all flat arrays, no Python object per node; ``_storage.py`` owns them). The kernels
take them together as a :data:`Graph` named tuple, with the distance code ``metric``. Numba passes
the fields as separate arguments; a kernel reads the ones it needs into locals once, outside its
loops (each read of a tuple's array counts a reference, an atomic operation), and the two kernels
that run once per link made take the arrays one by one (see ``_select.py``):

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
stores negated keys in the same structure. The scratch arrays of one search travel together as
:data:`SearchBuffers`.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from ..utils import jit

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


# Inlined by numba into each caller (the heuristic, the in-batch distances of an insertion, the
# addition of a reverse link) rather than compiled on its own: a compiled helper is not inlined
# by LLVM, and its call pushes every field of ``data`` on the stack for a 64-term loop. The
# callers are compiled with _FASTMATH, which the inlined loop takes on.
@jit(inline="always")
def _pair_distance(data, a, sa, b, sb, is_l2):
    """Distance between rows ``a`` and ``b`` of ``data`` (``is_l2``: ``metric == L2``)."""
    d = np.float32(0.0)
    if is_l2:
        for t in range(data.shape[1]):
            diff = data[a, t] - data[b, t]
            d += diff * diff
        return d
    for t in range(data.shape[1]):
        d += data[a, t] * data[b, t]
    return np.float32(1.0) - d * sa * sb


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


@intrinsic
def _claim(typingctx, counters, i):
    """Take the next value of ``counters[i]`` (a C-contiguous int64 array), atomically: the
    threads running one kernel together share the counters, and each takes the next piece of
    work (a node, a query, a chunk) when it comes free."""

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        index = context.cast(builder, args[1], signature.args[1], types.intp)
        ptr = builder.gep(ary.data, [index])
        return builder.atomic_rmw("add", ptr, ir.Constant(ir.IntType(64), 1), "monotonic")

    return types.int64(counters, i), codegen


#: The graph arrays (layout above) and the metric code; built by ``GraphStorage._graph()``.
Graph = namedtuple("Graph", ["data", "scale", "metric", "links0", "upper", "upper_off", "level"])

#: Scratch arrays of a layer search: ``visited`` tags (one int32 per slot), the candidate heap
#: ``cand_*`` (grown by ``_kernels._layer_search`` when full), the results heap ``res_*``
#: (capacity >= ef + 1) and ``sorted_*`` (>= ef + 1) for the drained results.
SearchBuffers = namedtuple(
    "SearchBuffers", ["visited", "cand_d", "cand_i", "res_d", "res_i", "sorted_d", "sorted_i"])


@jit(inline="always")
def new_buffers(n_slots, ef):
    """Search buffers for ``n_slots`` slots and candidate lists of ``ef``."""
    cand_d = np.empty(max(256, 4 * ef), np.float32)
    return SearchBuffers(np.zeros(n_slots, np.int32), cand_d, np.empty(cand_d.shape[0], np.int32),
                         np.empty(ef + 1, np.float32), np.empty(ef + 1, np.int32),
                         np.empty(ef + 1, np.float32), np.empty(ef + 1, np.int32))


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
def _row(g, node, layer):
    """Adjacency row of ``node`` on ``layer`` (column 0 is the count)."""
    if layer == 0:
        return g.links0[node]
    return g.upper[g.upper_off[node] + layer - 1]
