"""The three matrix kinds (dense, CSR, Dask) behind one small interface for the iterations."""

from __future__ import annotations

import numpy as np


class InMemoryMatrix:
    """``A`` as a dense array or CSR matrix; products go to BLAS / scipy.sparse."""

    def __init__(self, A, b):
        self.A = A
        self.b = b

    def residual(self, x):
        return self.b - self.A @ x

    def matvec(self, z):
        return self.A @ z

    def rmatvec(self, r) -> np.ndarray:
        return self.A.T @ r

    def matvec_and_gram(self, v):
        """``(A v, A^T A v)``; one pass over a dense C-ordered ``A`` (see ``product_and_gram``)."""
        A = self.A
        if isinstance(A, np.ndarray) and A.flags.c_contiguous and A.dtype == np.float64:
            from ._kernels import product_and_gram

            q = np.empty(A.shape[0])
            h = np.empty(A.shape[1])
            product_and_gram(A, np.ascontiguousarray(v, dtype=np.float64), q, h)
            return q, h
        q = A @ v
        return q, A.T @ q

    @staticmethod
    def dot(u, v) -> float:
        return float(u @ v)

    @staticmethod
    def axpy(alpha, x, y):
        y = y + alpha * x
        return y

    def norm_b(self) -> float:
        return float(np.linalg.norm(self.b))


def as_matrix(A, b, kind):
    if kind == "dask":
        from ._dask import DaskMatrix

        return DaskMatrix(A, b)
    return InMemoryMatrix(A, b)


def sketch_both(op, A, b, kind):
    """``(S A, S b)`` as NumPy arrays (one Dask computation for Dask input)."""
    if kind == "dask":
        import dask

        SA, Sb = dask.compute(op.apply(A), op.apply(b))
        return np.asarray(SA), np.asarray(Sb)
    return op.apply(A), op.apply(b)
