"""Approximate nearest neighbours: an HNSW index in numba, a sharded index over Dask workers and
a scikit-learn kNN transformer."""

from ..utils._lazy import lazy_exports
from .hnsw import HNSWIndex
from .sharded import ShardedHNSWIndex

__all__ = ["HNSWIndex", "HNSWTransformer", "ShardedHNSWIndex"]

# estimators import scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {
    "HNSWTransformer": ".transformer",
})
