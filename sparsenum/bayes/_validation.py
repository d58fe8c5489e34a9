"""Input checks of sparsenum.bayes: real or complex designs, factors, supports, priors.

The generic checks of :mod:`sparsenum.utils` accept real arrays only; sparse Bayesian recovery is
defined for complex data too (a complex Gaussian prior and noise), so the design and the
observations are checked here. Float64 or complex128 throughout.
"""

from __future__ import annotations

import numpy as np

from ..utils import check_array, check_int, check_scalar
from ..utils.validation import check_callback, check_verbose, describe_value  # noqa: F401 (shared)

# The E-step factors a min(M, N) x min(M, N) matrix; refuse sizes whose factor alone would not
# fit in the memory of an ordinary machine, and say how much it would need.
_MAX_FACTOR_BYTES = 8 * 2**30


def _as_numeric(x, name: str, ndim: int) -> np.ndarray:
    return check_array(x, name, ndim=ndim, dtype=None, allow_complex=True)


def _common_dtype(*arrays: np.ndarray) -> np.dtype:
    return np.dtype(np.complex128 if any(a.dtype.kind == "c" for a in arrays) else np.float64)


def _check_factor_size(m: int, n: int, dtype: np.dtype, name: str) -> None:
    k = min(m, n)
    need = k * k * dtype.itemsize
    if need > _MAX_FACTOR_BYTES:
        raise ValueError(f"{name} of shape ({m}, {n}) needs a {k} x {k} factor "
                         f"({need / 2**30:.1f} GiB) in the E-step; the limit is "
                         f"{_MAX_FACTOR_BYTES / 2**30:.0f} GiB")


def check_design(A, y) -> tuple[np.ndarray, np.ndarray]:
    """``A`` (M, N) and ``y`` (M,) as float64, or both complex128 when either is complex.

    A complex ``y`` with a real ``A`` is a complex problem with a real design: ``A`` is
    promoted (the posterior of a complex ``x`` is then computed).
    """
    shape = getattr(A, "shape", None)
    if isinstance(shape, tuple) and len(shape) == 2:
        # before the conversion, which would copy a huge (possibly strided) input
        _check_factor_size(int(shape[0]), int(shape[1]), np.dtype(np.float64), "A")
    A = _as_numeric(A, "A", 2)
    y = _as_numeric(y, "y", 1)
    if y.shape[0] != A.shape[0]:
        raise ValueError(f"y must have one entry per row of A: A has shape {A.shape}, "
                         f"y has {y.shape[0]} entries")
    dtype = _common_dtype(A, y)
    _check_factor_size(A.shape[0], A.shape[1], dtype, "A")
    return np.array(A, dtype=dtype, order="C"), np.array(y, dtype=dtype)


def check_factors(factors, y) -> tuple[list[np.ndarray], np.ndarray]:
    """The Kronecker factors ``A_1, ..., A_D`` and ``y`` of length ``M_1 ... M_D``."""
    if isinstance(factors, np.ndarray) or not isinstance(factors, (list, tuple)):
        raise TypeError("factors must be a list or tuple of 2-D arrays (the A_m of "
                        f"A = A_1 kron ... kron A_D); got {describe_value(factors)}")
    if len(factors) == 0:
        raise ValueError("factors must hold at least one matrix; got an empty sequence")
    mats = [_as_numeric(f, f"factors[{i}]", 2) for i, f in enumerate(factors)]
    y = _as_numeric(y, "y", 1)
    rows = [f.shape[0] for f in mats]
    if int(np.prod(rows)) != y.shape[0]:
        raise ValueError(f"factors' row counts {rows} multiply to {int(np.prod(rows))}, "
                         f"but y has {y.shape[0]} entries")
    dtype = _common_dtype(*mats, y)
    for i, f in enumerate(mats):
        _check_factor_size(f.shape[0], f.shape[1], dtype, f"factors[{i}]")
    return [np.array(f, dtype=dtype, order="C") for f in mats], np.array(y, dtype=dtype)


def check_noise_var(noise_var) -> float | None:
    """``None`` (learned) or a fixed noise variance > 0."""
    return check_scalar(noise_var, "noise_var", low=0.0, include_low=False, allow_none=True)


def check_prior(prior, name: str) -> tuple[float, float]:
    """A Gamma hyperprior ``(shape, rate)`` with both entries finite and >= 0."""
    if isinstance(prior, (str, bytes)) or not isinstance(prior, (tuple, list, np.ndarray)) \
            or len(prior) != 2:
        raise TypeError(f"{name} must be a pair (shape, rate) of numbers >= 0; "
                        f"got {describe_value(prior)}")
    shape = check_scalar(prior[0], f"{name}[0] (shape)", low=0.0)
    rate = check_scalar(prior[1], f"{name}[1] (rate)", low=0.0)
    return shape, rate


def check_transition(transition) -> tuple[float, float] | None:
    """``None`` (learned) or ``(p01, p10)`` with both strictly between 0 and 1."""
    if transition is None:
        return None
    if isinstance(transition, (str, bytes)) or \
            not isinstance(transition, (tuple, list, np.ndarray)) or len(transition) != 2:
        raise TypeError("transition must be None or a pair (p01, p10) of probabilities; "
                        f"got {describe_value(transition)}")
    p01 = check_scalar(transition[0], "transition[0] (p01)", low=0.0, high=1.0,
                       include_low=False, include_high=False)
    p10 = check_scalar(transition[1], "transition[1] (p10)", low=0.0, high=1.0,
                       include_low=False, include_high=False)
    return p01, p10


def check_support_shape(support: str, shape, n: int) -> tuple[int, int] | None:
    """``shape=(H, W)`` with ``H * W == n`` for ``support="mrf"``; ``None`` otherwise."""
    if support != "mrf":
        if shape is not None:
            raise ValueError(f"shape applies to support='mrf' only; got shape={shape!r} "
                             f"with support={support!r}")
        return None
    if shape is None:
        raise ValueError(f"support='mrf' needs shape=(H, W) with H * W = {n} (the number of "
                         "columns of A, in C order); got shape=None")
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list)) \
            or len(shape) != 2:
        raise TypeError(f"shape must be a pair (H, W) of integers; got {describe_value(shape)}")
    h = check_int(shape[0], "shape[0]", low=1)
    w = check_int(shape[1], "shape[1]", low=1)
    if h * w != n:
        raise ValueError(f"shape {(h, w)} has {h * w} cells, but A has {n} columns")
    return h, w

