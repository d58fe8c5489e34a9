"""Result types of sparsenum.graph's solvers."""

from __future__ import annotations

import dataclasses

import numpy as np

from sparsenum.base import SolverResult

__all__ = ["LaplacianSolveResult", "SparsifierResult"]


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class SparsifierResult(SolverResult):
    """A spectral sparsifier ``H`` of a graph ``G``, from :func:`~sparsenum.graph.sparsify`.

    Attributes
    ----------
    sparsifier : same type as the input graph
        ``H``: the kept edges with their weights in ``H`` (networkx: same nodes and labels,
        kept edges' attributes).
    edge_mask : ndarray of bool, shape (n_edges,)
        Which edges of ``G`` (edge order: upper triangle, CSR order) ``H`` keeps.
    weights : ndarray of shape (n_edges,)
        ``H``'s weight on each edge of ``G`` (0 where dropped); equal to ``G``'s for the tree
        methods, reweighted ``w_e * count_e / (q p_e)`` for ``"resistance"``.
    condition_number : float
        Estimated ``kappa(L_G, L_H)`` (Lanczos, relative accuracy about 1e-3); ``inf`` if ``H``
        has more connected components than ``G``.
    offtree_density : float
        ``(|E_H| - (n - c)) / n`` for ``n`` nodes in ``c`` components.
    tree : same type as the input graph, or None
        The spanning forest the tree methods started from (None for ``"resistance"``).
    converged, n_iter, history
        ``n_iter`` counts densification rounds; ``converged`` is whether ``target_condition``
        was met (without a target: True unless a callback stopped the densification before the
        budget was used). ``history`` has one row per round (row 0: the
        tree alone) with the ``condition_number`` estimate as criterion and the columns
        ``n_edges`` and ``offtree_density``.
    """

    sparsifier: object
    edge_mask: np.ndarray
    weights: np.ndarray
    condition_number: float
    offtree_density: float
    tree: object


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class LaplacianSolveResult(SolverResult):
    """Solution of ``L_G x = b`` from :func:`~sparsenum.graph.solve_laplacian`.

    Attributes
    ----------
    x : ndarray of shape (n,)
        The solution with zero mean on every connected component.
    residual_norm : float
        ``||b - L_G x|| / ||b||``, recomputed from ``x`` (0 when ``b = 0``).
    converged, n_iter, history
        ``n_iter`` counts conjugate-gradient iterations; the history's criterion is the
        relative residual per iteration (the last row recomputed from ``x``).
    """

    x: np.ndarray
    residual_norm: float
