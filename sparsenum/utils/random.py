"""Random-state helpers: one ``random_state`` argument drives NumPy and numba kernels alike.

Numba kernels do not share NumPy's global generator, and ``numba.prange`` threads share one
generator per thread, so results of parallel kernels depend on scheduling. Kernels therefore take
explicit integer seeds from here and derive per-item streams with :func:`splitmix64`, which makes
parallel results identical for a given ``random_state`` whatever the thread count.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._numba import jit
from .validation import describe_value

__all__ = ["check_random_state", "random_seed", "spawn_seeds", "splitmix64", "uniform01"]

_UINT64_MASK = (1 << 64) - 1


def check_random_state(random_state, name: str = "random_state") -> np.random.RandomState:
    """A ``numpy.random.RandomState`` from None, an integer seed, a RandomState or a Generator.

    As scikit-learn's ``check_random_state`` (None is NumPy's global RandomState, an integer
    seeds a new one, a RandomState is returned as it is), plus: a ``numpy.random.Generator``
    seeds a new RandomState from its stream, and errors name the argument.

    Examples
    --------
    >>> check_random_state(0).randint(10) == check_random_state(0).randint(10)
    True
    >>> check_random_state(-1)
    Traceback (most recent call last):
    ...
    ValueError: random_state must be None, an integer in [0, 2**32 - 1], ...; got -1
    """
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.RandomState(int(random_state.integers(0, 2**32)))
    rule = "None, an integer in [0, 2**32 - 1], a numpy RandomState or Generator"
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state,
                                                                      (bool, np.bool_)):
        if 0 <= int(random_state) < 2**32:
            return np.random.RandomState(int(random_state))
        raise ValueError(f"{name} must be {rule}; got {int(random_state)}")
    raise TypeError(f"{name} must be {rule}; got {describe_value(random_state)} "
                    f"of type {type(random_state).__name__}")


def random_seed(random_state, name: str = "random_state") -> int:
    """One 63-bit integer seed drawn from ``random_state`` (None, int or RandomState/Generator).

    Examples
    --------
    >>> random_seed(0) == random_seed(0)
    True
    """
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    rng = check_random_state(random_state, name)
    return int(rng.randint(0, 2**63 - 1, dtype=np.int64))


def spawn_seeds(random_state, n: int, name: str = "random_state") -> np.ndarray:
    """``n`` independent uint64 seeds, e.g. one per query or per column of a parallel kernel.

    Examples
    --------
    >>> spawn_seeds(0, 3).dtype
    dtype('uint64')
    >>> bool((spawn_seeds(0, 3) == spawn_seeds(0, 3)).all())
    True
    """
    from .validation import check_int

    n = check_int(n, "n", low=0)
    if isinstance(random_state, np.random.Generator):
        return random_state.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    rng = np.random.default_rng(random_seed(random_state, name))
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
