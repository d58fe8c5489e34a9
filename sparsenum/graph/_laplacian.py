"""Laplacians, connected components, and solves with a grounded (one node per component) factor.

A connected component's Laplacian is singular with the constant vector as null space; removing
the row and column of one node per component (grounding) leaves a positive definite matrix. A
solve on it returns the solution whose grounded entries are zero; differences across an edge, and
hence resistances, do not depend on which node was grounded.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ._graphs import GraphData

__all__ = ["GroundedSolver", "components", "laplacian"]


def laplacian(data: GraphData, weights: np.ndarray | None = None,
              mask: np.ndarray | None = None) -> sp.csr_matrix:
    """``L = D - A`` as CSR, for the edges in ``mask`` with ``weights``."""
    A = data.adjacency(weights, mask)
    degrees = np.asarray(A.sum(axis=1)).ravel()
    return (sp.diags(degrees) - A).tocsr()


def components(data: GraphData, mask: np.ndarray | None = None) -> tuple[int, np.ndarray]:
    """Number of connected components and each node's component label (labels in node order)."""
    if data.m == 0 or (mask is not None and not mask.any()):
        return data.n, np.arange(data.n)
    r, c = data.rows, data.cols
    if mask is not None:
        r, c = r[mask], c[mask]
    A = sp.coo_matrix((np.ones(r.shape[0]), (r, c)), shape=(data.n, data.n))
    n_comp, labels = connected_components(A, directed=False)
    return int(n_comp), labels.astype(np.int64)


def ground_nodes(labels: np.ndarray, n_comp: int) -> np.ndarray:
    """The lowest-index node of each component (the grounded nodes), as a boolean mask."""
    first = np.full(n_comp, labels.shape[0], dtype=np.int64)
    np.minimum.at(first, labels, np.arange(labels.shape[0]))
    grounded = np.zeros(labels.shape[0], bool)
    grounded[first] = True
    return grounded


class GroundedSolver:
    """Solves ``L x = b`` for a Laplacian ``L`` with one node grounded per component.

    The factorization is SuperLU with a symmetric fill-reducing ordering and no pivoting (the
    grounded Laplacian is symmetric positive definite, so this is a Cholesky-like ``LDL^T``).
    """

    def __init__(self, L: sp.csr_matrix, grounded: np.ndarray):
        from scipy.sparse.linalg import splu

        self.n = L.shape[0]
        self.free = np.flatnonzero(~grounded)
        self.L_free = L[self.free][:, self.free].tocsc()
        self._lu = None
        if self.free.size:
            self._lu = splu(self.L_free, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                            options={"SymmetricMode": True})

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``x`` with ``L x = b`` on the free nodes and ``x = 0`` on the grounded ones."""
        x = np.zeros(b.shape, dtype=np.float64)
        if self._lu is not None:
            x[self.free] = self._lu.solve(np.ascontiguousarray(b[self.free]))
        return x

    def solve_free(self, b_free: np.ndarray) -> np.ndarray:
        """The solve restricted to the free nodes (inputs and outputs of length ``len(free)``)."""
        if self._lu is None:
            return np.zeros_like(b_free)
        return self._lu.solve(np.ascontiguousarray(b_free))


def project_out_constants(x: np.ndarray, labels: np.ndarray, n_comp: int) -> np.ndarray:
    """``x`` minus its mean on each component (the component of the null space of ``L``)."""
    counts = np.bincount(labels, minlength=n_comp)
    if x.ndim == 1:
        means = np.bincount(labels, weights=x, minlength=n_comp) / counts
        return x - means[labels]
    sums = np.zeros((n_comp, x.shape[1]))
    np.add.at(sums, labels, x)
    return x - (sums / counts[:, None])[labels]
