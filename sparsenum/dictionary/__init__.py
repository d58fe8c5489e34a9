"""Sparse dictionary learning: batch OMP, K-SVD, calibration-guided compression, online DL.

Orientation follows scikit-learn: signals are rows, dictionaries hold one atom per row
(``X ~= codes @ D``), and sparse codes are ``scipy.sparse`` CSR matrices (samples x atoms).
"""

from ..utils._lazy import lazy_exports
from .cospadi import CompressionResult, compress_layer, sparse_dictionary_budget
from .ksvd import KSVDResult, ksvd
from .layers import LowRankLayer, SparseDictionaryLayer
from .omp import batch_omp

__all__ = [
    "KSVD",
    "CalibratedDictionaryCompressor",
    "CompressionResult",
    "KSVDResult",
    "LowRankLayer",
    "OnlineOrthogonalDictionary",
    "SparseDictionaryLayer",
    "batch_omp",
    "compress_layer",
    "ksvd",
    "sparse_dictionary_budget",
]

# estimators import scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {
    "CalibratedDictionaryCompressor": ".estimators",
    "KSVD": ".estimators",
    "OnlineOrthogonalDictionary": ".online",
})
