"""Optimal transport: stabilised Sinkhorn, Sinkhorn-Newton-Sparse, sparsity-constrained OT.

Functions take weights ``a``, ``b`` and a cost matrix ``C`` and return a
:class:`TransportResult`; the estimators :class:`EntropicTransport` and
:class:`SparseTransport` map source samples onto target samples.
"""

from ._result import TransportResult
from .estimators import EntropicTransport, SparseTransport
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
