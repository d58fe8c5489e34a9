"""Relative condition number of two graph Laplacians.

``kappa(L_G, L_H) = lambda_max / lambda_min`` of the pencil ``L_G x = lambda L_H x`` on the
complement of the constants (one node grounded per connected component). It bounds the number
of conjugate-gradient iterations to solve ``L_G x = b`` preconditioned by ``L_H`` by
``O(sqrt(kappa) log(1 / tol))``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sparsenum.utils import check_bool, check_scalar

from ._graphs import GraphData, as_graph, same_nodes
from ._laplacian import GroundedSolver, components, ground_nodes, laplacian

__all__ = ["relative_condition_number"]


@dataclasses.dataclass(frozen=True)
class _ConditionTuning:
    # below this many free nodes a dense generalized eigensolve (LAPACK) is exact and fast
    dense_max_nodes: int = 2000
    # exact=True above this would allocate two n x n dense matrices of several GB
    dense_refuse_nodes: int = 20000


TUNING = _ConditionTuning()


def relative_condition_number(G, H, *, exact=None, tol=1e-6):
    """Relative condition number ``kappa(L_G, L_H)`` of two graphs on the same nodes.

    Parameters
    ----------
    G, H : scipy.sparse matrix, ndarray or networkx.Graph
        Symmetric nonnegative adjacency matrices (or undirected networkx graphs with a
        ``"weight"`` attribute, default 1) on the same nodes; typically ``H`` a sparsifier of
        ``G``.
    exact : bool or None, default=None
        ``True``: dense generalized eigensolve (LAPACK ``sygvd`` via :func:`scipy.linalg.eigh`);
        ``False``: Lanczos (ARPACK ``eigsh``) on the pencil with sparse factorizations of both
        grounded Laplacians; ``None``: dense below 2,000 nodes, Lanczos otherwise.
    tol : float, default=1e-6
        Relative accuracy asked of the Lanczos eigenvalues (unused by the dense solve).

    Returns
    -------
    kappa : float
        ``lambda_max / lambda_min`` over every component (grounded at its lowest-index node),
        ``inf`` if ``G`` and ``H`` do not have the same connected components (the pencil then
        has an infinite or zero eigenvalue), 1.0 for graphs without edges.

    Raises
    ------
    ValueError, TypeError
        For invalid graphs, different node sets, or ``exact=True`` on more than 20,000 nodes.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.graph import relative_condition_number
    >>> G = np.ones((4, 4)) - np.eye(4)  # complete graph K4
    >>> H = 2.0 * G
    >>> round(relative_condition_number(G, H), 12)
    1.0
    """
    data_g = as_graph(G)
    data_h = same_nodes(data_g, as_graph(H, "H"), "H")
    if exact is not None:
        exact = check_bool(exact, "exact")
    tol = check_scalar(tol, "tol", low=0.0, high=1.0, include_low=False, include_high=False)
    return condition_number(data_g, data_h.weights, data_h, exact=exact, tol=tol)


def condition_number(data_g: GraphData, weights_h: np.ndarray, data_h: GraphData | None = None,
                     *, mask_h: np.ndarray | None = None, exact=None, tol=1e-6,
                     solver_h: GroundedSolver | None = None, v0=None) -> float:
    """kappa of ``G`` against ``H`` given either as its own GraphData or as a mask/weights over
    ``G``'s edges (the sparsifier case, which avoids rebuilding the edge list)."""
    if data_h is None:
        data_h = data_g
    n_g, labels_g = components(data_g)
    n_h, labels_h = components(data_h, mask_h)
    if n_g != n_h or not _same_partition(labels_g, labels_h):
        return float("inf")
    grounded = ground_nodes(labels_g, n_g)
    free = np.flatnonzero(~grounded)
    if free.size == 0:
        return 1.0
    L_g = laplacian(data_g)
    L_h = laplacian(data_h, weights_h, mask_h)
    if exact is None:
        exact = free.size <= TUNING.dense_max_nodes
    if exact:
        if free.size > TUNING.dense_refuse_nodes:
            gib = 2 * free.size**2 * 8 / 2**30
            raise ValueError(f"exact=True needs two dense {free.size} x {free.size} matrices "
                             f"({gib:.1f} GiB); use exact=False above "
                             f"{TUNING.dense_refuse_nodes} nodes")
        from scipy.linalg import eigh

        a = L_g[free][:, free].toarray()
        b = L_h[free][:, free].toarray()
        values = eigh(a, b, eigvals_only=True)
        return float(values[-1] / values[0])
    lam_max = _lanczos_max(L_g, L_h, grounded, tol, solver_h, v0)
    lam_min = 1.0 / _lanczos_max(L_h, L_g, grounded, tol, None, v0)
    return float(lam_max / lam_min)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two component labellings split the nodes the same way."""
    pairs = np.unique(np.stack([a, b]), axis=1)
    return pairs.shape[1] == np.unique(a).size == np.unique(b).size


def _lanczos_max(L_a, L_b, grounded, tol, solver_b=None, v0=None, ncv=None, A_free=None) -> float:
    """Largest eigenvalue of the grounded pencil ``L_a x = lambda L_b x`` (ARPACK mode 2);
    ``A_free``: ``L_a`` on the free nodes, if already at hand (CSR)."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    solver_b = solver_b or GroundedSolver(L_b, grounded)
    free = solver_b.free
    A = L_a[free][:, free].tocsr() if A_free is None else A_free
    B = solver_b.L_free.tocsr()
    if free.size == 1:
        return float(A[0, 0] / B[0, 0])
    Binv = LinearOperator(B.shape, matvec=solver_b.solve_free, dtype=np.float64)
    start = np.random.RandomState(0).standard_normal(free.size) if v0 is None else v0[free]
    try:
        value = eigsh(A, k=1, M=B, Minv=Binv, which="LA", tol=tol, v0=start,
                      ncv=None if ncv is None else min(ncv, free.size),
                      return_eigenvectors=False, maxiter=max(1000, 10 * free.size))
    except ArpackNoConvergence as exc:  # keep the best Ritz value ARPACK reached
        if not len(exc.eigenvalues):
            raise
        value = exc.eigenvalues
    return float(np.max(value))
