"""Graphs in and out: scipy.sparse or dense adjacency, or networkx graphs, as one edge list.

Every public function turns its graph argument into a :class:`GraphData` (the upper triangle's
edges in CSR order, positive finite weights) and hands results back in the input's type: the same
sparse format and class, a dense array, or a networkx graph with the same node labels and the
kept edges' attributes. networkx is never imported here; its graphs are recognised by duck typing.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
import scipy.sparse as sp

from sparsenum.utils import check_array
from sparsenum.utils.validation import describe_value

__all__ = ["GraphData", "as_graph", "make_graph", "node_pairs"]


@dataclasses.dataclass(frozen=True, eq=False)
class GraphData:
    """An undirected weighted graph as its upper-triangle edges ``rows < cols`` in CSR order."""

    n: int
    rows: np.ndarray
    cols: np.ndarray
    weights: np.ndarray
    kind: str  # "sparse", "dense" or "networkx"
    template: object = None  # the input, for the output's type
    nodes: list | None = None  # networkx node labels, in index order
    edge_attrs: list | None = None  # networkx edge attribute dicts, in edge order
    weight_given: np.ndarray | None = None  # networkx: whether the edge had a weight attribute

    @property
    def m(self) -> int:
        return int(self.rows.shape[0])

    @property
    def keys(self) -> np.ndarray:
        """``rows * n + cols``: increasing in edge order, for lookups by searchsorted."""
        return self.rows * np.int64(self.n) + self.cols

    def edge_ids(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Index of edge ``{u, v}`` for each pair, -1 where the graph has no such edge."""
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        keys = self.keys
        query = lo.astype(np.int64) * np.int64(self.n) + hi
        pos = np.searchsorted(keys, query)
        pos_c = np.minimum(pos, max(keys.shape[0] - 1, 0))
        found = (keys.shape[0] > 0) & (pos < keys.shape[0])
        found = found & (keys[pos_c] == query) if keys.shape[0] else np.zeros(query.shape, bool)
        return np.where(found, pos_c, -1)

    def adjacency(self, weights: np.ndarray | None = None, mask: np.ndarray | None = None):
        """Symmetric CSR adjacency (of the edges in ``mask``, with ``weights``)."""
        w = self.weights if weights is None else weights
        r, c = self.rows, self.cols
        if mask is not None:
            r, c, w = r[mask], c[mask], w[mask]
        A = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([r, c]),
                                                    np.concatenate([c, r]))),
                          shape=(self.n, self.n))
        return A.tocsr()

    def csr_with_ids(self, mask: np.ndarray | None = None):
        """``indptr, indices, edge_ids`` of the symmetric adjacency (kept edges only)."""
        ids = np.arange(self.m, dtype=np.int64)
        r, c = self.rows, self.cols
        if mask is not None:
            r, c, ids = r[mask], c[mask], ids[mask]
        src = np.concatenate([r, c])
        dst = np.concatenate([c, r])
        eid = np.concatenate([ids, ids])
        order = np.lexsort((dst, src))
        indptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=self.n), out=indptr[1:])
        return indptr, dst[order].astype(np.int64), eid[order].astype(np.int64)


def _is_networkx(G) -> bool:
    return type(G).__module__.split(".")[0] == "networkx"


