"""Running a batch of queries on the index's kernels: filters, and the serial or parallel path.

The parallel kernel hands chunks of queries to numba's threads; the serial one runs them in the
calling thread. Both compute each query the same way, so the results do not depend on the path.
The default ``n_jobs=None`` takes the parallel path only when the batch's estimated work (distance
evaluations times the dimension, counted from the sizes, never timed) outweighs starting the
threads; a single query always runs serially.
"""

from __future__ import annotations

import numba
import numpy as np

from ..utils import effective_n_jobs, numba_threads
from ..utils.validation import describe_value
from . import _kernels
from ._locking import thread_pool
from ._validation import check_ids


def allowed_slots(filter, labels: np.ndarray) -> np.ndarray:
    """Boolean per slot: the slot's id is allowed by ``filter`` (a mask over ids, or ids)."""
    if isinstance(filter, (str, bytes)):
        raise TypeError(f"filter must be a boolean mask over ids or an array of allowed "
                        f"integer ids; got {describe_value(filter)}")
    try:
        arr = np.asarray(filter)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"filter must be a boolean mask over ids or an array of allowed integer "
                        f"ids; got {describe_value(filter)} ({exc})") from None
    if arr.dtype == np.bool_:
        if arr.ndim != 1:
            raise ValueError(f"filter as a boolean mask must be 1-dimensional (indexed by "
                             f"id); got shape {arr.shape}")
        inside = (labels >= 0) & (labels < arr.shape[0])
        allowed = np.zeros(labels.shape, bool)
        allowed[inside] = arr[labels[inside]]
        return allowed
    if arr.dtype.kind not in "iu" and arr.size:
        raise TypeError(f"filter must be a boolean mask over ids or an array of allowed "
                        f"integer ids; got {describe_value(filter)}")
    allowed_ids = check_ids(arr, "filter")
    return np.isin(labels, allowed_ids) & (labels >= 0)


_NO_SKIP = np.zeros(1, np.uint8)


def returnable(index, filter):
    """``(skip, has_skip, n_returnable)``: a uint8 mask of the slots a query must not return
    (deleted, free, or not allowed by ``filter``) and how many it may. The caller holds the
    index's shared lock."""
    n = index._n_slots
    if filter is None and index._n_live == n:  # nothing to skip
        return _NO_SKIP, False, n
    mask = (index._deleted[:n] != 0) | (index._level[:n] < 0)
    if filter is not None:
        mask |= ~allowed_slots(filter, index._labels[:n])
    return mask.astype(np.uint8), True, int(n - np.count_nonzero(mask))


def query_work(n_queries: int, visits: int, dim: int) -> float:
    """Floating-point operations of a batch: ``visits`` distances of ``dim`` terms per query."""
    return 2.0 * n_queries * visits * dim


def search(index, Q, k, ef, skip, has_skip, n_returnable):
    """Slots (int32) and distances (float32) of the ``k`` nearest returnable nodes of each row
    of ``Q`` (already normalised under cosine). The caller holds the index's shared lock."""
    n_q = Q.shape[0]
    ef = min(max(ef, k), n_returnable)  # a longer candidate list cannot fill
    exact = n_returnable <= ef  # the graph search would visit everything anyway
    out_ids = np.empty((n_q, k), np.int32)
    out_dist = np.empty((n_q, k), np.float32)
    args = (Q, k, ef, exact, index._n_slots, index._entry, index._max_level, index._graph(), skip,
            has_skip)
    # a graph search expands about ef nodes and evaluates up to 2 M neighbours of each, and
    # never more than the nodes there are
    visits = n_returnable if exact else min(ef * 2 * index.M, index._n_slots)
    n_threads = 1
    if n_q > 1:
        n_threads = effective_n_jobs(index.n_jobs, query_work(n_q, visits, index.dim))
    with thread_pool(n_threads) as parallel:
        if not parallel:  # serial kernel: no thread-pool launch
            _kernels.query_chunk(0, 1, *args, out_ids, out_dist)
            return out_ids, out_dist
        # Up to 4 chunks of queries per thread, handed out one at a time: a thread that the OS
        # preempts does not hold up the whole batch. Each chunk zeroes its own visited tags (one
        # int32 per slot), hence at least 32 queries per extra chunk.
        n_chunks = max(min(n_q, n_threads), min(n_q // 32, 4 * n_threads))
        with numba_threads(n_threads):
            previous = numba.set_parallel_chunksize(1)
            try:
                _kernels.query_batch(*args, n_chunks, out_ids, out_dist)
            finally:
                numba.set_parallel_chunksize(previous)
    return out_ids, out_dist
