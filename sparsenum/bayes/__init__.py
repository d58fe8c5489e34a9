"""Sparse Bayesian recovery: SBL, pattern-coupled SBL, Turbo-VBI for structured supports,
Kronecker SBL, and regressors.

Functions take a design ``A`` (real or complex) and observations ``y`` and return the posterior
of ``x`` in ``y = A x + w``; the estimators :class:`SBLRegressor` and :class:`TurboVBIRegressor`
wrap them for scikit-learn.
"""

from ..utils._lazy import lazy_exports
from ._result import KroneckerSBLResult, SBLResult, TurboVBIResult
from .kronecker import kronecker_sbl
from .sbl import sparse_bayesian_learning
from .turbo_vbi import turbo_vbi

__all__ = [
    "KroneckerSBLResult",
    "SBLRegressor",
    "SBLResult",
    "TurboVBIRegressor",
    "TurboVBIResult",
    "kronecker_sbl",
    "sparse_bayesian_learning",
    "turbo_vbi",
]

# estimators import scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {
    "SBLRegressor": ".estimators",
    "TurboVBIRegressor": ".estimators",
})
