"""Optimal transport: stabilised Sinkhorn, Sinkhorn-Newton-Sparse, sparsity-constrained OT.

Functions take weights ``a``, ``b`` and a cost matrix ``C`` and return a
:class:`TransportResult`; the estimators :class:`EntropicTransport` and
:class:`SparseTransport` map source samples onto target samples.
"""

from ..utils._lazy import lazy_exports
from ._result import TransportResult
from .sinkhorn import sinkhorn
from .sns import sinkhorn_newton_sparse
from .sparse_constrained import sparsity_constrained_ot

__all__ = [
    "EntropicTransport",
    "SparseTransport",
    "TransportResult",
    "sinkhorn",
    "sinkhorn_newton_sparse",
    "sparsity_constrained_ot",
]

# estimators import scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {
    "EntropicTransport": ".estimators",
    "SparseTransport": ".estimators",
})
