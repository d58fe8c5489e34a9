"""Chunks of rows run on Python threads: the numba kernels are compiled serial (``nogil``).

A ``prange`` loop would need numba's parallel compilation of every kernel around it, which made
the module's first call several times slower to compile; the kernels release the GIL, so a
thread pool runs their chunks in parallel just as well. The pools are kept per thread count.
The work of a call (a flop estimate from the input's sizes) decides, through
:func:`sparsenum.utils.effective_n_jobs`, whether threads are worth starting at all.
"""

from __future__ import annotations

import concurrent.futures
import threading

from sparsenum.utils import effective_n_jobs

from ._observed import chunk_bounds

_POOLS: dict = {}
_LOCK = threading.Lock()


def _pool(threads: int):
    with _LOCK:
        pool = _POOLS.get(threads)
        if pool is None:
            pool = _POOLS[threads] = concurrent.futures.ThreadPoolExecutor(
                threads, thread_name_prefix="sparsenum-completion")
        return pool


def run_chunks(kernel, args, ptr, n_jobs, work, cache=None):
    """``kernel(*args, lo, hi)`` over chunks of the rows of ``ptr``, on ``n_jobs`` threads.

    ``cache`` (a dict) keeps the chunk boundaries per thread count.
    """
    threads = effective_n_jobs(n_jobs, work)
    m = ptr.shape[0] - 1
    if threads == 1 or m < 2:
        kernel(*args, 0, m)
        return
    chunks = None if cache is None else cache.get(threads)
    if chunks is None:
        chunks = chunk_bounds(ptr, threads)
        if cache is not None:
            cache[threads] = chunks
    futures = [_pool(threads).submit(kernel, *args, int(chunks[c]), int(chunks[c + 1]))
               for c in range(chunks.shape[0] - 1)]
    for future in futures:
        future.result()
