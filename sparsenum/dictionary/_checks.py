"""Input checks shared by the dictionary module's public functions and estimators."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sparsenum.utils import check_array, check_int, check_scalar


def check_signals(X, name: str = "X") -> np.ndarray:
    """Signals as rows: a finite 2-D float64 array (never modified)."""
    return check_array(X, name, ndim=2)


def check_dictionary(D, n_features: int, name: str = "D") -> tuple[np.ndarray, np.ndarray]:
    """A finite ``(n_atoms, n_features)`` dictionary and its atom norms."""
    D = check_array(D, name, ndim=2)
    if D.shape[1] != n_features:
        raise ValueError(f"{name} must have one column per signal feature, shape (n_atoms, "
                         f"{n_features}); got shape {D.shape}")
    norms = np.sqrt(np.einsum("ij,ij->i", D, D))
    if not np.any(norms > 0):
        raise ValueError(f"{name} must have at least one nonzero atom (row); all "
                         f"{D.shape[0]} atoms are zero")
    return D, norms


def check_n_nonzero(n_nonzero, n_atoms: int, n_features: int, *, allow_none: bool = True,
                    name: str = "n_nonzero") -> int | None:
    """1 <= n_nonzero <= min(n_atoms, n_features): more atoms than that are linearly dependent."""
    if n_nonzero is None and allow_none:
        return None
    limit = min(n_atoms, n_features)
    value = check_int(n_nonzero, name, low=1)
    if value > limit:
        which = "n_atoms" if n_atoms <= n_features else "the signal dimension n_features"
        raise ValueError(f"{name} must be <= min(n_atoms, n_features) = {limit} ({which}); "
                         f"got {value}")
    return value


def check_tol(tol, name: str = "tol") -> float | None:
    return check_scalar(tol, name, low=0.0, allow_none=True)


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
