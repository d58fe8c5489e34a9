"""The l_inf guarantee of sketch-and-solve: the sketch size it needs and the bound it gives.

Reference
---------
Z. Song, M. Ye, J. Yin, L. Zhang, "A Nearly-Optimal Bound for Fast Regression with l_inf
Guarantee", ICML 2023 (arXiv:2302.00248).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..utils import check_int, check_scalar
from ._validation import check_problem

__all__ = ["linf_error_bound", "linf_sketch_size"]


def linf_sketch_size(n, d, eps, delta=0.01) -> int:
    """Rows a dense sketch needs for the l_inf guarantee: ``ceil(eps**-2 d log(n/delta)**3)``.

    This is the row count of Song, Ye, Yin & Zhang (2023), Theorem 1 / abstract, with the
    constant hidden by their O-notation taken as 1. The log-cube factor comes from the proof;
    in practice dense sketches meet the bound with far fewer rows (see the user guide), so this
    size is conservative and often exceeds ``n`` for moderate ``n``.

    Examples
    --------
    >>> from sparsenum.sketch import linf_sketch_size
    >>> linf_sketch_size(20_000, 2, eps=1.0, delta=0.5)
    2380
    """
    n = check_int(n, "n", low=1)
    d = check_int(d, "d", low=1)
    eps = check_scalar(eps, "eps", low=0, include_low=False)
    delta = check_scalar(delta, "delta", low=0, high=1, include_low=False, include_high=False)
    rows = linf_rows(n, d, eps, delta)
    if not math.isfinite(rows):
        raise ValueError(f"eps={eps!r} asks for more than 1e308 sketch rows "
                         f"(eps^-2 d log^3(n/delta) overflows); use a larger eps")
    return math.ceil(rows)


def linf_rows(n: int, d: int, eps: float, delta: float) -> float:
    """``d log(n/delta)^3 / eps^2`` as a float (inf when it overflows), for any size of n."""
    log_n = math.log(n) - math.log(delta)
    with np.errstate(over="ignore"):
        return float(np.float64(d) * np.float64(log_n) ** 3 / np.float64(eps) / np.float64(eps))


def _dense(A) -> np.ndarray:
    """``A`` as an in-memory dense array (a sparse matrix densified, a Dask array computed)."""
    if sp.issparse(A):
        return A.toarray()
    return np.asarray(A.compute() if hasattr(A, "compute") else A)


def linf_error_bound(A, b, eps) -> float:
    """The per-coordinate bound ``eps / sqrt(d) * ||A x* - b||_2 * ||A^+||_2`` of the paper.

    ``x*`` is the exact least-squares solution and ``||A^+|| = 1 / sigma_min(A)`` (smallest
    nonzero singular value). Both are computed exactly with LAPACK (an SVD of ``A``, densified
    if sparse or Dask): this function is for analysis and tests, not for large problems.

    Parameters
    ----------
    A : array-like or sparse matrix of shape (n, d)
    b : array-like of shape (n,)
    eps : float
        Accuracy parameter, > 0.

    Returns
    -------
    bound : float

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.sketch import linf_error_bound
    >>> A = np.vstack([np.eye(2), np.zeros((2, 2))]); b = np.array([1.0, 2.0, 3.0, 4.0])
    >>> round(linf_error_bound(A, b, eps=0.5), 6)  # 0.5 / sqrt(2) * 5 * 1
    1.767767
    """
    A, b, _ = check_problem(A, b)
    eps = check_scalar(eps, "eps", low=0, include_low=False)
    dense = _dense(A)
    b = np.asarray(b.compute() if hasattr(b, "compute") else b, dtype=float)
    U, s, Vt = scipy.linalg.svd(dense, full_matrices=False)
    rank = int(np.sum(s > s[0] * max(dense.shape) * np.finfo(float).eps)) if s[0] > 0 else 0
    if rank == 0:
        return 0.0
    x = Vt[:rank].T @ ((U[:, :rank].T @ b) / s[:rank])
    residual = float(np.linalg.norm(dense @ x - b))
    return eps / math.sqrt(dense.shape[1]) * residual / float(s[rank - 1])
