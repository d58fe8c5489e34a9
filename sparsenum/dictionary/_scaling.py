"""Scale-safe numerics: exact power-of-two rescaling and row norms without overflow.

Dividing by a power of two only shifts exponents, so it is exact: data with entries near
float64's limits are brought to entries below 1 before the kernels square and multiply them,
and every result is scaled back exactly.
"""

from __future__ import annotations

import math

import numpy as np

# Entries within [2**-SAFE_EXPONENT, 2**SAFE_EXPONENT] have squares and products far from
# float64's overflow and underflow; data outside are rescaled by a power of two (exactly).
SAFE_EXPONENT = 200


def power_of_two_scale(A: np.ndarray) -> float:
    """1 if ``max |A|`` lies in the safe band, else the power of two ``2**e > max |A|``.

    Dividing by it is exact (it only shifts exponents) and brings the entries below 1, so
    the squares and products of the kernels neither overflow nor underflow.
    """
    peak = float(np.max(np.abs(A))) if A.size else 0.0
    if peak == 0.0 or 2.0 ** -SAFE_EXPONENT <= peak <= 2.0 ** SAFE_EXPONENT:
        return 1.0
    return math.ldexp(1.0, math.frexp(peak)[1])


def row_norms(A: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows, computed without overflow or underflow of the squares."""
    peak = np.max(np.abs(A), axis=1) if A.shape[1] else np.zeros(A.shape[0])
    safe = np.where(peak > 0, peak, 1.0)[:, None]
    scaled = A / safe
    return peak * np.sqrt(np.einsum("ij,ij->i", scaled, scaled))
