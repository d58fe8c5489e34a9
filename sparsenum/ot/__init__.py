"""Optimal transport: stabilised Sinkhorn, Sinkhorn-Newton-Sparse, sparsity-constrained OT.

Functions take weights ``a``, ``b`` and a cost matrix ``C`` and return a
:class:`TransportResult`; :func:`emd` is the exact reference (POT's network simplex); the
estimators :class:`EntropicTransport` and :class:`SparseTransport` map source samples onto
target samples.
"""

from ..utils._lazy import lazy_exports
from ._result import TransportResult
from .emd import emd
from .sinkhorn import sinkhorn
from .sns import sinkhorn_newton_sparse
from .sparse_constrained import sparsity_constrained_ot

__all__ = [
    "EntropicTransport",
    "SparseTransport",
    "TransportResult",
    "emd",
    "sinkhorn",
    "sinkhorn_newton_sparse",
    "sparsity_constrained_ot",
]

# estimators import scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {
    "EntropicTransport": ".estimators",
    "SparseTransport": ".estimators",
})
