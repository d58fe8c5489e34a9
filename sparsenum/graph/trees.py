"""Spanning trees (forests) of weighted graphs and their stretch.

The stretch of an edge ``e = (u, v)`` over a spanning tree ``T`` is ``w_e R_T(u, v)``, its weight
times the resistance of the tree path joining its ends. Its sum over the edges of ``G`` bounds
how well ``T`` alone preconditions ``G``, and ranks the off-tree edges worth adding back.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sparsenum.utils import WAKE_UP_WORK, check_one_of, check_random_state
from sparsenum.utils._threads import run_split

from . import _kernels
from ._graphs import GraphData, as_graph, make_graph, same_nodes
from ._laplacian import components

__all__ = ["spanning_tree", "tree_stretch"]

TREE_KINDS = ("low_stretch", "max_weight", "effective_weight", "random")


@dataclasses.dataclass(frozen=True)
class _LowStretchTuning:
    # mean exponential shift of Miller-Peng-Xu clustering, in units of the median edge length at
    # each contraction level: larger clusters mean fewer levels but longer in-cluster paths;
    # one median length gave the lowest kappa after GRASS recovery on meshes, grids and the
    # anisotropic stencil (4 lengths: up to twice the kappa there), smaller scales many more levels
    shift_scale: float = 1.0
    # levels stop early when contraction stalls (each level must remove some nodes)
    max_levels: int = 64


LOW_STRETCH = _LowStretchTuning()


def tree_mask(data: GraphData, kind: str, rng: np.random.RandomState) -> np.ndarray:
    """Boolean mask over ``data``'s edges of a spanning forest of the given kind."""
    if data.m == 0:
        return np.zeros(0, bool)
    if kind == "max_weight":
        order = np.argsort(-data.weights, kind="stable")
    elif kind == "random":
        order = rng.permutation(data.m)
    elif kind == "effective_weight":
        order = np.argsort(-effective_weights(data), kind="stable")
    else:
        return _low_stretch_tree(data, rng)
    return _kernels.kruskal(data.n, data.rows, data.cols, order.astype(np.int64))


def effective_weights(data: GraphData) -> np.ndarray:
    """feGRASS's ``w_e log(max degree) / (depth_u + depth_v)``, BFS depths from the node of
    highest degree in each component."""
    from scipy.sparse.csgraph import breadth_first_order

    degree = np.bincount(data.rows, minlength=data.n) + np.bincount(data.cols, minlength=data.n)
    n_comp, labels = components(data)
    A = data.adjacency()
    depth = np.zeros(data.n)
    for c in range(n_comp):
        members = np.flatnonzero(labels == c)
        if members.size == 1:
            continue
        root = members[np.argmax(degree[members])]
        order, pred = breadth_first_order(A, root, directed=False)
        for v in order[1:]:  # BFS order: a parent's depth is set before its children's
            depth[v] = depth[pred[v]] + 1
    scale = np.log(max(degree.max(), 2))
    return data.weights * scale / (depth[data.rows] + depth[data.cols])


def _low_stretch_tree(data: GraphData, rng: np.random.RandomState) -> np.ndarray:
    """Low-stretch spanning forest by repeated exponential-shift clustering (Miller, Peng & Xu)
    and contraction, as in AKPW-type constructions: inside each cluster the shortest-path tree
    from its centre is kept; clusters are then contracted and the process repeats."""
    keep = np.zeros(data.m, bool)
    node_of = np.arange(data.n)  # contracted node of each original node
    n_level = data.n
    edge_idx = np.arange(data.m)
    for _ in range(LOW_STRETCH.max_levels):
        r, c = node_of[data.rows[edge_idx]], node_of[data.cols[edge_idx]]
        between = r != c
        edge_idx, r, c = edge_idx[between], r[between], c[between]
        if edge_idx.size == 0:
            break
        lengths = 1.0 / data.weights[edge_idx]
        src = np.concatenate([r, c])
        dst = np.concatenate([c, r])
        eid = np.concatenate([edge_idx, edge_idx])
        ln = np.concatenate([lengths, lengths])
        order = np.lexsort((dst, src))
        indptr = np.zeros(n_level + 1, np.int64)
        np.cumsum(np.bincount(src, minlength=n_level), out=indptr[1:])
        scale = LOW_STRETCH.shift_scale * np.median(lengths)
        while True:  # shifts too small to merge anything: widen them until some cluster forms
            shifts = rng.exponential(scale, size=n_level)
            center, parent_edge = _kernels.shifted_dijkstra(
                n_level, indptr, dst[order].astype(np.int64), ln[order],
                eid[order].astype(np.int64), shifts.max() - shifts)
            if (parent_edge >= 0).any():
                break
            scale *= 2.0
        keep[parent_edge[parent_edge >= 0]] = True
        _, relabel = np.unique(center, return_inverse=True)
        node_of = relabel[node_of]
        n_level = int(relabel.max()) + 1
    if n_level > components(data)[0]:  # levels ran out: join the clusters by heaviest edges
        rest = np.flatnonzero(~keep)
        order = np.concatenate([np.flatnonzero(keep), rest[np.argsort(-data.weights[rest],
                                                                      kind="stable")]])
        keep = _kernels.kruskal(data.n, data.rows, data.cols, order.astype(np.int64))
    return keep


