"""Sketching for least squares: dense and sparse sketches, sketch-and-solve with the l_inf
guarantee of Song, Ye, Yin & Zhang (ICML 2023), sketch-and-precondition, and a regressor.

Dask arrays chunked by rows are accepted everywhere ``A`` is; Dask is imported only then.
"""

from ..utils._lazy import lazy_exports
from ._result import LstsqResult
from ._sketch_choice import auto_oversampling
from .linf import linf_error_bound, linf_sketch_size
from .lstsq import RankDeficientWarning, sketch_and_precondition, sketch_and_solve
from .operators import SRHT, CountSketch, GaussianSketch, SketchOperator, SparseSign, make_sketch

__all__ = [
    "SRHT",
    "CountSketch",
    "GaussianSketch",
    "LstsqResult",
    "RankDeficientWarning",
    "SketchOperator",
    "SketchedRegression",
    "SparseSign",
    "auto_oversampling",
    "linf_error_bound",
    "linf_sketch_size",
    "make_sketch",
    "sketch_and_precondition",
    "sketch_and_solve",
]

# estimators import scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {
    "SketchedRegression": ".estimators",
})
