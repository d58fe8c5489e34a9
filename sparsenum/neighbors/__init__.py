"""Approximate nearest neighbours: an HNSW index in numba and a scikit-learn kNN transformer."""

from .hnsw import HNSWIndex
from .transformer import HNSWTransformer

__all__ = ["HNSWIndex", "HNSWTransformer"]
