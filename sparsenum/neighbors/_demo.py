"""Demo of sparsenum.neighbors: recall@10 of the HNSW index against brute force."""

from __future__ import annotations

import time

import numpy as np

from ..utils import DemoRow
from .hnsw import HNSWIndex


def _clustered(n, dim, rng, intrinsic=8):
    """Gaussian clusters in ``intrinsic`` dimensions, embedded linearly in ``dim``."""
    centers = np.random.default_rng(1).normal(scale=3.0, size=(32, intrinsic))
    basis = np.random.default_rng(2).normal(size=(intrinsic, dim)) / np.sqrt(intrinsic)
    Z = centers[rng.integers(0, 32, n)] + rng.normal(size=(n, intrinsic))
    return (Z @ basis + 0.05 * rng.normal(size=(n, dim))).astype(np.float32)


def run_demo(out_dir) -> list[DemoRow]:
    rng = np.random.default_rng(0)
    X, Q = _clustered(10_000, 32, rng), _clustered(500, 32, rng)
    sq = (X.astype(np.float64) ** 2).sum(1)
    exact = np.argsort(sq[None, :] - 2.0 * Q.astype(np.float64) @ X.T.astype(np.float64),
                       axis=1)[:, :10]
    index = HNSWIndex(32, M=12, ef_construction=100, random_state=0)
    start = time.perf_counter()
    index.add(X)
    build = time.perf_counter() - start
    rows = [DemoRow(problem="build 10k x 32 (8-d clusters), float32", solver="HNSWIndex.add",
                    time=build, n_iter=None, accuracy=float("nan"), accuracy_name="-",
                    reference="-")]
    for ef in (16, 64):
        index.query(Q[:10], k=10, ef=ef)  # compile / warm up
        start = time.perf_counter()
        ids, _ = index.query(Q, k=10, ef=ef)
        elapsed = time.perf_counter() - start
        recall = np.mean([np.intersect1d(a, b).size / 10 for a, b in zip(ids, exact)])
        rows.append(DemoRow(problem="500 queries, k=10", solver=f"HNSWIndex.query ef={ef}",
                            time=elapsed, n_iter=None, accuracy=float(1.0 - recall),
                            accuracy_name="1 - recall@10", reference="numpy brute force"))
    return rows
