"""Small shared data sets and the brute-force reference for the neighbors tests."""

import numpy as np
import pytest


def clustered(n, dim, *, n_centers=20, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(n_centers, dim))
    return (centers[rng.integers(0, n_centers, n)] + rng.normal(size=(n, dim))).astype(np.float32)


def distances(X, Q, metric="sqeuclidean"):
    """All query-to-row distances in float64 (numpy only)."""
    X = np.asarray(X, np.float64)
    Q = np.asarray(Q, np.float64)
    if metric in ("l2", "sqeuclidean"):
        d = (Q**2).sum(1)[:, None] - 2 * Q @ X.T + (X**2).sum(1)[None, :]
    elif metric == "ip":
        d = 1 - Q @ X.T
    else:
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True)
        d = 1 - Qn @ Xn.T
    return d


def brute_force(X, Q, k, metric="sqeuclidean"):
    """Exact k nearest rows of X for each query (float64 arithmetic, numpy only)."""
    d = distances(X, Q, metric)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(d, order, 1)


def recall(found, truth):
    k = truth.shape[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth)]))


class _Helpers:
    clustered = staticmethod(clustered)
    brute_force = staticmethod(brute_force)
    distances = staticmethod(distances)
    recall = staticmethod(recall)


@pytest.fixture(scope="session")
def nn():
    """Data generators and the brute-force reference, as one namespace."""
    return _Helpers
