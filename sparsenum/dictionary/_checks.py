"""Input checks shared by the dictionary module's public functions and estimators."""

from __future__ import annotations

import math
import os

import numpy as np
import scipy.sparse as sp

from sparsenum.utils import check_array, check_int, check_scalar, check_sparse


def check_signals(X, name: str = "X") -> np.ndarray:
    """Signals as rows: a finite 2-D float64 array (never modified)."""
    return check_array(X, name, ndim=2)


# Entries within [2**-SAFE_EXPONENT, 2**SAFE_EXPONENT] have squares and products far from
# float64's overflow and underflow; data outside are rescaled by a power of two (exactly).
SAFE_EXPONENT = 200


def power_of_two_scale(A: np.ndarray) -> float:
    """1 if ``max |A|`` lies in the safe band, else the power of two ``2**e > max |A|``.

    Dividing by it is exact (it only shifts exponents) and brings the entries below 1, so
    the squares and products of the kernels neither overflow nor underflow.
    """
    peak = float(np.max(np.abs(A))) if A.size else 0.0
    if peak == 0.0 or 2.0 ** -SAFE_EXPONENT <= peak <= 2.0 ** SAFE_EXPONENT:
        return 1.0
    return math.ldexp(1.0, math.frexp(peak)[1])


def row_norms(A: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows, computed without overflow or underflow of the squares."""
    peak = np.max(np.abs(A), axis=1) if A.shape[1] else np.zeros(A.shape[0])
    safe = np.where(peak > 0, peak, 1.0)[:, None]
    scaled = A / safe
    return peak * np.sqrt(np.einsum("ij,ij->i", scaled, scaled))


def check_dictionary(D, n_features: int, name: str = "D") -> tuple[np.ndarray, np.ndarray]:
    """A finite ``(n_components, n_features)`` dictionary and its atom norms."""
    D = check_array(D, name, ndim=2)
    if D.shape[1] != n_features:
        raise ValueError(f"{name} must have one column per signal feature, shape (n_components, "
                         f"{n_features}); got shape {D.shape}")
    norms = row_norms(D)
    if not np.any(norms > 0):
        raise ValueError(f"{name} must have at least one nonzero atom (row); all "
                         f"{D.shape[0]} atoms are zero")
    return D, norms


def check_n_nonzero(n_nonzero, n_atoms: int, n_features: int, *, allow_none: bool = True,
                    name: str = "n_nonzero") -> int | None:
    """1 <= n_nonzero <= min(n_components, n_features): more atoms than that are dependent."""
    if n_nonzero is None and allow_none:
        return None
    limit = min(n_atoms, n_features)
    value = check_int(n_nonzero, name, low=1)
    if value > limit:
        which = "n_components" if n_atoms <= n_features else "the signal dimension n_features"
        raise ValueError(f"{name} must be <= min(n_components, n_features) = {limit} ({which});"
                         f" got {value}")
    return value


def _memory_bytes() -> int | None:
    """Physical memory of the machine, if the platform says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def check_memory(n_bytes: float, name: str, value, what: str) -> None:
    """Refuse a size whose arrays would not fit in the machine's memory, saying how much."""
    available = _memory_bytes()
    if available is not None and n_bytes > available:
        raise ValueError(f"{name}={value} would need {n_bytes / 2**30:,.1f} GiB for {what}, "
                         f"more than this machine's {available / 2**30:,.1f} GiB of memory")


def check_tol(tol, name: str = "tol") -> float | None:
    return check_scalar(tol, name, low=0.0, allow_none=True)


def check_codes(codes, n_atoms: int, name: str = "X"):
    """Codes for ``inverse_transform``: sparse or dense, ``(n_samples, n_components)``, finite."""
    if sp.issparse(codes):
        codes = check_sparse(codes, name, format="csr")
    else:
        codes = check_array(codes, name, ndim=2)
    if codes.shape[1] != n_atoms:
        raise ValueError(f"{name} must hold codes of shape (n_samples, n_components={n_atoms}); "
                         f"got shape {codes.shape}")
    return codes


def padded_to_csr(idx: np.ndarray, val: np.ndarray, cnt: np.ndarray, n_atoms: int) -> sp.csr_matrix:
    """Padded per-row codes (``idx[i, :cnt[i]]`` sorted) as a CSR matrix (samples x atoms)."""
    n_samples = idx.shape[0]
    indptr = np.zeros(n_samples + 1, dtype=np.int64)
    np.cumsum(cnt, out=indptr[1:])
    if idx.shape[1]:
        mask = np.arange(idx.shape[1])[None, :] < cnt[:, None]
        indices, data = idx[mask], val[mask]
    else:
        indices, data = np.zeros(0, np.int64), np.zeros(0)
    codes = sp.csr_matrix((data, indices, indptr), shape=(n_samples, n_atoms))
    codes.has_sorted_indices = True
    return codes


def csr_to_padded(codes: sp.csr_matrix, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`padded_to_csr` (rows with more than ``width`` entries are an error)."""
    codes = sp.csr_matrix(codes)
    codes.sort_indices()
    cnt = np.diff(codes.indptr).astype(np.int64)
    if cnt.size and cnt.max() > width:
        raise ValueError(f"codes have up to {cnt.max()} nonzeros per row; expected <= {width}")
    idx = np.zeros((codes.shape[0], max(width, 1)), dtype=np.int64)
    val = np.zeros((codes.shape[0], max(width, 1)))
    mask = np.arange(idx.shape[1])[None, :] < cnt[:, None]
    idx[mask] = codes.indices
    val[mask] = codes.data
    return idx, val, cnt


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
