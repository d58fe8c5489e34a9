"""Projection onto the probability simplex, row by row, and the stationarity it measures."""

from __future__ import annotations

import numpy as np


def project_rows_simplex(V, total=1.0):
    """Euclidean projection of every row of ``V`` onto ``{a >= 0, sum(a) = total}``
    (sort-based: Held, Wolfe & Crowder 1974; Duchi et al. 2008)."""
    V = np.asarray(V, dtype=np.float64)
    K = V.shape[1]
    s = -np.sort(-V, axis=1)
    cumulative = np.cumsum(s, axis=1) - total
    ks = np.arange(1, K + 1)
    support = s - cumulative / ks > 0
    rho = K - 1 - np.argmax(support[:, ::-1], axis=1)
    theta = cumulative[np.arange(V.shape[0]), rho] / (rho + 1)
    return np.maximum(V - theta[:, None], 0.0)


def stationarity(A, G, C):
    """``max_n ||a_n - P(a_n - (G a_n - c_n) / s)||_inf`` with ``s = max diag(G)``: zero exactly
    at the minimisers of ``1/2 a^T G a - c^T a`` on the simplex (projected-gradient residual)."""
    s = float(np.max(np.diag(G)))
    if not s > 0:
        return 0.0
    step = A - (A @ G - C) / s
    return float(np.max(np.abs(A - project_rows_simplex(step)))) if A.size else 0.0


def project_simplex(v, total):
    """Euclidean projection of the vector ``v`` onto ``{h >= 0, sum(h) = total}``."""
    return project_rows_simplex(np.asarray(v, dtype=np.float64)[None, :], total)[0]
