"""Effective resistances: exact from a grounded factorization, or approximated from a
Johnson-Lindenstrauss sketch of ``W^(1/2) B L^+`` (Spielman & Srivastava)."""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from sparsenum.utils import check_one_of, check_scalar, numba_threads
from sparsenum.utils.random import check_random_state
from sparsenum.utils.validation import check_n_jobs

from ._graphs import GraphData, as_graph, node_pairs
from ._laplacian import GroundedSolver, components, ground_nodes, laplacian

__all__ = ["effective_resistance"]


@dataclasses.dataclass(frozen=True)
class _ResistanceTuning:
    # JL rows k = jl_factor * ln(n) / eps^2: the constant of Laplacians.jl (JLfac = 4); the
    # squared-norm error of a k-row Rademacher sketch has standard deviation sqrt(2 / k)
    jl_factor: float = 4.0
    # "auto" solves exactly (one solve per node involved) up to this many nodes
    exact_max_nodes: int = 4000
    # dense right-hand-side blocks of at most this many float64 entries (64 MiB)
    block_entries: int = 8_000_000


TUNING = _ResistanceTuning()


def effective_resistance(G, edges=None, *, method="auto", eps=0.3, random_state=None,
                         n_jobs=None):
    """Effective resistances ``R(u, v) = (e_u - e_v)^T L^+ (e_u - e_v)`` between node pairs.

    Parameters
    ----------
    G : scipy.sparse matrix, ndarray or networkx.Graph
        Symmetric nonnegative adjacency (weights are conductances) or an undirected networkx
        graph (``"weight"`` attribute, default 1).
    edges : array of shape (k, 2) or sequence of node pairs, optional
        The pairs to evaluate (networkx: node labels); default every edge of ``G`` in edge
        order (upper triangle, CSR order; networkx: node order).
    method : {"auto", "exact", "sketch"}, default="auto"
        ``"exact"``: solves with a sparse factorization of the grounded Laplacian, one per
        distinct node involved; ``"sketch"``: ``R ~ ||Z (e_u - e_v)||^2`` with
        ``Z = Q W^(1/2) B L^+`` and ``k = ceil(4 ln n / eps^2)`` random sign rows ``Q``, i.e.
        ``k`` solves; ``"auto"``: exact up to 4,000 nodes, else the sketch.
    eps : float in (0, 1), default=0.3
        Relative accuracy of the sketch (a k-row sketch errs by more than ``eps`` on a small
        fraction of pairs).
    random_state : None, int, RandomState or Generator
        Draws the sketch.
    n_jobs : int or None
        Threads for the numba kernels (none are used by this function today; accepted for a
        uniform interface and validated).

    Returns
    -------
    resistance : ndarray of shape (k,)
        ``inf`` for pairs in different components, 0 for ``u == v``.

    References
    ----------
    D. A. Spielman, N. Srivastava. Graph sparsification by effective resistances. SIAM J.
    Comput. 40(6), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.graph import effective_resistance
    >>> A = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0.]])  # path 0 - 1 - 2, unit conductances
    >>> effective_resistance(A, [[0, 2], [0, 1]], method="exact")
    array([2., 1.])
    """
    data = as_graph(G)
    check_one_of(method, "method", ("auto", "exact", "sketch"))
    eps = check_scalar(eps, "eps", low=0.0, high=1.0, include_low=False, include_high=False)
    rng = check_random_state(random_state)
    check_n_jobs(n_jobs)
    if edges is None:
        u, v = data.rows, data.cols
    else:
        u, v = node_pairs(data, edges, "edges")
    if method == "auto":
        method = "exact" if data.n <= TUNING.exact_max_nodes else "sketch"
    with numba_threads(n_jobs, work=0):
        return resistances(data, u, v, method, eps, rng)


