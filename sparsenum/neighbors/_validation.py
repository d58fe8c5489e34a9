"""Input checks specific to the HNSW index (vectors, ids, filters), on top of sparsenum.utils."""

from __future__ import annotations

import numpy as np

from ..utils import check_array
from ..utils.validation import describe_value

METRICS = ("l2", "ip", "cosine")


def check_vectors(X, name: str, dim: int) -> np.ndarray:
    """A finite float32 C-contiguous [n, dim] array (one 1-D vector is read as one row)."""
    with np.errstate(over="ignore"):  # values beyond float32 become inf and are reported
        arr = check_array(X, name, ndim=(1, 2), dtype=np.float32, min_size=0)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.shape[1] != dim:
        raise ValueError(f"{name} must have dim={dim} columns (the index dimension); got shape "
                         f"{arr.shape}")
    return arr


def check_ids(ids, name: str = "ids") -> np.ndarray:
    """A 1-D int64 array of nonnegative integer ids (integer dtype required, not float)."""
    if ids is None or isinstance(ids, (str, bytes)):
        raise TypeError(f"{name} must be an array of nonnegative integers; got "
                        f"{describe_value(ids)}")
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.dtype.kind not in "iu" or arr.dtype == np.bool_:
        if arr.size == 0:
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must hold integers; got dtype {arr.dtype} in "
                            f"{describe_value(arr)}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional; got shape {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} must fit in int64; got max {arr.max()}")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must be nonnegative; got min {arr.min()}")
    return arr


def check_no_duplicates(ids: np.ndarray, name: str = "ids") -> None:
    unique, counts = np.unique(ids, return_counts=True)
    if unique.size != ids.size:
        dup = unique[counts > 1][:5].tolist()
        raise ValueError(f"{name} must not repeat an id within one call; got duplicates {dup}")
