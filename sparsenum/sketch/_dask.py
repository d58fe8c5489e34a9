"""Dask paths (imported only for Dask input): blockwise sketches and distributed matvecs.

A row-chunked ``A`` is sketched chunk by chunk where each chunk lives: chunk ``i`` holding global
rows ``[o_i, o_i + n_i)`` contributes ``S[:, o_i:o_i + n_i] @ A_i`` (each operator regenerates
exactly those columns of ``S`` from its seed and ``o_i``), and the ``m x k`` contributions are
summed by a tree reduction. The result equals the in-memory ``S @ A`` up to summation order.
"""

from __future__ import annotations

import numpy as np


def _block_sketch(op, block, offset, n, prepared):
    block = np.asarray(block, dtype=np.float64)
    if not np.isfinite(block).all():
        raise ValueError(f"A must be finite; the chunk at rows {offset}..{offset + len(block)} "
                         "holds NaN or infinite entries")
    block = np.ascontiguousarray(block[:, None] if block.ndim == 1 else block)
    return op._apply_block(block, offset, n, prepared)


def sketch_dask(op, A):
    """``S @ A`` for a Dask ``A`` chunked by rows, as a lazy ``(m, k)`` (or ``(m,)``) array."""
    import dask
    import dask.array as da

    vector = A.ndim == 1
    A2 = (A[:, None] if vector else A).rechunk({1: -1})
    n, k = A2.shape
    prepared = op._prepare(n)
    offsets = np.concatenate([[0], np.cumsum(A2.chunks[0])[:-1]]).astype(int)
    task = dask.delayed(_block_sketch, pure=True)
    parts = [da.from_delayed(task(op, blk, int(o), n, prepared), shape=(op.m, k), dtype=float)
             for blk, o in zip(A2.to_delayed().ravel(), offsets)]
    out = da.stack(parts).sum(axis=0, split_every=8)
    return out[:, 0] if vector else out


class DaskMatrix:
    """Matrix-vector products with a row-chunked Dask ``A`` for the preconditioned iteration;
    vectors of length ``n`` stay distributed (persisted), vectors of length ``d`` are NumPy."""

    def __init__(self, A, b):
        import dask.array as da

        self.A = A.rechunk({1: -1}).persist()
        b = b if hasattr(b, "chunks") else da.from_array(b)
        self.b = b.rechunk((self.A.chunks[0],)).persist()
        self._da = da

    def residual(self, x):
        return (self.b - self.A @ x).persist()

    def matvec(self, z):
        return (self.A @ z).persist()

    def rmatvec(self, r) -> np.ndarray:
        return np.asarray((self.A.T @ r).compute())

    @staticmethod
    def dot(u, v) -> float:
        return float((u @ v).compute())

    @staticmethod
    def axpy(alpha, x, y):
        return (y + alpha * x).persist()

    def norm_b(self) -> float:
        return float(self._da.linalg.norm(self.b).compute())
