"""Chunks of rows balanced by counted work, run on the shared thread pool.

The numba kernels are compiled serial (``nogil``) and run in parallel on Python threads (see
:mod:`sparsenum.utils._threads`). The work of a call (a flop estimate from the input's sizes)
decides, through :func:`sparsenum.utils.effective_n_jobs`, whether threads are worth starting at
all.
"""

from __future__ import annotations

from sparsenum.utils import effective_n_jobs
from sparsenum.utils._threads import run_chunks as run_bounds

from ._observed import chunk_bounds


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
    run_bounds(kernel, args, chunks, threads)
