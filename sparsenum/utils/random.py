"""Random-state helpers: one ``random_state`` argument drives NumPy and numba kernels alike.

Numba kernels do not share NumPy's global generator, and ``numba.prange`` threads share one
generator per thread, so results of parallel kernels depend on scheduling. Kernels therefore take
explicit integer seeds from here and derive per-item streams with :func:`splitmix64`, which makes
parallel results identical for a given ``random_state`` whatever the thread count.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ._numba import jit

__all__ = ["check_random_state", "random_seed", "spawn_seeds", "splitmix64", "uniform01"]

_UINT64_MASK = (1 << 64) - 1


def random_seed(random_state) -> int:
    """One 63-bit integer seed drawn from ``random_state`` (None, int or RandomState/Generator).

    Examples
    --------
    >>> random_seed(0) == random_seed(0)
    True
    """
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    rng = check_random_state(random_state)
    return int(rng.randint(0, 2**63 - 1, dtype=np.int64))


def spawn_seeds(random_state, n: int) -> np.ndarray:
    """``n`` independent uint64 seeds, e.g. one per query or per column of a parallel kernel.

    Examples
    --------
    >>> spawn_seeds(0, 3).dtype
    dtype('uint64')
    >>> bool((spawn_seeds(0, 3) == spawn_seeds(0, 3)).all())
    True
    """
    if isinstance(random_state, np.random.Generator):
        return random_state.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    rng = np.random.default_rng(random_seed(random_state))
    return rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)


@jit
def splitmix64(state):
    """Advance a uint64 state; returns ``(new_state, output)`` (Steele et al.'s SplitMix64)."""
    state = np.uint64(state + np.uint64(0x9E3779B97F4A7C15))
    z = state
    z = np.uint64((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9))
    z = np.uint64((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB))
    return state, z ^ (z >> np.uint64(31))


@jit
def uniform01(state):
    """A float in the open interval (0, 1) from a uint64 state; returns ``(new_state, u)``."""
    state, z = splitmix64(state)
    # 53 high bits -> [0, 1); the half-ulp offset keeps log(u) finite
    return state, (np.float64(z >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)
