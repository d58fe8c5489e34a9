"""Exact power-of-two rescaling of least-squares problems with extreme entries.

``min ||A x - b||`` is equivariant under scaling: for ``A / 2**ea`` and ``b / 2**eb`` the
solution is ``x' = x * 2**(ea - eb)``, and dividing by a power of two is exact (it only shifts
exponents). Products and squared norms of entries near float64's limits (say ``1e200`` or
``1e-200``) overflow or underflow; rescaled to entries below 1, they do not. The sketch tells
cheaply whether rescaling is needed: ``||S A||_F`` is within the sketch's distortion of
``||A||_F``, so only inputs whose sketch has entries outside a wide safe band pay for a pass
over ``A`` and a second sketch.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

# Sketch entries within [2**-SAFE_EXPONENT, 2**SAFE_EXPONENT] leave every square and product
# of the iteration far from overflow and underflow.
SAFE_EXPONENT = 200


def _in_band(value: float) -> bool:
    return value == 0.0 or 2.0**-SAFE_EXPONENT <= value <= 2.0**SAFE_EXPONENT


def _exponent_above(peak: float) -> int:
    """``e`` with ``peak < 2**e`` (0 for a zero peak)."""
    return math.frexp(peak)[1] if peak > 0 else 0


def _peak(M) -> float:
    data = M.data if sp.issparse(M) else M
    return float(np.max(np.abs(data))) if data.size else 0.0


def _shift(M, exponent: int):
    """``M / 2**exponent`` as a new array (exact)."""
    if sp.issparse(M):
        out = M.copy()
        out.data = np.ldexp(M.data, -exponent)
        return out
    return np.ldexp(M, -exponent)


def rescale(SA, Sb, A, b, kind):
    """``(A', b', ea, eb)`` with ``A' = A / 2**ea``, ``b' = b / 2**eb`` (exact).

    ``ea = eb = 0`` (and the inputs returned as they are) when the sketches ``SA``, ``Sb`` are
    finite and within the safe band; Dask inputs are never rescaled (a non-finite sketch of
    them is an error naming the argument).
    """
    # the largest entry, not the norm: a norm's squares would underflow or overflow first
    fine = [np.isfinite(S).all() and _in_band(_peak(S)) for S in (SA, Sb)]
    if all(fine):
        return A, b, 0, 0
    if kind == "dask":
        which = "A" if not fine[0] else "b"
        raise ValueError(f"{which} has entries too large or too small for float64 products "
                         f"(its sketch is {'not finite' if not fine[0] else 'out of range'});"
                         f" divide {which} by a power of two (the solution scales with it)")
    ea = 0 if fine[0] else _exponent_above(_peak(A))
    eb = 0 if fine[1] else _exponent_above(_peak(b))
    return (_shift(A, ea) if ea else A), (_shift(b, eb) if eb else b), ea, eb


def unscale_coef(x: np.ndarray, ea: int, eb: int) -> np.ndarray:
    """The solution of the caller's problem, ``x * 2**(eb - ea)``; refuses an overflow."""
    if ea == eb:
        return x
    with np.errstate(over="ignore"):
        out = np.ldexp(x, eb - ea)
    if not np.all(np.isfinite(out)):
        exponent = _exponent_above(float(np.max(np.abs(x)))) + eb - ea
        raise ValueError("the least-squares solution overflows float64: b is too large for A "
                         f"(|x| reaches about 2**{exponent}); rescale A or b")
    return out


def unscale_norm(value: float, eb: int, what: str = "the residual norm") -> float:
    """A norm of a residual of the caller's problem, ``value * 2**eb``; refuses an overflow."""
    with np.errstate(over="ignore"):
        out = float(np.ldexp(np.float64(value), eb)) if eb else value
    if not math.isfinite(out):
        raise ValueError(f"{what} overflows float64: b is too large; divide b by a constant")
    return out