def as_graph(G, name: str = "G") -> GraphData:
    """Validate a graph argument (sparse/dense adjacency or networkx graph)."""
    if _is_networkx(G):
        return _from_networkx(G, name)
    if sp.issparse(G):
        if G.ndim != 2:
            raise ValueError(f"{name} must be a 2-dimensional adjacency matrix; "
                             f"got shape {G.shape}")
        if G.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real edge weights; got dtype {G.dtype}")
        A = sp.csr_matrix(G, dtype=np.float64, copy=True)
        kind = "sparse"
    else:
        if isinstance(G, (str, bytes)) or G is None or isinstance(G, (numbers.Number, dict)):
            raise TypeError(f"{name} must be a scipy.sparse or dense adjacency matrix or a "
                            f"networkx Graph; got {describe_value(G)} of type {type(G).__name__}")
        dense = check_array(G, name, ndim=2, allow_nan=True)
        A = sp.csr_matrix(dense)
        kind = "dense"
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square adjacency matrix; got shape {A.shape}")
    if A.shape[0] < 1:
        raise ValueError(f"{name} must have at least one node; got shape {A.shape}")
    A.sum_duplicates()
    _check_weights(A.data, name)
    if A.diagonal().any():
        raise ValueError(f"{name} must have no self-loops; got {np.count_nonzero(A.diagonal())} "
                         "nonzero diagonal entries")
    asym = abs(A - A.T)
    if asym.nnz and asym.max() > 1e-12 * max(abs(A).max(), 1e-300):
        raise ValueError(f"{name} must be symmetric (an undirected graph); got "
                         f"max |{name} - {name}.T| = {asym.max():.3g}; symmetrise it, e.g. "
                         f"({name} + {name}.T) / 2")
    A.eliminate_zeros()
    upper = sp.triu(A, k=1).tocsr()
    upper.sort_indices()
    rows = np.repeat(np.arange(A.shape[0], dtype=np.int64), np.diff(upper.indptr))
    return GraphData(n=A.shape[0], rows=rows, cols=upper.indices.astype(np.int64),
                     weights=np.array(upper.data, dtype=np.float64), kind=kind, template=G)


def _check_weights(w: np.ndarray, name: str) -> None:
    if w.size and not np.isfinite(w).all():
        n_bad = int(np.count_nonzero(~np.isfinite(w)))
        raise ValueError(f"{name} must have finite edge weights; got {n_bad} NaN or infinite")
    if w.size and (w < 0).any():
        raise ValueError(f"{name} must have nonnegative edge weights; got minimum {w.min():.6g}")


def _from_networkx(G, name: str) -> GraphData:
    if G.is_directed():
        raise TypeError(f"{name} must be an undirected networkx Graph; got a directed "
                        f"{type(G).__name__} (use {name}.to_undirected())")
    if G.is_multigraph():
        raise TypeError(f"{name} must be a networkx Graph, not a multigraph ({type(G).__name__});"
                        " merge parallel edges first")
    nodes = list(G.nodes())
    if not nodes:
        raise ValueError(f"{name} must have at least one node; got an empty graph")
    index = {label: i for i, label in enumerate(nodes)}
    m = G.number_of_edges()
    rows = np.empty(m, np.int64)
    cols = np.empty(m, np.int64)
    weights = np.empty(m, np.float64)
    given = np.zeros(m, bool)
    attrs = []
    for k, (a, b, d) in enumerate(G.edges(data=True)):
        i, j = index[a], index[b]
        if i == j:
            raise ValueError(f"{name} must have no self-loops; got one at node {a!r}")
        w = d.get("weight", 1.0)
        if not isinstance(w, numbers.Real) or isinstance(w, (bool, np.bool_)):
            raise TypeError(f"{name}'s edge ({a!r}, {b!r}) has a non-numeric weight "
                            f"{describe_value(w)}")
        rows[k], cols[k], weights[k] = min(i, j), max(i, j), float(w)
        given[k] = "weight" in d
        attrs.append(d)
    _check_weights(weights, name)
    keep = weights > 0
    order = np.lexsort((cols, rows))
    order = order[keep[order]]
    return GraphData(n=len(nodes), rows=rows[order], cols=cols[order], weights=weights[order],
                     kind="networkx", template=G, nodes=nodes,
                     edge_attrs=[attrs[k] for k in order], weight_given=given[order])


