"""Spectral graph sparsification: effective resistances, spanning and low-stretch trees,
GRASS / feGRASS sparsifiers to a target condition number, Spielman-Srivastava sampling, and
Laplacian solves preconditioned by a sparsifier."""

from ..utils._lazy import lazy_exports
from ._result import LaplacianSolveResult, SparsifierResult
from .condition import relative_condition_number
from .resistance import effective_resistance
from .solve import solve_laplacian
from .sparsification import sparsify
from .trees import spanning_tree, tree_stretch

__all__ = [
    "LaplacianSolveResult",
    "SparsifierResult",
    "SpectralSparsifier",
    "effective_resistance",
    "relative_condition_number",
    "solve_laplacian",
    "spanning_tree",
    "sparsify",
    "tree_stretch",
]

# the estimator imports scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {"SpectralSparsifier": ".dynamic"})
