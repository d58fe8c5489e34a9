"""Input checks of the privacy module, on top of sparsenum.utils."""

from __future__ import annotations

import numpy as np

from ..utils import check_array, check_consistent_length, check_scalar


def check_epsilon(epsilon, name: str = "epsilon") -> float:
    """A privacy budget: a finite number > 0."""
    return check_scalar(epsilon, name, low=0.0, include_low=False)


def check_delta(delta, name: str = "delta") -> float:
    """A failure probability in the open interval (0, 1)."""
    return check_scalar(delta, name, low=0.0, high=1.0, include_low=False, include_high=False)


def check_bound(value, name: str) -> float:
    """A public bound (a clipping radius, a norm bound): a finite number > 0."""
    return check_scalar(value, name, low=0.0, include_low=False)


def check_design(X, y, name_X: str = "X", name_y: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Finite float64 ``X`` (n, d) in C order and ``y`` (n,): the users' private records."""
    X = check_array(X, name_X, ndim=2)
    y = check_array(y, name_y, ndim=1)
    check_consistent_length(**{name_X: X, name_y: y})
    return X, y
