"""Serial numba kernels run in parallel over chunks, on a pool of Python threads.

A ``prange`` loop compiles numba's parallel machinery into its kernel: seconds of a user's first
call for every such kernel. A kernel compiled serial (``nogil=True``, as :func:`jit` does) that
takes a range of its work runs just as well in parallel when a pool of Python threads calls it
on coarse contiguous chunks: the threads release the GIL for the whole kernel call. Kernels that
sum over their work write per-chunk partial sums whose layout is fixed by the input, never by the
thread count, so results do not depend on ``n_jobs``. The pools are kept per thread count.
"""

from __future__ import annotations

import concurrent.futures
import threading

import numpy as np

__all__ = ["chunk_ranges", "run_chunks", "run_split", "thread_pool"]

_POOLS: dict = {}
_LOCK = threading.Lock()


def thread_pool(threads: int) -> concurrent.futures.ThreadPoolExecutor:
    """The process's pool of ``threads`` worker threads (created on first use)."""
    with _LOCK:
        pool = _POOLS.get(threads)
        if pool is None:
            pool = _POOLS[threads] = concurrent.futures.ThreadPoolExecutor(
                threads, thread_name_prefix="sparsenum")
        return pool


def chunk_ranges(n_items: int, threads: int, per_thread: int = 4) -> np.ndarray:
    """Boundaries splitting ``n_items`` items into ``per_thread`` contiguous chunks of about
    equal size per thread (one chunk on one thread).

    Examples
    --------
    >>> from sparsenum.utils._threads import chunk_ranges
    >>> chunk_ranges(10, 2, per_thread=2)
    array([ 0,  2,  5,  7, 10])
    """
    n_chunks = max(1, min(n_items, per_thread * threads if threads > 1 else 1))
    return np.arange(n_chunks + 1, dtype=np.int64) * n_items // n_chunks


def run_chunks(kernel, args, bounds, threads: int) -> None:
    """``kernel(*args, bounds[c], bounds[c + 1])`` for every chunk ``c``, on ``threads``
    threads (in the calling thread when ``threads`` is 1 or there is one chunk).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.utils._threads import chunk_ranges, run_chunks
    >>> out = np.zeros(6)
    >>> def fill(out, lo, hi):
    ...     out[lo:hi] = lo
    >>> run_chunks(fill, (out,), chunk_ranges(6, 2, per_thread=1), threads=2)
    >>> out
    array([0., 0., 0., 3., 3., 3.])
    """
    if threads <= 1 or len(bounds) <= 2:
        for c in range(len(bounds) - 1):
            kernel(*args, int(bounds[c]), int(bounds[c + 1]))
        return
    futures = [thread_pool(threads).submit(kernel, *args, int(bounds[c]), int(bounds[c + 1]))
               for c in range(len(bounds) - 1)]
    for future in futures:
        future.result()


def run_split(kernel, args, n_items, n_jobs, work, threshold, per_thread: int = 4) -> None:
    """``kernel(*args, lo, hi)`` over ``n_items`` items split into equal chunks, on the
    threads ``n_jobs`` stands for (one when ``work``, a flop estimate, is below ``threshold``
    and ``n_jobs`` is None: see :func:`sparsenum.utils.effective_n_jobs`).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.utils._threads import run_split
    >>> out = np.zeros(4)
    >>> def fill(out, lo, hi):
    ...     out[lo:hi] = 1.0
    >>> run_split(fill, (out,), 4, n_jobs=2, work=0, threshold=0)
    >>> out
    array([1., 1., 1., 1.])
    """
    from ._numba import effective_n_jobs

    threads = effective_n_jobs(n_jobs, work, threshold)
    run_chunks(kernel, args, chunk_ranges(n_items, threads, per_thread), threads)
