"""Low-rank matrix completion by alternating minimisation: exact, CG and sketch-preconditioned
row solves, biases and ALS-WR regularisation chosen on a validation split, an imputer and a
ratings regressor. Dask arrays chunked by rows are accepted; Dask is imported only then.
"""

from ..utils._lazy import lazy_exports
from ._result import CompletionResult
from .altmin import altmin_complete

__all__ = [
    "AltMinImputer",
    "AltMinRatingsRegressor",
    "CompletionResult",
    "altmin_complete",
]

# estimators import scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {
    "AltMinImputer": ".estimators",
    "AltMinRatingsRegressor": ".estimators",
})