def make_graph(data: GraphData, mask: np.ndarray, weights: np.ndarray | None = None):
    """The subgraph of ``data`` on the edges in ``mask`` (weights ``weights[mask]`` if given),
    in the input's type."""
    w = (data.weights if weights is None else weights)[mask]
    r, c = data.rows[mask], data.cols[mask]
    if data.kind == "networkx":
        G = data.template
        H = G.__class__()
        H.graph.update(G.graph)
        H.add_nodes_from(G.nodes(data=True))
        ids = np.flatnonzero(mask)
        for k, i, j, wk in zip(ids, r, c, w):
            attrs = dict(data.edge_attrs[k])
            if data.weight_given[k] or wk != 1.0:
                attrs["weight"] = float(wk)
            H.add_edge(data.nodes[i], data.nodes[j], **attrs)
        return H
    if data.kind == "dense":
        A = np.zeros((data.n, data.n))
        A[r, c] = w
        A[c, r] = w
        return A
    coo = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([r, c]), np.concatenate([c, r]))),
                        shape=(data.n, data.n))
    template = data.template
    out = coo.asformat(template.format if template.format in ("csr", "csc", "coo", "lil", "dok",
                                                                 "bsr", "dia") else "csr")
    if out.format in ("csr", "csc"):
        out.sort_indices()
    if isinstance(template, sp.sparray):
        out = sp.csr_array(out).asformat(out.format)
    return out


def node_pairs(data: GraphData, pairs, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Node indices of a ``(k, 2)`` array of node pairs (networkx: pairs of labels)."""
    if data.kind == "networkx":
        if isinstance(pairs, (str, bytes)) or not hasattr(pairs, "__iter__"):
            raise TypeError(f"{name} must be a sequence of (u, v) node pairs; got "
                            f"{describe_value(pairs)}")
        index = {label: i for i, label in enumerate(data.nodes)}
        u, v = [], []
        for pair in pairs:
            try:
                a, b = pair
            except (TypeError, ValueError):
                raise ValueError(f"{name} must hold (u, v) node pairs; got {pair!r}") from None
            for label in (a, b):
                try:
                    if label not in index:
                        raise ValueError(f"{name} names node {label!r}, which is not in G")
                except TypeError:
                    raise TypeError(f"{name} holds an unhashable node {label!r}") from None
            u.append(index[a])
            v.append(index[b])
        return np.array(u, dtype=np.int64), np.array(v, dtype=np.int64)
    if sp.issparse(pairs) or isinstance(pairs, (str, bytes)) or pairs is None:
        raise TypeError(f"{name} must be an integer array of shape (k, 2); got "
                        f"{describe_value(pairs)}")
    arr = np.asarray(pairs)
    if arr.size == 0:
        arr = arr.reshape(0, 2).astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer node indices; got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (k, 2); got {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= data.n):
        raise ValueError(f"{name} must hold node indices in [0, {data.n - 1}]; got values in "
                         f"[{arr.min()}, {arr.max()}]")
    return arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)


def same_nodes(G: GraphData, H: GraphData, name: str) -> GraphData:
    """``H`` re-indexed on ``G``'s nodes (networkx labels), or an error if the node sets differ."""
    if G.kind == "networkx" and H.kind == "networkx":
        index = {label: i for i, label in enumerate(G.nodes)}
        if len(H.nodes) != G.n or any(label not in index for label in H.nodes):
            raise ValueError(f"{name} must have the same nodes as G; got {H.n} nodes for G's {G.n}")
        perm = np.array([index[label] for label in H.nodes], dtype=np.int64)
        r, c = perm[H.rows], perm[H.cols]
        lo, hi = np.minimum(r, c), np.maximum(r, c)
        order = np.lexsort((hi, lo))
        return dataclasses.replace(H, rows=lo[order], cols=hi[order], weights=H.weights[order],
                                   nodes=G.nodes, edge_attrs=None, weight_given=None)
    if H.n != G.n:
        raise ValueError(f"{name} must have the same number of nodes as G ({G.n}); got {H.n}")
    return H
