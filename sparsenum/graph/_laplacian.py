"""Laplacians, connected components, and solves with a grounded (one node per component) factor.

A connected component's Laplacian is singular with the constant vector as null space; removing
the row and column of one node per component (grounding) leaves a positive definite matrix. A
solve on it returns the solution whose grounded entries are zero; differences across an edge, and
hence resistances, do not depend on which node was grounded.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from . import _elimination
from ._graphs import GraphData

__all__ = ["GroundedSolver", "components", "laplacian"]


@dataclasses.dataclass(frozen=True)
class _SolverTuning:
    # elimination skips a path node whose neighbour has a longer adjacency list than this
    # (each such step scans the neighbours' lists): hubs stay in the core, the work stays linear
    max_scan: int = 64


TUNING = _SolverTuning()


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
    With ``eliminate=True`` the nodes of one or two neighbours are first eliminated exactly
    (see :mod:`._elimination`) and SuperLU factorizes only the remaining core: far cheaper for
    a tree plus a few edges (a sparsifier), no gain on a mesh.
    """

    def __init__(self, L: sp.csr_matrix, grounded: np.ndarray, *, eliminate: bool = False):
        self.n = L.shape[0]
        self.free = np.flatnonzero(~grounded)
        self._L = L
        self._L_free = None
        self._lu = None
        self._steps = None
        self._grounded = np.flatnonzero(grounded)
        if not self.free.size:
            return
        if eliminate:
            L = L.tocsr()
            steps = _elimination.eliminate(L.indptr.astype(np.int64), L.indices.astype(np.int64),
                                           L.data.astype(np.float64), grounded, TUNING.max_scan)
            self._steps = steps[:6]
            core_indptr, core_indices, core_weights = steps[6:]
            in_core = ~grounded
            in_core[self._steps[0]] = False
            core_free = np.flatnonzero(in_core)
            self._core_free = core_free
            if core_free.size:
                A = sp.csr_matrix((core_weights, core_indices, core_indptr), shape=L.shape)
                L_core = (sp.diags(np.asarray(A.sum(axis=1)).ravel()) - A).tocsr()
                self._lu = _factorize(L_core[core_free][:, core_free].tocsc())
        else:
            self._core_free = self.free
            self._lu = _factorize(self.L_free)

    @property
    def L_free(self) -> sp.csc_matrix:
        """The grounded Laplacian (free rows and columns)."""
        if self._L_free is None:
            self._L_free = self._L[self.free][:, self.free].tocsc()
        return self._L_free

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``x`` with ``L x = b`` on the free nodes and ``x = 0`` on the grounded ones."""
        if self._steps is None:
            x = np.zeros(b.shape, dtype=np.float64)
            if self._lu is not None:
                x[self.free] = self._lu.solve(np.ascontiguousarray(b[self.free]))
            return x
        if b.size == 0:
            return np.zeros(b.shape, dtype=np.float64)
        B = np.array(b, dtype=np.float64, order="C").reshape(self.n, -1)
        _elimination.forward(*self._steps, B)
        X = np.empty_like(B)  # every row is set: grounded, core or eliminated
        X[self._grounded] = 0.0
        if self._lu is not None:
            X[self._core_free] = self._lu.solve(np.ascontiguousarray(B[self._core_free]))
        _elimination.backward(*self._steps, B, X)
        return X.reshape(b.shape)

    def solve_free(self, b_free: np.ndarray) -> np.ndarray:
        """The solve restricted to the free nodes (inputs and outputs of length ``len(free)``)."""
        if self._lu is None and self._steps is None:
            return np.zeros_like(b_free)
        if self._steps is None:
            return self._lu.solve(np.ascontiguousarray(b_free))
        b = np.zeros((self.n, *b_free.shape[1:]))
        b[self.free] = b_free
        return self.solve(b)[self.free]


def _factorize(L_free: sp.csc_matrix):
    from scipy.sparse.linalg import splu

    return splu(L_free, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                options={"SymmetricMode": True})


def project_out_constants(x: np.ndarray, labels: np.ndarray, n_comp: int) -> np.ndarray:
    """``x`` minus its mean on each component (the component of the null space of ``L``)."""
    counts = np.bincount(labels, minlength=n_comp)
    if x.ndim == 1:
        means = np.bincount(labels, weights=x, minlength=n_comp) / counts
        return x - means[labels]
    sums = np.zeros((n_comp, x.shape[1]))
    np.add.at(sums, labels, x)
    return x - (sums / counts[:, None])[labels]
