"""Locks that make one :class:`~sparsenum.neighbors.HNSWIndex` safe to share between threads.

The contract (stated in the class docstring): any number of threads may query at once; ``add``,
``mark_deleted`` and ``resize`` may run in other threads meanwhile. Two locks enforce it:

* a readers-writer lock over the graph arrays. Queries hold it shared for the whole query (the
  numba kernels run without the GIL while it is held, so queries proceed in parallel); a writer
  holds it exclusively while it changes the arrays. It is phase-fair: readers that were waiting
  when a writer releases it enter before the next writer, and a waiting writer stops new readers
  from entering, so neither side starves.
* a plain mutex that serialises the writers for a whole operation. An ``add`` takes the
  exclusive lock once per batch of insertions and releases it in between, so queries during a
  long build wait for one batch at most and always see a graph whose every node is fully linked.
  The parallel insertion (``_insert.py``) runs inside one such batch; it needs no locks of its
  own, since each of its threads writes only rows that no other thread reads then.

Parallel work is started by one Python thread at a time (:func:`thread_pool`): numba's
``workqueue`` threading layer aborts the process on concurrent launches of the parallel query
kernel, and two concurrent starts would only oversubscribe the cores. A thread that finds the
pool busy runs its kernel serially instead, which gives the same results. Insertion and the
deletion repair run a serial kernel on the calling thread and a pool of Python threads at once
(:func:`run_each`): each launch there does enough work that the pool's hand-over does not show,
and a ``prange`` kernel would compile numba's parallel machinery and copies of everything it calls.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from ..utils._threads import thread_pool as worker_pool

__all__ = ["ReadWriteLock", "run_each", "thread_pool"]


class ReadWriteLock:
    """A phase-fair readers-writer lock (not reentrant: a thread must not nest acquisitions)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0  # readers inside
        self._writer = False  # a writer inside
        self._writers_waiting = 0
        self._readers_waiting = 0
        self._admitted = 0  # waiting readers let in ahead of the next writer

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._readers_waiting += 1
            while self._writer or (self._writers_waiting and not self._admitted):
                self._cond.wait()
            self._readers_waiting -= 1
            if self._admitted:
                self._admitted -= 1
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers or self._admitted:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._admitted = self._readers_waiting
                self._cond.notify_all()


_POOL = threading.Lock()


@contextlib.contextmanager
def thread_pool(n_threads: int) -> Iterator[bool]:
    """Yields whether the calling thread may start parallel work on ``n_threads`` threads
    (and holds the pool while it does); False means: run the serial kernel."""
    if n_threads <= 1 or not _POOL.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        _POOL.release()


def run_each(kernel, threads: int, *args) -> None:
    """``kernel(*args)`` on ``threads`` threads at once: the calling thread and a pool's. The
    kernel is a serial numba kernel that releases the GIL, and the calls share their work through
    atomic counters in ``args`` (:func:`~._graph._claim`), each taking the next piece as it comes
    free. A ``prange`` kernel instead would compile numba's parallel machinery, with a copy of
    the kernel and everything it calls in each of its parts, on a user's first call."""
    if threads <= 1:
        kernel(*args)
        return
    pool = worker_pool(threads)
    futures = [pool.submit(kernel, *args) for _ in range(1, threads)]
    try:
        kernel(*args)
    finally:
        for future in futures:
            future.result()
