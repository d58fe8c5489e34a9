"""Approximate nearest neighbours: an HNSW index in numba and a scikit-learn kNN transformer."""

from ..utils._lazy import lazy_exports
from .hnsw import HNSWIndex

__all__ = ["HNSWIndex", "HNSWTransformer"]

# estimators import scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {
    "HNSWTransformer": ".transformer",
})
