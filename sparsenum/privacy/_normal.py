"""Exact standard normal draws from a SplitMix64 stream: Marsaglia and Tsang's ziggurat.

The area under ``f(x) = exp(-x^2/2)``, ``x >= 0``, is covered by ``LAYERS`` stacked pieces of
equal area ``v``: a base made of the rectangle ``[0, r] x [0, f(r)]`` plus the tail ``x > r``,
and rectangles ``[0, x_i] x [f(x_i), f(x_(i+1))]`` above it. A draw picks a piece uniformly and
a point uniformly in it; a point under the curve is returned, anything else starts over (the
wedge test and the tail, by Marsaglia's exponential method, are exact), so the output is exactly
normal. One 64-bit word gives the piece (low 8 bits), the sign (bit 8) and the abscissa (high 53
bits); about 99% of draws cost that word, a table look-up and a multiplication.

The tables are computed here, in NumPy, and passed to the kernels as one array ``ZIGGURAT`` of
shape ``(2, LAYERS + 1)``: row 0 holds ``x_0 = v / f(r), x_1 = r, ..., x_LAYERS = 0``, row 1 holds
``f(x_i)`` (row 1 entry 0 is unused).

References
----------
Marsaglia, G. and Tsang, W. W. (2000). The ziggurat method for generating random variables.
Journal of Statistical Software 5(8).
"""

from __future__ import annotations

import math

import numpy as np

from sparsenum.utils import jit
from sparsenum.utils.random import splitmix64, uniform01

LAYERS = 256
_LAYER_MASK = np.uint64(LAYERS - 1)


def _layers(r: float) -> tuple[np.ndarray, float]:
    """The abscissae for a base at ``r`` and the mismatch at the top (0 for the right ``r``)."""
    v = r * math.exp(-0.5 * r * r) + math.sqrt(math.pi / 2.0) * math.erfc(r / math.sqrt(2.0))
    x = np.zeros(LAYERS + 1)
    x[0], x[1] = v / math.exp(-0.5 * r * r), r
    for i in range(1, LAYERS - 1):
        height = math.exp(-0.5 * x[i] ** 2) + v / x[i]
        if height >= 1.0:  # the layers reach the top too early: r is too small
            return x, 1.0
        x[i + 1] = math.sqrt(-2.0 * math.log(height))
    return x, math.exp(-0.5 * x[LAYERS - 1] ** 2) + v / x[LAYERS - 1] - 1.0


def _ziggurat_tables() -> np.ndarray:
    """Bisection on ``r`` until the top layer has area ``v`` to machine precision."""
    low, high = 3.0, 4.5
    for _ in range(200):
        mid = 0.5 * (low + high)
        if mid in (low, high):
            break
        _x, top = _layers(mid)
        low, high = (mid, high) if top > 0.0 else (low, mid)
    x, _top = _layers(high)
    return np.ascontiguousarray(np.vstack([x, np.exp(-0.5 * x * x)]))


ZIGGURAT = _ziggurat_tables()


@jit
def normal(state, zig):
    """One standard normal draw; returns ``(state, z)``. ``zig`` is :data:`ZIGGURAT`."""
    while True:
        state, word = splitmix64(state)
        i = np.int64(word & _LAYER_MASK)
        negative = (word >> np.uint64(8)) & np.uint64(1)
        x = np.float64(word >> np.uint64(11)) * (1.0 / 9007199254740992.0) * zig[0, i]
        if x < zig[0, i + 1]:  # inside the rectangle under the curve
            return state, -x if negative else x
        if i == 0:  # the tail beyond r
            r = zig[0, 1]
            while True:
                state, u = uniform01(state)
                state, w = uniform01(state)
                x = -math.log(u) / r
                if -2.0 * math.log(w) > x * x:
                    break
            x += r
            return state, -x if negative else x
        state, u = uniform01(state)
        if zig[1, i] + u * (zig[1, i + 1] - zig[1, i]) < math.exp(-0.5 * x * x):
            return state, -x if negative else x


@jit
def fill_normals(state, out, n, zig):
    """``out[:n]`` <- standard normals; returns the advanced state."""
    for j in range(n):
        state, out[j] = normal(state, zig)
    return state
