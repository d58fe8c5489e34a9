"""Input checks specific to the HNSW index (metrics, vectors, ids, magnitudes), on top of
sparsenum.utils."""

from __future__ import annotations

import warnings

import numpy as np

from ..utils import check_array, check_one_of
from ..utils.validation import (
    check_verbose,  # noqa: F401 (shared)
    describe_value,
)

# One vocabulary for the index and the transformer, in scikit-learn's words.
METRICS = ("euclidean", "sqeuclidean", "cosine", "ip")
# Spellings published before, accepted for one more release with a FutureWarning.
LEGACY_METRICS = {"l2": "sqeuclidean"}

# Float32 range of the distances. A squared distance between vectors of norm at most MAX_NORM is
# at most (2 MAX_NORM)^2 = 2^126 < float32's largest value 2^128 (inner products likewise), so no
# distance the index computes can overflow. When every vector has a norm below MIN_SCALE, every
# squared distance between them lies under 2^-118, a few binades above float32's smallest normal
# number 2^-126: the distances of near neighbours fall among the subnormals, lose their digits and
# become ties (all zero, for vectors of norm 1e-25).
MAX_NORM = 2.0**62
MIN_SCALE = 2.0**-60


def check_metric(metric, name: str = "metric", *, legacy: dict = LEGACY_METRICS,
                 stacklevel: int = 3) -> str:
    """One of :data:`METRICS`; a legacy spelling is translated with a FutureWarning (pointing
    ``stacklevel`` frames up: at the user's call)."""
    if isinstance(metric, str) and metric in legacy:
        warnings.warn(f"{name}={metric!r} is deprecated and will be removed in the next release; "
                      f"use {name}={legacy[metric]!r} (the same distances)", FutureWarning,
                      stacklevel=stacklevel)
        return legacy[metric]
    return check_one_of(metric, name, METRICS)


def check_vectors(X, name: str, dim: int) -> np.ndarray:
    """A finite float32 C-contiguous [n, dim] array (one 1-D vector is read as one row) whose
    norms stay within :data:`MAX_NORM`."""
    # values beyond float32 become inf and are reported (a sum of +inf and -inf is NaN)
    with np.errstate(over="ignore", invalid="ignore"):
        arr = check_array(X, name, ndim=(1, 2), dtype=np.float32, min_size=0)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.shape[1] != dim:
        raise ValueError(f"{name} must have dim={dim} columns (the index dimension); got shape "
                         f"{arr.shape}")
    # |entries| <= MAX_NORM / sqrt(dim) bounds the norms: one cheap pass on ordinary data
    if arr.size and float(np.abs(arr).max()) > MAX_NORM / np.sqrt(dim):
        largest = float(max_norm(arr))
        if largest > MAX_NORM:
            raise ValueError(
                f"{name} has vectors of norm up to {largest:.3g}; the index computes distances "
                f"in float32, where squared distances between vectors of norm above "
                f"{MAX_NORM:.3g} (2**62) overflow. Divide the vectors (and the queries) by a "
                "common factor: the neighbours do not change")
    return arr


def max_norm(arr: np.ndarray) -> float:
    """Largest Euclidean norm of the rows of ``arr`` (float64 arithmetic), 0 for no rows."""
    if arr.shape[0] == 0:
        return 0.0
    wide = arr.astype(np.float64)
    return float(np.sqrt(np.einsum("ij,ij->i", wide, wide).max()))


def check_scale(largest: float, name: str) -> None:
    """Reject an index whose vectors are all so small that float32 distances underflow."""
    if 0.0 < largest < MIN_SCALE:
        raise ValueError(
            f"{name} and the vectors already in the index all have norms below {MIN_SCALE:.3g} "
            f"(2**-60; the largest is {largest:.3g}): their squared distances underflow "
            "float32, which the index computes in, and would come out as ties or zeros. "
            "Multiply the vectors (and the queries) by a common factor: the neighbours do not "
            "change")


def check_ids(ids, name: str = "ids") -> np.ndarray:
    """A 1-D int64 array of nonnegative integer ids (integer dtype required, not float)."""
    if ids is None or isinstance(ids, (str, bytes)):
        raise TypeError(f"{name} must be an array of nonnegative integers; got "
                        f"{describe_value(ids)}")
    try:
        arr = np.asarray(ids)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of nonnegative integers; got "
                        f"{describe_value(ids)} ({exc})") from None
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
