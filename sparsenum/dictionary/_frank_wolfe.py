"""The online Frank-Wolfe step of :class:`OnlineOrthogonalDictionary` (Xue & Lau, 2021).

For signals ``y = D x`` with an orthogonal ``D`` and sparse ``x``, the dictionary maximises
``f(D) = E ||D^T y||_4^4`` over the spectral-norm ball. Each mini-batch updates a running
gradient estimate and moves ``D`` towards the ball's maximiser of the linearised objective,
the polar factor of the gradient.

Reference
---------
Y. Xue, V. Lau, "Online Orthogonal Dictionary Learning Based on Frank-Wolfe Method",
arXiv:2103.01484, 2021.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

# Data within [2**-SAFE_EXPONENT, 2**SAFE_EXPONENT] have fourth powers far from float64's limits.
SAFE_EXPONENT = 60


def stream_exponent(X: np.ndarray) -> int:
    """``e`` such that ``X / 2**e`` is in the safe band (0 when ``X`` already is).

    The dictionary does not depend on the scale of the data, but fourth powers of it overflow
    (or vanish) far sooner than the data: extreme streams are divided by a power of two, fixed
    by the first data seen (exactly).
    """
    peak = float(np.max(np.abs(X)))
    if peak == 0 or 2.0**-SAFE_EXPONENT <= peak <= 2.0**SAFE_EXPONENT:
        return 0
    return math.frexp(peak)[1]


def polar(M: np.ndarray) -> np.ndarray:
    """U V^T from the thin SVD of M: the linear maximisation oracle of the spectral-norm ball."""
    U, _, Vt = np.linalg.svd(M, full_matrices=False)
    return U @ Vt


class FrankWolfeStep(NamedTuple):
    dictionary: np.ndarray  # D_t, atoms as columns
    gradient: np.ndarray  # the running gradient estimate G_t
    objective: float  # batch mean of ||D_{t-1}^T y||_4^4, in the caller's units
    relative_gap: float  # <G_t, S_t - D_{t-1}> / <G_t, S_t>


def frank_wolfe_step(D, gradient, Y, t: int, exponent: int) -> FrankWolfeStep:
    """Step ``t`` (from 1) on the mini-batch ``Y``, stored divided by ``2**exponent``.

    ``G_t = (1 - rho) G_{t-1} + rho grad f(D_{t-1}; Y)``, ``S_t = polar(G_t)``,
    ``D_t = (1 - gamma) D_{t-1} + gamma S_t`` with ``rho = t^{-1/2}``, ``gamma = t^{-3/4}``.
    """
    rho, gamma = t ** -0.5, t ** -0.75
    if exponent:
        Y = np.ldexp(Y, -exponent)
    Z = Y @ D
    grad = 4.0 * (Y.T @ Z**3) / Y.shape[0]
    gradient = (1.0 - rho) * gradient + rho * grad
    S = polar(gradient)
    value = float(np.sum(gradient * S))
    gap = float(np.sum(gradient * (S - D)))
    with np.errstate(over="ignore"):
        objective = float(np.ldexp(np.mean(np.sum(Z**4, axis=1)), 4 * exponent))
    return FrankWolfeStep(dictionary=(1.0 - gamma) * D + gamma * S, gradient=gradient,
                          objective=objective, relative_gap=gap / value if value > 0 else 0.0)
