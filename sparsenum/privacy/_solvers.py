"""Server-side numerics shared by the estimators: sparse projections and the l1 quadratic."""

from __future__ import annotations

import numpy as np

from sparsenum.utils import jit


def hard_threshold(theta: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` entries of largest magnitude (ties broken by the lower index)."""
    if k >= theta.shape[0]:
        return theta.copy()
    keep = np.argsort(-np.abs(theta), kind="stable")[:k]
    out = np.zeros_like(theta)
    out[keep] = theta[keep]
    return out


def project_ball(theta: np.ndarray, radius: float) -> np.ndarray:
    """Euclidean projection onto the l2 ball of ``radius``."""
    norm = float(np.linalg.norm(theta))
    return theta * (radius / norm) if norm > radius else theta


@jit
def l1_quadratic_cd(S, c, alpha, tol, max_sweeps):
    """Coordinate descent on ``1/2 t'S t - c't + sum_j alpha_j |t_j|`` (``S`` positive definite).

    Stops when a sweep moves no coordinate by more than ``tol`` times the largest entry of the
    iterate. Returns ``(t, sweeps, converged)``.
    """
    d = c.shape[0]
    t = np.zeros(d)
    grad = -c.copy()  # S t - c
    for sweep in range(1, max_sweeps + 1):
        biggest_step = 0.0
        biggest = 0.0
        for j in range(d):
            z = t[j] * S[j, j] - grad[j]
            if z > alpha[j]:
                new = (z - alpha[j]) / S[j, j]
            elif z < -alpha[j]:
                new = (z + alpha[j]) / S[j, j]
            else:
                new = 0.0
            step = new - t[j]
            if step != 0.0:
                for i in range(d):
                    grad[i] += S[i, j] * step
                t[j] = new
            biggest_step = max(biggest_step, abs(step))
            biggest = max(biggest, abs(new))
        if biggest_step <= tol * max(biggest, 1e-300):
            return t, sweep, True
    return t, max_sweeps, False
