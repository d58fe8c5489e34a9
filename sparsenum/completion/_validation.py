"""Input checks of the completion module, built on :mod:`sparsenum.utils.validation`.

The observations of a matrix come in three forms: a scipy.sparse matrix whose stored entries are
the observed ones (explicit zeros included), a dense array with NaN where an entry is missing,
or (for validation sets) a ``(rows, cols, values)`` triplet. All are turned into sorted
coordinate triplets here, with the rules checked once: no repeated ``(row, col)`` pair, no NaN
among stored values, no infinity anywhere, at least one observation.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from sparsenum.utils import check_array, check_int, check_scalar
from sparsenum.utils.validation import describe_value

__all__ = ["Triplets", "check_bias_reg", "check_ids", "check_matrix", "check_rank", "check_reg",
           "check_triplets", "is_dask_array"]


class Triplets:
    """Observed entries sorted by row then column: ``rows``, ``cols`` (int64), ``vals``."""

    __slots__ = ("cols", "rows", "shape", "vals")

    def __init__(self, shape, rows, cols, vals):
        self.shape = (int(shape[0]), int(shape[1]))
        self.rows, self.cols, self.vals = rows, cols, vals

    @property
    def nnz(self) -> int:
        return int(self.vals.shape[0])


def is_dask_array(x) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(x).__module__.split(".")[0] == "dask" and hasattr(x, "chunks")


def _sorted_unique(shape, rows, cols, vals, name):
    if shape[0] * shape[1] < 2**62:  # one sort of the flat index instead of two
        order = np.argsort(rows.astype(np.int64) * shape[1] + cols, kind="stable")
    else:
        order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    if rows.size > 1:
        same = (rows[1:] == rows[:-1]) & (cols[1:] == cols[:-1])
        if same.any():
            first = int(np.argmax(same))
            raise ValueError(f"{name} must not repeat a (row, col) pair; got {int(same.sum())} "
                             f"repeated pairs, the first at ({rows[first]}, {cols[first]})")
    return Triplets(shape, rows, cols, vals)


def _check_values(vals, name, what):
    if not np.isfinite(vals).all():
        n_nan = int(np.isnan(vals).sum())
        if n_nan:
            raise ValueError(f"{name} must not hold NaN among its {what}; got {n_nan} NaN "
                             "values (a missing entry is an entry that is not stored)")
        n_inf = int(np.isinf(vals).sum())
        raise ValueError(f"{name} must be finite; got {n_inf} infinite values among its {what}")


def check_matrix(M, name: str = "M", *, allow_empty: bool = False) -> Triplets:
    """The observed entries of a sparse matrix (stored entries) or a NaN-masked dense array.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.completion._validation import check_matrix
    >>> obs = check_matrix(np.array([[1.0, np.nan], [np.nan, 0.0]]))
    >>> obs.rows.tolist(), obs.cols.tolist(), obs.vals.tolist()
    ([0, 1], [0, 1], [1.0, 0.0])
    """
    if sp.issparse(M):
        if M.ndim != 2:
            raise ValueError(f"{name} must be 2-dimensional; got shape {M.shape}")
        if M.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers; got dtype {M.dtype}")
        coo = M.tocoo()
        vals = np.asarray(coo.data, dtype=np.float64)
        _check_values(vals, name, "stored entries")
        rows = np.asarray(coo.row, dtype=np.int64)
        cols = np.asarray(coo.col, dtype=np.int64)
        shape = M.shape
    elif is_dask_array(M):
        raise TypeError(f"{name}: a dask array is handled by the dask path, not here")
    else:
        dense = check_array(M, name, ndim=2, allow_nan=True, allow_inf=False)
        observed = ~np.isnan(dense)
        rows, cols = np.nonzero(observed)
        rows, cols = rows.astype(np.int64), cols.astype(np.int64)
        vals = dense[observed]
        shape = dense.shape
    if min(shape) < 1:
        raise ValueError(f"{name} must have at least one row and one column; got shape {shape}")
    if vals.size == 0 and not allow_empty:
        raise ValueError(f"{name} must have at least one observed entry; got none "
                         f"in a {shape[0]}x{shape[1]} matrix")
    return _sorted_unique(shape, rows, cols, vals, name)


def check_triplets(value, shape, name: str) -> Triplets:
    """A validation set: a matrix like ``M`` (same shape) or a ``(rows, cols, values)`` tuple."""
    if isinstance(value, tuple):
        if len(value) != 3:
            raise ValueError(f"{name} must be a (rows, cols, values) tuple or a matrix of the "
                             f"same shape as M; got a tuple of length {len(value)}")
        rows = check_ids(value[0], f"{name}[0] (rows)", high=shape[0])
        cols = check_ids(value[1], f"{name}[1] (cols)", high=shape[1])
        vals = check_array(value[2], f"{name}[2] (values)", ndim=1, min_size=0)
        if not rows.shape[0] == cols.shape[0] == vals.shape[0]:
            raise ValueError(f"{name} must hold rows, cols and values of one length; got "
                             f"{rows.shape[0]}, {cols.shape[0]} and {vals.shape[0]}")
        if vals.size == 0:
            raise ValueError(f"{name} must hold at least one entry; got none")
        return _sorted_unique(shape, rows, cols, vals, name)
    obs = check_matrix(value, name)
    if obs.shape != tuple(shape):
        raise ValueError(f"{name} must have the shape of M, {tuple(shape)}; got {obs.shape}")
    return obs


def check_ids(ids, name: str, *, high: int | None = None) -> np.ndarray:
    """Nonnegative integer ids (integer dtype, or floats holding whole numbers), below ``high``.

    Examples
    --------
    >>> from sparsenum.completion._validation import check_ids
    >>> check_ids([0, 2.0], "rows").tolist()
    [0, 2]
    >>> check_ids([0, 1.5], "rows")
    Traceback (most recent call last):
    ...
    ValueError: rows must hold integer ids; got 1 non-integer values, e.g. 1.5
    """
    arr = check_array(ids, name, ndim=1, dtype=None, min_size=0)
    if arr.dtype.kind == "f":
        fractional = arr != np.round(arr)
        if fractional.any():
            raise ValueError(f"{name} must hold integer ids; got {int(fractional.sum())} "
                             f"non-integer values, e.g. {float(arr[np.argmax(fractional)])!r}")
        if arr.size and np.abs(arr).max() >= 2.0**53:
            raise ValueError(f"{name} must hold ids below 2**53; got {np.abs(arr).max():g}")
    elif arr.dtype.kind == "b":
        raise TypeError(f"{name} must hold integer ids; got booleans")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must hold nonnegative ids; got {int(arr.min())}")
    if high is not None and arr.size and arr.max() >= high:
        raise ValueError(f"{name} must hold ids below {high}; got {int(arr.max())}")
    return arr


def check_rank(rank, shape, name: str = "rank") -> int:
    """An integer with ``1 <= rank < min(m, n)``."""
    limit = min(shape) - 1
    if limit < 1:
        check_int(rank, name)
        raise ValueError(f"{name} must be < min(m, n) = {min(shape)}; a {shape[0]}x{shape[1]} "
                         "matrix has no room for a low-rank factorisation")
    return check_int(rank, name, low=1, high=limit)


def _is_auto(value, name: str, rule: str) -> bool:
    """True for ``"auto"``, False for a real number (bool is not one); any other value raises,
    saying ``name`` must be ``rule``."""
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(f"{name} must be {rule}; got {value!r}")
        return True
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {rule}; got {describe_value(value)} of type "
                        f"{type(value).__name__}")
    return False


def check_reg(reg, name: str = "reg"):
    """``"auto"`` or a finite real number >= 0."""
    if _is_auto(reg, name, "'auto' or a number >= 0"):
        return reg
    return check_scalar(reg, name, low=0)


def check_bias_reg(bias_reg, name: str = "bias_reg"):
    """``"auto"``, a number >= 0, or a pair of them (rows, columns)."""
    if isinstance(bias_reg, (tuple, list)):
        if len(bias_reg) != 2:
            raise ValueError(f"{name} must be 'auto', a number >= 0 or a (rows, cols) pair; "
                             f"got a sequence of length {len(bias_reg)}")
        return (check_scalar(bias_reg[0], f"{name}[0]", low=0),
                check_scalar(bias_reg[1], f"{name}[1]", low=0))
    return check_reg(bias_reg, name)


def check_implicit(implicit, name: str = "implicit"):
    """``"auto"``, ``None`` (no implicit prior) or a finite real number > 0 (its penalty)."""
    if implicit is None or _is_auto(implicit, name, "'auto', None or a number > 0"):
        return implicit
    return check_scalar(implicit, name, low=0, include_low=False)
