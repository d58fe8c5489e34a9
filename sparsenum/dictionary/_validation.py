"""Input checks shared by the dictionary module's public functions and estimators."""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from ..utils import check_array, check_int, check_scalar, check_sparse
from ._scaling import row_norms


def check_signals(X, name: str = "X") -> np.ndarray:
    """Signals as rows: a finite 2-D float64 array (never modified)."""
    return check_array(X, name, ndim=2)


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
