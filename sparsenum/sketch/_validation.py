"""Validation of sketching inputs: dense, scipy.sparse or Dask matrices, right-hand sides, sizes.

Dask is never imported here: a Dask array is recognised by its type's module name, so the
single-machine paths run without Dask installed.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..utils import check_array, check_int, check_scalar, check_sparse
from ..utils.validation import describe_value

SPARSE_FORMATS = ("csr", "csc", "coo")


def is_dask_array(x) -> bool:
    """True for a ``dask.array.Array`` (checked without importing Dask)."""
    return type(x).__module__.split(".")[0] == "dask" and hasattr(x, "chunks")


def check_matrix(A, name: str = "A", *, ndim=(2,)):
    """Validate ``A`` as a float64 dense array, a canonical CSR matrix, or a Dask array.

    Sparse matrices in CSR, CSC or COO format are accepted (CSC and COO are converted to CSR, a
    copy); other formats (LIL, DOK, DIA, BSR) are rejected: convert them explicitly with
    ``.tocsr()``. Dask arrays are checked for shape and dtype here and for finiteness block by
    block when they are computed.
    """
    if is_dask_array(A):
        if A.ndim not in ndim:
            raise ValueError(f"{name} must be a {' or '.join(map(str, ndim))}-dimensional "
                             f"array; got a dask array of shape {A.shape}")
        if np.dtype(A.dtype).kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers; got dask dtype {A.dtype}")
        if any(np.isnan(c) for c in A.shape):
            raise ValueError(f"{name} must have known chunk sizes; "
                             f"call {name}.compute_chunk_sizes()")
        return A
    if sp.issparse(A):
        if A.format not in SPARSE_FORMATS:
            raise TypeError(f"{name} is a sparse {A.format.upper()} matrix; supported sparse "
                            f"formats are {', '.join(f.upper() for f in SPARSE_FORMATS)} "
                            f"(convert with {name}.tocsr())")
        if 2 not in ndim:
            raise TypeError(f"{name} must be a dense vector; got {describe_value(A)}")
        return check_sparse(A, name, format="csr")
    return check_array(A, name, ndim=ndim)


def check_problem(A, b):
    """Validate a least-squares problem ``min ||A x - b||``; returns ``(A, b, kind)``.

    ``kind`` is ``"dense"``, ``"sparse"`` or ``"dask"``. ``b`` must be a vector of length
    ``A.shape[0]``; with a Dask ``A``, ``b`` may be a NumPy or Dask vector (it is rechunked to
    ``A``'s row chunks).
    """
    A = check_matrix(A, "A")
    n, d = A.shape
    if is_dask_array(A):
        kind = "dask"
        if not is_dask_array(b):
            b = check_array(b, "b", ndim=1)
    else:
        kind = "sparse" if sp.issparse(A) else "dense"
        if is_dask_array(b):
            raise TypeError("b is a dask array but A is not; pass both as dask arrays")
        b = check_matrix(b, "b", ndim=(1, 2))
    if b.ndim == 2:
        if b.shape[1] != 1:
            raise ValueError(f"b must be a vector of length {n}; got shape {b.shape} "
                             "(several right-hand sides are not supported)")
        b = b[:, 0]
    if b.ndim != 1:
        raise ValueError(f"b must be a 1-dimensional vector; got shape {b.shape}")
    if b.shape[0] != n:
        raise ValueError(f"b must have length A.shape[0] = {n}; got length {b.shape[0]}")
    if n < d:
        raise ValueError(
            f"A must have at least as many rows as columns (sketching compresses the rows of a "
            f"tall matrix); got n_samples={n} < n_features={d}")
    return A, b, kind


def check_memory(n_bytes: float, what: str) -> None:
    """Refuse arrays that would not fit in the machine's memory, saying how much they need."""
    import os

    try:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return
    if n_bytes > available:
        raise ValueError(f"{what} would need {n_bytes / 2**30:,.1f} GiB, more than this "
                         f"machine's {available / 2**30:,.1f} GiB of memory")


def check_sketch_size(m, n: int, d: int, name: str = "m") -> int:
    """``d <= m <= n``: fewer rows than columns make ``S A`` rank deficient, more than ``n`` is
    no longer a compression."""
    m = check_int(m, name, low=1)
    if m < d:
        raise ValueError(f"{name} must be >= the number of columns d = {d} (otherwise S A is "
                         f"rank deficient); got {name}={m}")
    if m > n:
        raise ValueError(f"{name} must be <= the number of rows n = {n} (a sketch with more "
                         f"rows than A is no compression); got {name}={m}")
    return m


def check_rcond(rcond, n: int, d: int) -> float:
    """Relative cut-off of small singular values; default ``eps_machine * max(n, d)`` as
    ``numpy.linalg.lstsq``."""
    if rcond is None:
        return np.finfo(float).eps * max(n, d)
    return check_scalar(rcond, "rcond", low=0, high=1)


def validate_named(estimator, *data, names=("X",), **kwargs):
    """scikit-learn's ``validate_data``, with errors that name the user's argument.

    scikit-learn's messages ("Expected 2D array, got 1D array instead", "Complex data not
    supported") do not always say which argument is wrong; such a message is prefixed with the
    argument names, its text (which scikit-learn's checks match) unchanged.
    """
    from sklearn.utils.validation import validate_data

    try:
        return validate_data(estimator, *data, **kwargs)
    except (ValueError, TypeError) as exc:
        if any(name in str(exc) for name in names):
            raise
        raise type(exc)(f"{' and '.join(names)}: {exc}") from exc
