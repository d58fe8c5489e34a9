"""How many threads a call gets: ``n_jobs`` when the user gives it, else a count from the work.

A numba parallel region costs a thread wake-up per launch once its
workers have gone to sleep, which is the common case for a call made in a user's loop, between
other work. On a shared or virtual machine a wake-up is a scheduler slice, far more than the
whole of a small call. So the default ``n_jobs=None`` runs a call on one thread unless its
work, counted from the input's sizes (never timed), is large enough to pay for the wake-up;
an explicit ``n_jobs`` is always obeyed. Results never depend on the thread count.
"""

from __future__ import annotations

from ..utils import effective_n_jobs

# Floating-point operations below which the default n_jobs=None runs on one thread: about
# 10 ms of serial work, enough to amortise a thread wake-up on a loaded 2-core machine (the
# user guide gives the measurements).
PARALLEL_WORK = 2e7


def default_threads(n_jobs, work: float) -> int:
    """Threads for a call of ``work`` flops: ``n_jobs`` if given, else 1 for small work."""
    return effective_n_jobs(n_jobs, work=work if work >= PARALLEL_WORK else 0.0)
