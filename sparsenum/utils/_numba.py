"""Numba defaults shared by every kernel, and the mapping of ``n_jobs`` to numba threads.

Kernels are compiled with ``cache=True`` (compiled code is reused across processes, so users pay
compilation once per machine) and ``nogil=True`` (callers may run them from Python threads, e.g.
Dask workers).

Where the cache lives
    numba writes next to the sources (``__pycache__``) when it can, else under the user's cache
    folder. ``SPARSENUM_CACHE_DIR`` (or numba's own ``NUMBA_CACHE_DIR``) chooses a folder
    explicitly. On a read-only install with no writable home (a container, a shared cluster
    install) numba would refuse to define a cached function at all; sparsenum then falls back to
    a folder under the system's temporary directory, and if even that is not writable, compiles
    without a cache. Importing sparsenum never fails for lack of a writable folder.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import numba

from .validation import check_n_jobs

__all__ = ["effective_n_jobs", "jit", "jit_parallel", "numba_threads"]

JIT_OPTIONS = {"cache": True, "nogil": True}

# Below this many floating-point operations a parallel kernel costs more in thread start-up and
# hand-over (tens of microseconds per launch, more when BLAS threads are spinning) than it saves.
# This holds for launches in quick succession (a solver's inner loop keeps its workers awake).
SERIAL_WORK = 200_000
# A call that launches a parallel region once, or a few times between other work (one
# transform, one batch of codes, one unmixing of an image tile), meets workers that have gone to
# sleep: on a shared or virtual machine waking them takes a scheduler slice, far more than a small
# call. Below this many flops (about 10 ms of serial work) such a call runs on one thread.
WAKE_UP_WORK = 2e7


def _configure_cache_dir() -> None:
    """Honour ``SPARSENUM_CACHE_DIR`` unless numba's own ``NUMBA_CACHE_DIR`` is set."""
    folder = os.environ.get("SPARSENUM_CACHE_DIR")
    if folder and not os.environ.get("NUMBA_CACHE_DIR"):
        numba.config.CACHE_DIR = folder


_configure_cache_dir()


def _temporary_cache_dir() -> str | None:
    """A per-user folder under the temporary directory, if one can be made writable."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    folder = os.path.join(tempfile.gettempdir(), f"sparsenum-numba-cache-{uid}")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK | os.X_OK) else None


def _njit(options: dict, func, signatures: tuple = ()):
    try:
        return numba.njit(*signatures, **options)(func)
    except RuntimeError as exc:  # numba: "cannot cache function ...: no locator available"
        if not options.get("cache") or "no locator" not in str(exc):
            raise
    folder = _temporary_cache_dir()
    if folder is not None and folder != numba.config.CACHE_DIR:
        numba.config.CACHE_DIR = folder
        with contextlib.suppress(RuntimeError):
            return numba.njit(*signatures, **options)(func)
    return numba.njit(*signatures, **{**options, "cache": False})(func)


def jit(*args, **kwargs):
    """``numba.njit`` with sparsenum's defaults (``cache=True, nogil=True``).

    Use bare (``@jit``) or with extra options (``@jit(fastmath=True)``). A cached function is
    still defined when no cache folder is writable (it is then compiled in every process).

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
    if len(args) == 1 and callable(args[0]):
        return _njit(options, args[0])
    return lambda func: _njit(options, func, args)  # args: explicit signatures, if any


def jit_parallel(*args, **kwargs):
    """Like :func:`jit` with ``parallel=True``, for kernels with ``numba.prange`` loops."""
    return jit(*args, **{"parallel": True, **kwargs})


def max_threads() -> int:
    """Threads numba may use in this process (``NUMBA_NUM_THREADS``, by default the core count)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def effective_n_jobs(n_jobs, work: float | None = None, threshold: float = SERIAL_WORK) -> int:
    """Number of threads ``n_jobs`` stands for, capped at :func:`max_threads`.

    ``None`` means numba's current setting; ``-1`` all threads, ``-2`` all but one, and so on.
    When ``work`` (an estimate of the call's floating-point operations, counted from the input's
    sizes, never timed) is below ``threshold``, the default ``n_jobs=None`` means one thread:
    starting threads would cost more than the work. An explicit ``n_jobs`` is always obeyed.
    ``threshold`` is ``SERIAL_WORK`` for launches in a solver's inner loop and ``WAKE_UP_WORK``
    for calls that launch a parallel region once.

    Examples
    --------
    >>> from sparsenum.utils import effective_n_jobs
    >>> effective_n_jobs(1)
    1
    >>> effective_n_jobs(None, work=1_000)
    1
    """
    n_jobs = check_n_jobs(n_jobs)
    limit = max_threads()
    if n_jobs is None:
        if work is not None and work < threshold:
            return 1
        return int(numba.get_num_threads())
    if n_jobs < 0:
        return max(1, limit + 1 + n_jobs)
    return min(n_jobs, limit)


@contextlib.contextmanager
def numba_threads(n_jobs, work: float | None = None,
                  threshold: float = SERIAL_WORK) -> Iterator[int]:
    """Run numba parallel kernels with the thread count ``n_jobs`` stands for, then restore it.

    ``work`` and ``threshold`` are passed to :func:`effective_n_jobs`: small calls with the
    default ``n_jobs=None`` run on one thread. Numba's thread count is per calling thread, so
    this is safe to use from several Python threads at once.

    Examples
    --------
    >>> from sparsenum.utils import numba_threads
    >>> with numba_threads(1) as n:
    ...     n
    1
    """
    n = effective_n_jobs(n_jobs, work, threshold)
    previous = numba.get_num_threads()
    if n == previous:  # setting the count has a cost of its own; skip it when nothing changes
        yield n
        return
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
