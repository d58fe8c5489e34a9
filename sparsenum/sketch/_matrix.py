"""The three matrix kinds (dense, CSR, Dask) behind one small interface for the iterations."""

from __future__ import annotations

import numpy as np

from ..utils import WAKE_UP_WORK, effective_n_jobs, numba_threads


def pass_work(n: int, d: int) -> float:
    """Floating-point operations of one fused pass over an ``n x d`` matrix (``A v`` and
    ``A^T (A v)``: two multiply-adds per entry), the work estimate that decides its threads."""
    return 4.0 * n * d


class InMemoryMatrix:
    """``A`` as a dense array or CSR matrix; products go to BLAS / scipy.sparse."""

    def __init__(self, A, b, n_jobs=None):
        self.A = A
        self.b = b
        # threads of the fused numba passes, decided once from the size of a pass
        self.threads = effective_n_jobs(n_jobs, pass_work(*A.shape), WAKE_UP_WORK)
        # one pass yields A v and A^T A v only for a dense row-major A (see affine_and_gram)
        self.can_fuse = (isinstance(A, np.ndarray) and A.flags.c_contiguous
                         and A.dtype == np.float64)
        self._b64 = np.ascontiguousarray(b, dtype=np.float64) if self.can_fuse else None

    def residual(self, x):
        return self.b - self.A @ x

    def matvec(self, z):
        return self.A @ z

    def rmatvec(self, r) -> np.ndarray:
        return self.A.T @ r

    def matvec_and_gram(self, v):
        """``(A v, A^T A v)`` in one pass over ``A``; only when ``can_fuse``."""
        return self._affine_and_gram(v, 0.0)

    def residual_and_gram(self, x):
        """``(b - A x, A^T (b - A x))`` in one pass over ``A``; only when ``can_fuse``."""
        return self._affine_and_gram(-np.asarray(x, dtype=np.float64), 1.0)

    def _affine_and_gram(self, v, beta):
        from ._kernels import FUSED_CHUNKS, affine_and_gram

        out = np.empty(self.A.shape[0])
        partial = np.empty((FUSED_CHUNKS, self.A.shape[1]))
        with numba_threads(self.threads):
            affine_and_gram(self.A, np.ascontiguousarray(v, dtype=np.float64), self._b64, beta,
                            out, partial)
        return out, partial.sum(axis=0)

    @staticmethod
    def dot(u, v) -> float:
        return float(u @ v)

    @staticmethod
    def axpy(alpha, x, y):
        y = y + alpha * x
        return y

    def norm_b(self) -> float:
        return float(np.linalg.norm(self.b))


def as_matrix(A, b, kind, n_jobs=None):
    if kind == "dask":
        from ._dask import DaskMatrix

        return DaskMatrix(A, b)
    return InMemoryMatrix(A, b, n_jobs)


def sketch_both(op, A, b, kind):
    """``(S A, S b)`` as NumPy arrays (one Dask computation for Dask input)."""
    if kind == "dask":
        import dask

        SA, Sb = dask.compute(op.apply(A), op.apply(b))
        return np.asarray(SA), np.asarray(Sb)
    return op._apply_valid(A), op._apply_valid(b)  # check_problem has validated both
