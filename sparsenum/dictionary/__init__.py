"""Sparse dictionary learning: batch OMP, K-SVD, calibration-guided compression, online DL.

Orientation follows scikit-learn: signals are rows, dictionaries hold one atom per row
(``X ~= codes @ D``), and sparse codes are ``scipy.sparse`` CSR matrices (samples x atoms).
"""

from .compressor import CalibratedDictionaryCompressor
from .cospadi import CompressionResult, compress_layer, sparse_dictionary_budget
from .ksvd import KSVDResult, ksvd
from .ksvd_estimator import KSVD
from .layers import LowRankLayer, SparseDictionaryLayer
from .omp import batch_omp
from .online_orthogonal import OnlineOrthogonalDictionary

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