def spanning_tree(G, *, kind="low_stretch", random_state=None):
    """A spanning tree of ``G`` (a spanning forest if ``G`` is disconnected).

    Parameters
    ----------
    G : scipy.sparse matrix, ndarray or networkx.Graph
        Symmetric adjacency matrix with nonnegative weights (zero entries are not edges), or an
        undirected networkx graph (``"weight"`` attribute, default 1).
    kind : {"low_stretch", "max_weight", "effective_weight", "random"}, default="low_stretch"
        ``"low_stretch"``: exponential-shift clustering and contraction (Miller, Peng & Xu),
        keeping shortest-path trees (edge length ``1 / w``) inside clusters; ``"max_weight"``:
        maximum spanning tree (Kruskal); ``"effective_weight"``: maximum spanning tree on
        feGRASS's effective weights ``w_e log(max deg) / (depth_u + depth_v)`` (BFS depths from
        each component's highest-degree node); ``"random"``: Kruskal on a uniformly random edge
        order.
    random_state : None, int, RandomState or Generator
        Drives ``"low_stretch"`` and ``"random"``.

    Returns
    -------
    tree : same type as ``G``
        The tree's edges with their weights in ``G``; ``n - c`` edges for ``c`` components.

    Raises
    ------
    ValueError, TypeError
        For a graph that is not undirected, symmetric, finite and nonnegative, or a bad ``kind``.

    References
    ----------
    G. L. Miller, R. Peng, S. C. Xu. Parallel graph decompositions using random shifts. SPAA 2013.
    Z. Liu, W. Yu, Z. Feng. feGRASS: Fast and effective graph spectral sparsification for
    scalable power grid analysis. IEEE TCAD 41(3), 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.graph import spanning_tree
    >>> A = np.array([[0, 1, 4], [1, 0, 2], [4, 2, 0.]])
    >>> spanning_tree(A, kind="max_weight")
    array([[0., 0., 4.],
           [0., 0., 2.],
           [4., 2., 0.]])
    """
    data = as_graph(G)
    check_one_of(kind, "kind", TREE_KINDS)
    rng = check_random_state(random_state)
    return make_graph(data, tree_mask(data, kind, rng))


class TreePaths:
    """Path resistances in a spanning forest: rooted once, then ``O(log n)`` per query (LCA)."""

    def __init__(self, data: GraphData, mask: np.ndarray, weights: np.ndarray | None = None):
        w = data.weights if weights is None else weights
        indptr, indices, ids = data.csr_with_ids(mask)
        self.parent, self.depth, self.dist, self.comp = _kernels.root_forest(
            data.n, indptr, indices, 1.0 / w[ids] if ids.size else np.zeros(0))
        self.up = _kernels.lifting_table(self.parent, self.depth)

    def resistance(self, u: np.ndarray, v: np.ndarray, n_jobs=None) -> np.ndarray:
        work = 20.0 * u.shape[0] * self.up.shape[0]
        out = np.empty(u.shape[0])
        run_split(_kernels.tree_path_resistance,
                  (u.astype(np.int64), v.astype(np.int64), self.up, self.depth, self.dist,
                   self.comp, out), u.shape[0], n_jobs, work, WAKE_UP_WORK)
        return out


def tree_stretch(G, tree):
    """Stretch of every edge of ``G`` over a spanning tree: ``w_e R_T(u, v)``.

    Parameters
    ----------
    G : scipy.sparse matrix, ndarray or networkx.Graph
        The graph (see :func:`spanning_tree`).
    tree : same kinds as ``G``
        A spanning forest on the same nodes, with one tree per connected component of ``G``
        (for instance from :func:`spanning_tree`); its own weights give the path resistances.

    Returns
    -------
    stretch : ndarray of shape (n_edges,)
        One value per edge of ``G`` in edge order (upper triangle, CSR order; networkx: the
        order of the nodes); 1 for a tree edge of unchanged weight. ``stretch.mean()`` is the
        average stretch.

    Raises
    ------
    ValueError
        If ``tree`` has a cycle or does not span every component of ``G``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.graph import tree_stretch
    >>> A = np.ones((3, 3)) - np.eye(3)  # a triangle
    >>> T = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0.]])  # the path 0 - 1 - 2
    >>> tree_stretch(A, T)
    array([1., 2., 1.])
    """
    data = as_graph(G)
    tdata = same_nodes(data, as_graph(tree, "tree"), "tree")
    n_comp_t, labels_t = components(tdata)
    if tdata.m != data.n - n_comp_t:
        raise ValueError(f"tree must be a forest (no cycle); got {tdata.m} edges on {data.n} "
                         f"nodes in {n_comp_t} components")
    if data.m and (labels_t[data.rows] != labels_t[data.cols]).any():
        raise ValueError("tree must span every connected component of G; some edge of G joins "
                         "two different trees")
    paths = TreePaths(tdata, np.ones(tdata.m, bool))
    return data.weights * paths.resistance(data.rows, data.cols)
