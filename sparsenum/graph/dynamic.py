"""Sparsifiers kept up to date under edge insertions and deletions by local random walks
(dyGRASS: Yuan, Aghdaei & Feng, ICCAD 2025)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from sparsenum.base import ConvergenceHistory
from sparsenum.utils import (
    WAKE_UP_WORK,
    check_array,
    check_callback,
    check_int,
    check_n_jobs,
    check_scalar,
    check_verbose,
    spawn_seeds,
)
from sparsenum.utils._threads import run_split
from sparsenum.utils.random import check_random_state

from . import _kernels
from ._graphs import GraphData, as_graph, make_graph, node_pairs
from .condition import condition_number
from .sparsification import sparsify

__all__ = ["SpectralSparsifier"]


class SpectralSparsifier(TransformerMixin, BaseEstimator):
    """A spectral sparsifier that follows its graph through edge insertions and deletions.

    ``fit(G)`` builds the sparsifier with :func:`sparsify`; :meth:`insert_edges` and
    :meth:`delete_edges` then update the graph and the sparsifier in place with dyGRASS's local
    non-backtracking random walks, in time proportional to the batch, not to the graph.

    *Insertion* of ``(p, q, w)``: ``n_walkers`` walks on the sparsifier from ``p`` look for
    ``q`` within a path resistance of ``insert_threshold / w``. If one arrives, the sparsifier
    already holds a detour good enough (the edge's distortion ``w R_H(p, q)`` is below the
    threshold) and the edge goes to the graph only; otherwise it is added to the sparsifier too.
    Inserting an existing edge adds the weights. *Deletion*: the edge leaves the graph and the
    sparsifier; if the sparsifier held it, walks on the updated graph look for the
    least-resistance detour within ``delete_threshold / w`` and add it to the sparsifier
    (falling back to a shortest-hop path when no walker arrives, so the sparsifier stays
    connected wherever the graph is).

    Parameters
    ----------
    offtree_density, method, target_condition, tree, similarity_hops
        As in :func:`sparsify` (used by ``fit``).
    insert_threshold : float > 0, default=100.0
        Distortion ``w R`` above which an inserted edge joins the sparsifier.
    delete_threshold : float > 0, default=10.0
        Distortion bound of the detours searched after a deletion (deletions need a tighter
        one: a loose bound lets the condition number drift).
    n_walkers : int >= 1, default=128
        Walkers per updated edge.
    max_walk_steps : int >= 1, default=100
        Steps per walker.
    random_state : None, int, RandomState or Generator
        Drives ``fit`` and the walks (a ``splitmix64`` stream per edge: same result for any
        ``n_jobs``).
    n_jobs : int or None
        Threads of the walks.
    verbose : int or bool, default=0
        Progress of ``fit`` (see :func:`sparsify`): ``1`` a line when done, ``2`` also a line
        per densification round.
    callback : callable, optional
        ``callback(iteration, state)`` at every densification round of ``fit`` (see
        :func:`sparsify`; the rows of ``result_.history``); returning True stops the
        densification there.

    Attributes
    ----------
    graph_ : same type as the fitted graph
        The current graph (after updates).
    sparsifier_ : same type as the fitted graph
        The current sparsifier.
    result_ : SparsifierResult
        What ``fit`` computed.
    n_nodes_ : int
        Number of nodes.
    update_history_ : ConvergenceHistory
        One row per update batch (``iteration``: batch number, row 0 the fit): criterion the
        off-tree density, columns ``inserted``, ``deleted``, ``added_to_sparsifier`` and
        ``sparsifier_edges``.

    References
    ----------
    Y. Yuan, A. Aghdaei, Z. Feng. dyGRASS: Dynamic spectral graph sparsification via localized
    random walks on GPUs. ICCAD 2025 (arXiv:2505.02741).

    Examples
    --------
    >>> import networkx as nx
    >>> from sparsenum.graph import SpectralSparsifier
    >>> G = nx.grid_2d_graph(20, 20)
    >>> sparsifier = SpectralSparsifier(random_state=0).fit(G)
    >>> sparsifier.sparsifier_.number_of_edges()
    439
    >>> _ = sparsifier.insert_edges([((0, 0), (5, 5))], weights=[2.0])
    >>> sparsifier.graph_.has_edge((0, 0), (5, 5))
    True
    """

    def __init__(self, offtree_density=0.10, *, method="grass", target_condition=None,
                 tree="auto", similarity_hops="auto", insert_threshold=100.0,
                 delete_threshold=10.0, n_walkers=128, max_walk_steps=100, random_state=None,
                 n_jobs=None, verbose=0, callback=None):
        self.offtree_density = offtree_density
        self.method = method
        self.target_condition = target_condition
        self.tree = tree
        self.similarity_hops = similarity_hops
        self.insert_threshold = insert_threshold
        self.delete_threshold = delete_threshold
        self.n_walkers = n_walkers
        self.max_walk_steps = max_walk_steps
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.callback = callback

    def _check_update_params(self):
        check_scalar(self.insert_threshold, "insert_threshold", low=0.0, include_low=False)
        check_scalar(self.delete_threshold, "delete_threshold", low=0.0, include_low=False)
        check_int(self.n_walkers, "n_walkers", low=1, high=1_000_000)
        check_int(self.max_walk_steps, "max_walk_steps", low=1, high=1_000_000)
        check_n_jobs(self.n_jobs)
        check_verbose(self.verbose)
        check_callback(self.callback)

    def fit(self, G, y=None):
        """Sparsify ``G`` (see :func:`sparsify`). Returns self."""
        self._check_update_params()
        self._rng = check_random_state(self.random_state)
        data = as_graph(G)
        self.result_ = sparsify(G, method=self.method, offtree_density=self.offtree_density,
                                target_condition=self.target_condition, tree=self.tree,
                                similarity_hops=self.similarity_hops, random_state=self._rng,
                                n_jobs=self.n_jobs, verbose=self.verbose,
                                callback=self.callback)
        self._data = data
        self._h_weights = np.array(self.result_.weights)
        self._n_forest = data.n - _n_components(data)
        self.n_nodes_ = data.n
        self.update_history_ = ConvergenceHistory(16, ("inserted", "deleted",
                                                       "added_to_sparsifier", "sparsifier_edges"),
                                                  criterion_name="offtree_density")
        self._record(0, 0, 0)
        return self

    def transform(self, G):
        """The current sparsifier if ``G`` is the fitted graph, else a sparsifier of ``G`` with
        the same parameters (``G`` is not stored)."""
        check_is_fitted(self, "n_nodes_")
        if G is self._data.template:
            return self.sparsifier_
        return sparsify(G, method=self.method, offtree_density=self.offtree_density,
                        target_condition=self.target_condition, tree=self.tree,
                        similarity_hops=self.similarity_hops, random_state=self.random_state,
                        n_jobs=self.n_jobs, verbose=self.verbose,
                        callback=self.callback).sparsifier

    def fit_transform(self, G, y=None):
        return self.fit(G).sparsifier_

    @property
    def graph_(self):
        check_is_fitted(self, "n_nodes_")
        return make_graph(self._data, np.ones(self._data.m, bool))

    @property
    def sparsifier_(self):
        check_is_fitted(self, "n_nodes_")
        return make_graph(self._data, self._h_weights > 0, self._h_weights)

    def estimate_condition_number(self, *, exact=None):
        """``kappa(L_G, L_H)`` of the current graph and sparsifier (see
        :func:`relative_condition_number`)."""
        check_is_fitted(self, "n_nodes_")
        return condition_number(self._data, self._h_weights, mask_h=self._h_weights > 0,
                                exact=exact)

    # -- updates ---------------------------------------------------------------------------
    def insert_edges(self, edges, weights=None):
        """Insert a batch of edges (node pairs; networkx: labels of existing nodes).

        ``weights`` default 1; inserting an edge already in the graph (or twice in a batch)
        adds the weights. Returns self."""
        check_is_fitted(self, "n_nodes_")
        self._check_update_params()
        data = self._data
        u, v = node_pairs(data, edges, "edges")
        w = np.ones(u.shape[0]) if weights is None else check_array(weights, "weights", ndim=1,
                                                                     min_size=0)
        if w.shape[0] != u.shape[0]:
            raise ValueError(f"weights must have one entry per edge ({u.shape[0]}); got "
                             f"{w.shape[0]}")
        if (w <= 0).any():
            raise ValueError(f"weights must be positive; got minimum {w.min():.6g}")
        if (u == v).any():
            raise ValueError(f"edges must not hold self-loops; got ({u[u == v][0]}, "
                             f"{u[u == v][0]}) (node index)")
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        keys, inverse = np.unique(lo * np.int64(data.n) + hi, return_inverse=True)
        w_sum = np.bincount(inverse, weights=w)
        lo, hi = keys // data.n, keys % data.n
        # candidates are judged on the sparsifier as it was before the batch
        ids = data.edge_ids(lo, hi)
        existing = ids >= 0
        new_weight = w_sum + np.where(existing, data.weights[np.maximum(ids, 0)], 0.0)
        in_h = existing & (self._h_weights[np.maximum(ids, 0)] > 0)
        judge = np.flatnonzero(~in_h)
        critical = np.zeros(keys.shape[0], bool)
        if judge.size:
            found, _, _ = self._walks(self._h_weights > 0, self._h_weights, lo[judge], hi[judge],
                                      self.insert_threshold / new_weight[judge], first_only=True)
            critical[judge] = ~np.isfinite(found)
        self._merge_edges(lo, hi, w_sum, critical | in_h)
        self._record(keys.shape[0], 0, int(critical.sum()))
        return self

    def delete_edges(self, edges):
        """Delete a batch of edges of the graph (node pairs; networkx: labels). Returns self."""
        check_is_fitted(self, "n_nodes_")
        self._check_update_params()
        data = self._data
        u, v = node_pairs(data, edges, "edges")
        ids = np.unique(data.edge_ids(u, v))
        if (data.edge_ids(u, v) < 0).any():
            bad = np.flatnonzero(data.edge_ids(u, v) < 0)[0]
            raise ValueError(f"edges must be edges of the graph; got ({u[bad]}, {v[bad]}) "
                             "(node indices), which is not")
        lost = ids[self._h_weights[ids] > 0]
        lost_u, lost_v = data.rows[lost], data.cols[lost]
        lost_w = data.weights[lost]
        keep = np.ones(data.m, bool)
        keep[ids] = False
        self._subset(keep)
        added = 0
        if lost.size:
            best, paths, lengths = self._walks(np.ones(self._data.m, bool), self._data.weights,
                                               lost_u, lost_v, self.delete_threshold / lost_w,
                                               first_only=False)
            adjacency = None
            for i in range(lost.size):
                if np.isfinite(best[i]):
                    path = paths[i, :lengths[i]]
                else:
                    adjacency = self._data.adjacency() if adjacency is None else adjacency
                    path = self._shortest_hop_path(adjacency, lost_u[i], lost_v[i])
                fresh = path[self._h_weights[path] == 0]
                self._h_weights[fresh] = self._data.weights[fresh]
                added += fresh.size
        self._record(0, ids.size, added)
        return self

    # -- internals -------------------------------------------------------------------------
    def _walks(self, mask, weights, sources, targets, budgets, *, first_only):
        indptr, indices, ids = self._data.csr_with_ids(mask)
        seeds = spawn_seeds(self._rng, sources.shape[0])
        work = float(sources.shape[0]) * self.n_walkers * self.max_walk_steps * 4
        k, w = sources.shape[0], weights[ids]
        best, best_len = np.full(k, np.inf), np.zeros(k, np.int64)
        best_path = np.full((k, self.max_walk_steps), -1, np.int64)
        run_split(_kernels.walk_batch,
                  (indptr, indices, w, _kernels.row_weight_sums(indptr, w), ids,
                   sources.astype(np.int64), targets.astype(np.int64),
                   budgets.astype(np.float64), self.n_walkers, self.max_walk_steps, seeds,
                   first_only, best, best_path, best_len),
                  k, self.n_jobs, work, WAKE_UP_WORK)
        return best, best_path, best_len

    def _shortest_hop_path(self, A, p, q) -> np.ndarray:
        """Edge ids of a fewest-hop path from ``p`` to ``q`` in the graph (empty if none)."""
        from scipy.sparse.csgraph import breadth_first_order

        _, pred = breadth_first_order(A, p, directed=False)
        if q != p and pred[q] < 0:
            return np.zeros(0, np.int64)
        a, b = [], []
        node = q
        while node != p:
            a.append(pred[node])
            b.append(node)
            node = pred[node]
        return self._data.edge_ids(np.array(a, np.int64), np.array(b, np.int64))

    def _merge_edges(self, lo, hi, w_add, into_h):
        data = self._data
        ids = data.edge_ids(lo, hi)
        old = ids >= 0
        weights = data.weights.copy()
        weights[ids[old]] += w_add[old]
        h = self._h_weights.copy()
        grow = ids[old & into_h]
        h[grow] = weights[grow]
        new = ~old
        rows = np.concatenate([data.rows, lo[new]])
        cols = np.concatenate([data.cols, hi[new]])
        weights = np.concatenate([weights, w_add[new]])
        h = np.concatenate([h, np.where(into_h[new], w_add[new], 0.0)])
        attrs, given = data.edge_attrs, data.weight_given
        if attrs is not None:
            attrs = attrs + [{} for _ in range(int(new.sum()))]
            given = np.concatenate([given, np.ones(int(new.sum()), bool)])
        order = np.lexsort((cols, rows))
        self._data = GraphData(n=data.n, rows=rows[order], cols=cols[order],
                               weights=weights[order], kind=data.kind, template=data.template,
                               nodes=data.nodes,
                               edge_attrs=None if attrs is None else [attrs[k] for k in order],
                               weight_given=None if given is None else given[order])
        self._h_weights = h[order]

    def _subset(self, keep):
        data = self._data
        attrs = None if data.edge_attrs is None else [a for a, k in zip(data.edge_attrs, keep)
                                                      if k]
        self._data = GraphData(n=data.n, rows=data.rows[keep], cols=data.cols[keep],
                               weights=data.weights[keep], kind=data.kind,
                               template=data.template, nodes=data.nodes, edge_attrs=attrs,
                               weight_given=None if data.weight_given is None
                               else data.weight_given[keep])
        self._h_weights = self._h_weights[keep]

    def _record(self, inserted, deleted, added):
        n_h = int((self._h_weights > 0).sum())
        self.update_history_.record(len(self.update_history_),
                                    criterion=(n_h - self._n_forest) / self._data.n,
                                    inserted=inserted, deleted=deleted,
                                    added_to_sparsifier=added, sparsifier_edges=n_h)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = True  # X is a square adjacency matrix
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True  # edge weights are nonnegative
        tags.requires_fit = True
        return tags


def _n_components(data: GraphData) -> int:
    from ._laplacian import components

    return components(data)[0]