def resistances(data: GraphData, u, v, method: str, eps: float, rng, weights=None,
                mask=None) -> np.ndarray:
    """Effective resistances of pairs ``(u, v)`` in ``data`` (edges in ``mask``, ``weights``)."""
    n_comp, labels = components(data, mask)
    out = np.full(u.shape[0], np.inf)
    same = labels[u] == labels[v]
    out[u == v] = 0.0
    todo = np.flatnonzero(same & (u != v))
    if todo.size == 0:
        return out
    grounded = ground_nodes(labels, n_comp)
    solver = GroundedSolver(laplacian(data, weights, mask), grounded)
    if method == "exact":
        out[todo] = _exact(solver, u[todo], v[todo], data.n)
    else:
        out[todo] = _sketch(data, solver, u[todo], v[todo], eps, rng, weights, mask)
    return out


def _exact(solver: GroundedSolver, u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """``G[u,u] + G[v,v] - 2 G[u,v]`` with ``G`` the grounded inverse (zero on grounded nodes),
    computed block by block from solves against unit vectors of the nodes involved."""
    position = np.full(n, -1, np.int64)
    position[solver.free] = np.arange(solver.free.size)
    pu, pv = position[u], position[v]
    nodes = np.unique(np.concatenate([pu[pu >= 0], pv[pv >= 0]]))
    diag = np.zeros(solver.free.size)
    cross = np.zeros(u.shape[0])
    # pairs are handled in the block holding their first free endpoint
    first = np.where(pu >= 0, pu, pv)
    other = np.where(pu >= 0, pv, -1)
    block = max(1, min(nodes.size, TUNING.block_entries // max(solver.free.size, 1)))
    for start in range(0, nodes.size, block):
        cols = nodes[start:start + block]
        rhs = np.zeros((solver.free.size, cols.size))
        rhs[cols, np.arange(cols.size)] = 1.0
        X = solver.solve_free(rhs)
        diag[cols] = X[cols, np.arange(cols.size)]
        col_of = np.full(solver.free.size, -1, np.int64)
        col_of[cols] = np.arange(cols.size)
        here = np.flatnonzero(col_of[first] >= 0)
        linked = here[other[here] >= 0]
        cross[linked] = X[other[linked], col_of[first[linked]]]
    du = np.where(pu >= 0, diag[np.maximum(pu, 0)], 0.0)
    dv = np.where(pv >= 0, diag[np.maximum(pv, 0)], 0.0)
    return du + dv - 2.0 * cross


def _sketch(data, solver, u, v, eps, rng, weights, mask) -> np.ndarray:
    """``||Z (e_u - e_v)||^2`` with ``Z = Q W^(1/2) B L^+``, ``Q`` random signs / sqrt(k),
    accumulated over blocks of sketch rows so memory stays ``O((n + m) * block)``."""
    w = data.weights if weights is None else weights
    r, c = data.rows, data.cols
    if mask is not None:
        r, c, w = r[mask], c[mask], w[mask]
    m = r.shape[0]
    k = int(np.ceil(TUNING.jl_factor * np.log(max(data.n, 2)) / eps**2))
    sqrt_w = np.sqrt(w)
    # B^T with signs: column e has +1 at r[e] and -1 at c[e]
    BT = sp.csr_matrix((np.concatenate([sqrt_w, -sqrt_w]),
                        (np.concatenate([r, c]), np.concatenate([np.arange(m)] * 2))),
                       shape=(data.n, m))
    total = np.zeros(u.shape[0])
    block = max(1, min(k, TUNING.block_entries // max(m + data.n, 1)))
    for start in range(0, k, block):
        rows = min(block, k - start)
        Q = (rng.randint(0, 2, size=(m, rows)) * 2.0 - 1.0) / np.sqrt(k)
        Y = BT @ Q  # (W^(1/2) B)^T Q^T: each column sums to zero per component
        Z = solver.solve(Y)
        total += ((Z[u] - Z[v]) ** 2).sum(axis=1)
    return total
