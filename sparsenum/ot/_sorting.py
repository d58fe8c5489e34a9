"""Heaps for the numba kernels: numba's own ``np.sort`` / ``np.argsort`` compile a large generic
quicksort (seconds of a first call on an empty cache, per kernel that uses them); these few lines
compile in a fraction of that. A heap also hands out the smallest (or largest) entries in order
without sorting the rest, which is all the sparsification needs."""

from __future__ import annotations

import numpy as np

from ..utils import jit

# The heap's top, as an int64: a literal 0 passed to a jitted function is typed
# Literal[int](0) and compiles a second copy of the callee beside its int64 one.
_TOP = np.int64(0)


@jit
def _sift_down(x, order, root, end):
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and x[order[child + 1]] > x[order[child]]:
            child += 1
        if x[order[root]] >= x[order[child]]:
            return
        order[root], order[child] = order[child], order[root]
        root = child


@jit
def heapify_order(x, order):
    """Arrange the indices ``order`` as a heap whose top is the index of the largest ``x``."""
    size = order.shape[0]
    for root in range(size // 2 - 1, -1, -1):
        _sift_down(x, order, root, size)


@jit
def pop_order(x, order, size):
    """Remove and return the top index of the heap ``order[:size]`` of :func:`heapify_order`
    (the caller shrinks ``size``): popping in turn gives the indices by decreasing ``x``."""
    top = order[0]
    order[0] = order[size - 1]
    _sift_down(x, order, _TOP, size - 1)
    return top


@jit
def _sift(heap, root, end, sign):
    """Restore the heap property below ``root`` (``sign`` 1: max-heap, -1: min-heap)."""
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and sign * heap[child + 1] > sign * heap[child]:
            child += 1
        if sign * heap[root] >= sign * heap[child]:
            return
        heap[root], heap[child] = heap[child], heap[root]
        root = child


@jit
def heapify(heap, sign):
    """Arrange ``heap`` in place as a max-heap (``sign=1``) or a min-heap (``sign=-1``)."""
    size = heap.shape[0]
    for root in range(size // 2 - 1, -1, -1):
        _sift(heap, root, size, sign)


@jit
def heap_pop(heap, size, sign):
    """Remove and return the top of the heap ``heap[:size]`` (the caller shrinks ``size``)."""
    top = heap[0]
    heap[0] = heap[size - 1]
    _sift(heap, _TOP, size - 1, sign)
    return top


@jit
def _sift_min_pairs(values, index, root, end):
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and values[child + 1] < values[child]:
            child += 1
        if values[root] <= values[child]:
            return
        values[root], values[child] = values[child], values[root]
        index[root], index[child] = index[child], index[root]
        root = child


@jit
def largest_k(x, k, idx, top):
    """Indices and values of the ``k`` largest entries of ``x``, in decreasing order, into
    ``idx[:k]`` and ``top[:k]`` (a min-heap of the best ``k`` so far: O(n log k))."""
    n = x.shape[0]
    for t in range(k):
        top[t] = x[t]
        idx[t] = t
    for root in range(k // 2 - 1, -1, -1):
        _sift_min_pairs(top, idx, root, k)
    for i in range(k, n):
        if x[i] > top[0]:
            top[0] = x[i]
            idx[0] = i
            _sift_min_pairs(top, idx, _TOP, k)
    # pop the smallest to the back: decreasing order from the front
    for end in range(k - 1, 0, -1):
        top[0], top[end] = top[end], top[0]
        idx[0], idx[end] = idx[end], idx[0]
        _sift_min_pairs(top, idx, _TOP, end)
