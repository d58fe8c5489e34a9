"""Numba defaults shared by every kernel, and the mapping of ``n_jobs`` to numba threads.

Kernels are compiled with ``cache=True`` (compiled code is reused across processes from
``__pycache__``, so users pay compilation once per machine) and ``nogil=True`` (callers may run
them from Python threads, e.g. Dask workers).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numba

from .validation import check_n_jobs

__all__ = ["effective_n_jobs", "jit", "jit_parallel", "numba_threads"]

JIT_OPTIONS = {"cache": True, "nogil": True}


def jit(*args, **kwargs):
    """``numba.njit`` with sparsenum's defaults (``cache=True, nogil=True``).

    Use bare (``@jit``) or with extra options (``@jit(fastmath=True)``).

    Examples
    --------
    >>> from sparsenum.utils import jit
    >>> @jit(cache=False)  # only functions defined in files can be cached
    ... def add(x, y):
    ...     return x + y
    >>> add(1.0, 2.0)
    3.0
    """
    options = {**JIT_OPTIONS, **kwargs}
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return numba.njit(**options)(args[0])
    return numba.njit(*args, **options)


def jit_parallel(*args, **kwargs):
    """Like :func:`jit` with ``parallel=True``, for kernels with ``numba.prange`` loops."""
    return jit(*args, **{"parallel": True, **kwargs})


def max_threads() -> int:
    """Threads numba may use in this process (``NUMBA_NUM_THREADS``, by default the core count)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def effective_n_jobs(n_jobs) -> int:
    """Number of threads ``n_jobs`` stands for, capped at :func:`max_threads`.

    ``None`` means numba's current setting; ``-1`` all threads, ``-2`` all but one, and so on.

    Examples
    --------
    >>> from sparsenum.utils import effective_n_jobs
    >>> effective_n_jobs(1)
    1
    """
    n_jobs = check_n_jobs(n_jobs)
    limit = max_threads()
    if n_jobs is None:
        return int(numba.get_num_threads())
    if n_jobs < 0:
        return max(1, limit + 1 + n_jobs)
    return min(n_jobs, limit)


@contextlib.contextmanager
def numba_threads(n_jobs) -> Iterator[int]:
    """Run numba parallel kernels with the thread count ``n_jobs`` stands for, then restore it.

    Numba's thread count is per calling thread, so this is safe to use from several Python
    threads at once.

    Examples
    --------
    >>> from sparsenum.utils import numba_threads
    >>> with numba_threads(1) as n:
    ...     n
    1
    """
    n = effective_n_jobs(n_jobs)
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(previous)


def threading_layer() -> str:
    """Name of numba's threading layer (compiles a tiny parallel function if none is loaded)."""
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel function has run yet in this process
        _warm_threading_layer()
        try:
            return numba.threading_layer()
        except ValueError:
            return "unknown"


def _warm_threading_layer() -> None:
    import numpy as np

    @numba.njit(parallel=True)
    def _touch(x):
        for i in numba.prange(x.shape[0]):
            x[i] += 1.0

    _touch(np.zeros(4))


def cache_dir_hint() -> str:
    """Where numba writes its cache (``NUMBA_CACHE_DIR`` or next to the sources)."""
    return os.environ.get("NUMBA_CACHE_DIR", "__pycache__ next to each module")
