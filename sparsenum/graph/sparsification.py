"""Spectral sparsification: a spanning tree plus the spectrally critical off-tree edges
(GRASS, feGRASS), or effective-resistance sampling (Spielman & Srivastava)."""

from __future__ import annotations

import dataclasses

import numpy as np

from sparsenum.base import ConvergenceHistory
from sparsenum.utils import (
    check_int,
    check_n_jobs,
    check_one_of,
    check_random_state,
    check_scalar,
)
from sparsenum.utils.progress import Progress

from . import _kernels
from ._graphs import GraphData, as_graph, make_graph
from ._laplacian import GroundedSolver, components, ground_nodes, laplacian
from ._result import SparsifierResult
from .condition import _lanczos_max
from .resistance import resistances
from .trees import TREE_KINDS, TreePaths, tree_mask

__all__ = ["sparsify"]

METHODS = ("grass", "fegrass", "resistance")


@dataclasses.dataclass(frozen=True)
class _GrassTuning:
    # the off-tree budget is spread over this many densification rounds when no target is set:
    # scores are recomputed after each round, so later edges fix what earlier ones left
    rounds_for_budget: int = 10
    # random start vectors and power steps h = (L_H^+ L_G)^t x scoring the off-tree edges: a
    # few vectors cover several dominant generalized eigenvectors; three steps separated them
    # best on the benchmark graphs (kappa 3-17% lower than two steps, at the same density)
    power_vectors: int = 8
    power_steps: int = 3
    # per-round lambda_max by ARPACK started from the power vector of largest Rayleigh quotient
    # (close to the top eigenvector), with a short Lanczos basis: about 40% fewer solves with
    # L_H than ARPACK's default basis of 20; the tolerance is a residual bound: at 1e-2 the
    # eigenvalue came out 0.02-1.5% low on the benchmark graphs (where in that range depends on
    # rounding: the stop is a threshold test between restarts), at 5e-3 within 0.02%
    lanczos_tol: float = 5e-3
    lanczos_ncv: int = 8
    # similarity_hops="auto": the largest h whose mean h-hop ball, times the edges added per
    # round, still fits in the graph (each round's edges then spread over the whole graph);
    # ball sizes are averaged over this many evenly spaced nodes, h searched up to max_hops
    ball_sample: int = 64
    max_hops: int = 12
    # tree="auto" compares the trees' total stretch on at most this many evenly strided edges:
    # the per-edge path queries dominate the choice's cost on large graphs, and the totals of
    # the two trees differed by far more than the sampling error on every benchmark graph
    stretch_sample: int = 16384


GRASS = _GrassTuning()

LABELS = {"condition_number": "relative condition number kappa(L_G, L_H) (estimate)",
          "n_edges": "edges in the sparsifier", "offtree_density": "off-tree edges / nodes"}


def sparsify(G, *, method="grass", offtree_density=0.10, target_condition=None, tree="auto",
             similarity_hops="auto", max_rounds=20, random_state=None, n_jobs=None, verbose=0,
             callback=None):
    """Spectral sparsifier ``H`` of a weighted graph ``G``: few edges, ``L_H`` close to ``L_G``.

    Parameters
    ----------
    G : scipy.sparse matrix, ndarray or networkx.Graph
        Symmetric nonnegative adjacency (zero entries are not edges) or an undirected networkx
        graph (``"weight"`` attribute, default 1). Disconnected graphs are sparsified per
        component (a spanning forest plus off-forest edges).
    method : {"grass", "fegrass", "resistance"}, default="grass"
        ``"grass"``: spanning tree, then off-tree edges in rounds, each round ranking them by
        ``w_pq (h_p - h_q)^2`` with ``h`` a few power steps of ``L_H^+ L_G`` (the edges that
        carry the largest generalized eigenvalues); ``"fegrass"``: effective-weight tree and
        off-tree edges ranked once by tree stretch (no eigensolve); ``"resistance"``:
        Spielman-Srivastava sampling with probability ``∝ w_e R_e`` and reweighting (no tree;
        on sparse graphs it leaves ``H`` disconnected unless the density is high).
    offtree_density : float in [0, 1], default=0.10
        Off-tree edges kept, as a fraction of the number of nodes: ``H`` has
        ``n - c + round(offtree_density * n)`` edges for ``c`` components (fewer if ``G`` has
        fewer). With ``target_condition`` it is the most that may be added.
    target_condition : float > 1, optional
        Stop adding edges (``"grass"``, ``"fegrass"``) as soon as the estimated ``kappa`` is at
        most this; ``converged`` tells whether it was met within the budget and ``max_rounds``.
    tree : {"auto", "low_stretch", "max_weight", "effective_weight", "random"}, default="auto"
        The spanning tree (see :func:`spanning_tree`); ``"auto"``: for GRASS, of a
        ``"low_stretch"`` and the ``"max_weight"`` tree the one of lower total stretch
        (see :func:`tree_stretch`); for feGRASS, ``"effective_weight"``. Ignored by
        ``"resistance"``.
    similarity_hops : int >= 0 or "auto", default="auto"
        An edge is skipped in a round when both its ends lie within this many hops of an edge
        added in the same round (it would fix the same mode); 0 disables the filter.
        ``"auto"``: the largest ``h`` for which the ``h``-hop balls around one round's edges
        (mean size over 64 evenly spaced nodes) fit in the graph, so that each round's edges
        spread over all of it (about 6 on a 2-D grid at 1% of ``n`` per round, 2 on a kNN
        graph).
    max_rounds : int >= 1, default=20
        Most densification rounds.
    random_state : None, int, RandomState or Generator
        Drives the tree, the power-step start vectors and the sampling.
    n_jobs : int or None
        Threads of the tree-path kernel (same result for any value).
    verbose : int or bool, default=0
        ``1``: a line when done; ``2``: also a line per densification round (round, edges,
        ``kappa`` estimate, off-tree density), the rows of ``history``.
    callback : callable, optional
        ``callback(iteration, state)`` at every row of ``history`` (``iteration`` 0: the tree
        alone, then one per densification round; ``"resistance"``: one row, iteration 1),
        ``state`` a read-only mapping of ``condition_number`` (the estimate), ``n_edges``,
        ``offtree_density`` and a copy of ``edge_mask``. Returning True stops the
        densification after that round: the result holds the edges kept so far, and
        ``converged`` is False if the budget was not used up (with a ``target_condition``:
        whether it was met).

    Returns
    -------
    result : SparsifierResult
        ``sparsifier`` (the input's type), ``edge_mask``, ``weights``, ``condition_number``
        (estimate), ``offtree_density``, ``tree`` and a ``history`` per round.

    Raises
    ------
    ValueError, TypeError
        For an invalid graph (directed, asymmetric, self-loops, negative or non-finite weights)
        or parameters out of range.

    References
    ----------
    Z. Feng. Similarity-aware spectral sparsification by edge filtering. DAC 2018 (GRASS).
    Z. Liu, W. Yu, Z. Feng. feGRASS: Fast and effective graph spectral sparsification for
    scalable power grid analysis. IEEE TCAD 41(3), 2022.
    D. A. Spielman, N. Srivastava. Graph sparsification by effective resistances. SIAM J.
    Comput. 40(6), 2011.

    Examples
    --------
    >>> import networkx as nx
    >>> from sparsenum.graph import sparsify
    >>> G = nx.grid_2d_graph(20, 20)
    >>> res = sparsify(G, offtree_density=0.1, random_state=0)
    >>> res.sparsifier.number_of_edges()  # 399 tree edges + 40 off-tree edges
    439
    >>> bool(res.condition_number < 100)
    True
    """
    data = as_graph(G)
    check_one_of(method, "method", METHODS)
    density = check_scalar(offtree_density, "offtree_density", low=0.0, high=1.0)
    target = check_scalar(target_condition, "target_condition", low=1.0, include_low=False,
                          allow_none=True)
    check_one_of(tree, "tree", ("auto", *TREE_KINDS))
    if similarity_hops == "auto":
        hops = None
    elif isinstance(similarity_hops, str):
        raise ValueError(f"similarity_hops must be 'auto' or an integer >= 0; got "
                         f"{similarity_hops!r}")
    else:
        hops = check_int(similarity_hops, "similarity_hops", low=0, high=1000)
    max_rounds = check_int(max_rounds, "max_rounds", low=1)
    rng = check_random_state(random_state)
    check_n_jobs(n_jobs)
    progress = Progress("sparsify", verbose, callback)
    if method == "resistance":
        if target is not None:
            raise ValueError("target_condition applies to method='grass' or 'fegrass'; "
                             f"got method='resistance' with target_condition={target_condition!r}")
        result = _resistance_sampling(data, density, rng, progress)
    else:
        if tree == "auto" and method == "fegrass":
            tree = "effective_weight"
        result = _tree_recovery(data, method, density, target, tree, hops, max_rounds, rng,
                                n_jobs, progress)
    stopped = " (stopped by the callback)" if progress.stopped and method != "resistance" else ""
    progress.finish(f"{result.n_iter} rounds{stopped}, {int(result.edge_mask.sum())} edges, "
                    f"offtree_density={result.offtree_density:.4g}, "
                    f"condition_number={result.condition_number:.4g} (estimate)")
    return result


def _report(history, progress, iteration, kappa, mask, n_forest, n) -> bool:
    """Records a history row and reports it; True when the callback asks to stop."""
    row = {"condition_number": float(kappa), "n_edges": int(mask.sum()),
           "offtree_density": float((mask.sum() - n_forest) / n)}
    history.record(iteration, criterion=row["condition_number"], n_edges=row["n_edges"],
                   offtree_density=row["offtree_density"])
    return progress.active and progress.update(iteration, row,
                                               details=lambda: {"edge_mask": _frozen(mask)})


def _frozen(a: np.ndarray) -> np.ndarray:
    copy = a.copy()
    copy.flags.writeable = False
    return copy


class _Estimator:
    """kappa estimates of ``G`` against subgraphs of ``G`` (factorization of ``L_G`` reused)."""

    def __init__(self, data: GraphData, order: np.ndarray | None = None):
        self.data = data
        self.n_comp, self.labels = components(data)
        if order is None:
            self.grounded = ground_nodes(self.labels, self.n_comp)
        else:  # renumbered (see _renumbered): ground the nodes grounded in the original
            # numbering, so that the power vectors starting Lanczos are the same vectors
            inverse = np.empty(data.n, np.int64)
            inverse[order] = np.arange(data.n)
            self.grounded = ground_nodes(self.labels[inverse], self.n_comp)[order]
        self.L_g = laplacian(data)
        self._solver_g = None
        self._L_g_free = None

    def kappa(self, weights, mask, *, subgraph=False, power=None, spanning=False):
        """kappa, the factorization of ``L_H`` and power vectors; ``subgraph``: ``H`` keeps
        ``G``'s weights; ``spanning``: ``H`` contains a spanning forest of ``G`` (connectivity
        not checked again); ``power(solver_h)``: power vectors of ``L_H^+ L_G`` on this
        factorization and their Rayleigh quotients (vectors returned, else None), the one of
        largest quotient starting the Lanczos iteration for lambda_max (it lies close to the
        top eigenvector)."""
        if not spanning:
            n_h, _ = components(self.data, mask)
            if n_h != self.n_comp:
                return float("inf"), None, None
        L_h = laplacian(self.data, weights, mask)
        solver_h = GroundedSolver(L_h, self.grounded, eliminate=True)
        h = v0 = None
        if power is not None:
            h, quotient = power(solver_h)
            v0 = h[:, int(np.argmax(quotient))]
        if solver_h.free.size == 0:
            return 1.0, solver_h, h
        tol = GRASS.lanczos_tol
        if self._L_g_free is None:
            self._L_g_free = self.L_g[solver_h.free][:, solver_h.free].tocsr()
        lam_max = _lanczos_max(self.L_g, L_h, self.grounded, tol, solver_h, v0,
                               GRASS.lanczos_ncv, A_free=self._L_g_free)
        if subgraph and self._has_complete_node(mask):
            # lambda_min >= 1 for a subgraph with G's weights, and the unit vector of a free
            # node keeping all its edges attains 1: no eigensolve needed
            return lam_max, solver_h, h
        if self._solver_g is None:
            self._solver_g = GroundedSolver(self.L_g, self.grounded)
        lam_min = 1.0 / _lanczos_max(L_h, self.L_g, self.grounded, tol, self._solver_g)
        return lam_max / lam_min, solver_h, h

    def _has_complete_node(self, mask) -> bool:
        d = self.data
        missing = np.bincount(d.rows[~mask], minlength=d.n) + \
            np.bincount(d.cols[~mask], minlength=d.n)
        return bool(((missing == 0) & ~self.grounded).any())


def _tree_recovery(data, method, density, target, tree, hops, max_rounds, rng, n_jobs,
                   progress):
    mask = _lower_stretch_tree(data, rng, n_jobs) if tree == "auto" else tree_mask(data, tree, rng)
    tree_edges = mask.copy()
    original, (data, order) = data, _renumbered(data)  # same edges in the same order
    estimator = _Estimator(data, order)
    n_forest = data.n - estimator.n_comp
    budget = min(round(density * data.n), data.m - n_forest)
    if method == "fegrass" and target is None:
        quota = budget  # feGRASS ranks once: one round takes the whole budget
    else:
        quota = int(np.ceil(budget / min(max_rounds, GRASS.rounds_for_budget))) if budget else 0
    indptr, indices, _ = data.csr_with_ids()
    if hops is None:
        hops = auto_hops(data.n, quota, indptr, indices, order)
    static_scores = None
    if method == "fegrass":
        # on the original numbering: the paths' sums run from the same roots, so edges of
        # equal stretch (stencils have many) keep their order
        paths = TreePaths(original, mask)
        static_scores = data.weights * paths.resistance(original.rows, original.cols, n_jobs)

    def power(solver_h):
        return _power_vectors(estimator, solver_h, rng, order)

    def scoring(added, rounds):  # power vectors needed: another round may follow
        return power if static_scores is None and added < budget and rounds < max_rounds \
            else None

    kappa, _, h = estimator.kappa(data.weights, mask, subgraph=True, power=scoring(0, 0),
                                  spanning=True)
    history = ConvergenceHistory(max_rounds + 1, ("n_edges", "offtree_density"),
                                 criterion_name="condition_number", labels=LABELS)
    stop = _report(history, progress, 0, kappa, mask, n_forest, data.n)
    added, rounds = 0, 0
    while added < budget and rounds < max_rounds and not stop and \
            not (target is not None and kappa <= target):
        off = np.flatnonzero(~mask)
        if static_scores is not None:
            scores = static_scores[off]
        else:  # GRASS: w_pq sum_j (h_pj - h_qj)^2 over the power vectors h_j
            scores = _kernels.power_scores(data.rows, data.cols, data.weights,
                                           np.ascontiguousarray(h), off)
        candidates = off[np.argsort(-scores, kind="stable")].astype(np.int64)
        chosen = _kernels.select_with_filter(candidates, data.rows, data.cols,
                                             min(quota, budget - added), hops, indptr, indices,
                                             data.n)
        if chosen.size == 0:
            break
        mask[candidates[chosen]] = True
        added += chosen.size
        rounds += 1
        kappa, _, h = estimator.kappa(data.weights, mask, subgraph=True,
                                      power=scoring(added, rounds), spanning=True)
        stop = _report(history, progress, rounds, kappa, mask, n_forest, data.n)
    data = original
    weights = np.where(mask, data.weights, 0.0)
    cut_short = stop and added < budget and rounds < max_rounds  # by the callback
    met = kappa <= target if target is not None else not cut_short
    return SparsifierResult(
        converged=bool(met), n_iter=rounds, history=history,
        sparsifier=make_graph(data, mask), edge_mask=mask, weights=weights,
        condition_number=float(kappa), offtree_density=float((mask.sum() - n_forest) / data.n),
        tree=make_graph(data, tree_edges))


def _lower_stretch_tree(data: GraphData, rng, n_jobs) -> np.ndarray:
    """Of a low-stretch tree and the maximum-weight tree, the one of lower total stretch
    ``sum_e w_e R_T(e)`` (estimated on evenly strided edges): neither wins on every graph
    (low-stretch on meshes and grids, the maximum-weight tree on random geometric and kNN
    graphs); the total stretch is the trace of
    ``L_T^+ L_G``, the sum of the eigenvalues recovery has to bring down, and it picked the
    tree giving the lower kappa after recovery on each benchmark graph."""
    best, best_stretch = None, np.inf
    sample = np.arange(0, data.m, max(1, data.m // GRASS.stretch_sample))
    rows, cols, weights = data.rows[sample], data.cols[sample], data.weights[sample]
    for kind in ("low_stretch", "max_weight"):
        mask = tree_mask(data, kind, rng)
        paths = TreePaths(data, mask)
        stretch = float(np.sum(weights * paths.resistance(rows, cols, n_jobs)))
        if stretch < best_stretch:
            best, best_stretch = mask, stretch
    return best


def _renumbered(data: GraphData) -> tuple[GraphData, np.ndarray]:
    """``data``'s edges, in the same order, on nodes renumbered by reverse Cuthill-McKee, and
    ``order`` (new node ``i`` is node ``order[i]``). Neighbours get close numbers, so the
    products, eliminations and solves of every round read memory nearly in order instead of
    at random (Delaunay graph of 2^18 random points: 1.6x fewer CPU seconds); results are
    the same up to rounding, as long as the random draws per node follow the old numbers."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    if data.m == 0:
        return data, np.arange(data.n)
    order = reverse_cuthill_mckee(data.adjacency(), symmetric_mode=True).astype(np.int64)
    label = np.empty(data.n, np.int64)
    label[order] = np.arange(data.n)
    # each edge keeps its ends in the same order (rows < cols may no longer hold): the
    # similarity filter marks the ball around the first end first, and its marks depend on it
    return dataclasses.replace(data, rows=label[data.rows], cols=label[data.cols]), order


def auto_hops(n: int, quota: int, indptr, indices, order=None) -> int:
    """Largest ``h`` with ``quota * mean |ball_h| <= n`` (at least 1); ``order``: the nodes'
    original numbers, if renumbered (the sample is taken in the original numbering)."""
    if quota <= 0 or n <= 1:
        return 1
    sample = np.unique(np.linspace(0, n - 1, min(GRASS.ball_sample, n)).astype(np.int64))
    if order is not None:
        label = np.empty(n, np.int64)
        label[order] = np.arange(n)
        sample = label[sample]
    sizes = _kernels.mean_ball_sizes(indptr, indices, sample, GRASS.max_hops)
    fits = np.flatnonzero(sizes[1:] * quota <= n)
    return int(fits[-1] + 1) if fits.size else 1


def _power_vectors(estimator: _Estimator, solver_h: GroundedSolver, rng, order):
    """GRASS's power-step vectors ``h = (L_H^+ L_G)^t x`` from random ``x``, scaled to
    ``h^T L_G h = 1``, and their Rayleigh quotients ``h^T L_G h / h^T L_H h``; ``x`` drawn in
    the original node numbering (``order``: see :func:`_renumbered`)."""
    h = rng.standard_normal((estimator.data.n, GRASS.power_vectors))[order]
    for _ in range(GRASS.power_steps):
        y = estimator.L_g @ h
        h = solver_h.solve(y)
    # L_H h = y on the free nodes and h = 0 on the grounded ones: h^T L_H h = h^T y
    L_h_norm = np.einsum("ij,ij->j", h, y)
    L_g_norm = np.maximum(np.einsum("ij,ij->j", h, estimator.L_g @ h), 1e-300)
    return h / np.sqrt(L_g_norm), L_g_norm / np.maximum(L_h_norm, 1e-300)


def _resistance_sampling(data: GraphData, density: float, rng, progress) -> SparsifierResult:
    """Spielman-Srivastava: ``q`` draws with probability ``p_e ∝ w_e R_e``, kept edges
    reweighted by ``w_e count_e / (q p_e)``; ``q`` is set so that the expected number of
    distinct edges kept is ``n - c + round(density * n)``."""
    n_comp, _ = components(data)
    n_forest = data.n - n_comp
    wanted = min(n_forest + round(density * data.n), data.m)
    history = ConvergenceHistory(2, ("n_edges", "offtree_density"),
                                 criterion_name="condition_number", labels=LABELS)
    if data.m == 0 or wanted == 0:
        mask = np.zeros(data.m, bool)
        kappa = 1.0 if data.m == 0 else float("inf")
        weights = np.zeros(data.m)
    else:
        R = resistances(data, data.rows, data.cols, "auto", 0.3, rng)
        p = data.weights * R
        p = p / p.sum()
        q = _draws_for_distinct(p, wanted)
        counts = np.bincount(rng.choice(data.m, size=q, p=p), minlength=data.m)
        mask = counts > 0
        weights = np.where(mask, data.weights * counts / (q * p), 0.0)
        kappa, _, _ = _Estimator(data).kappa(weights, mask)
    _report(history, progress, 1, kappa, mask, n_forest, data.n)
    return SparsifierResult(
        converged=True, n_iter=1, history=history, sparsifier=make_graph(data, mask, weights),
        edge_mask=mask, weights=weights, condition_number=float(kappa),
        offtree_density=float((mask.sum() - n_forest) / data.n), tree=None)


def _draws_for_distinct(p: np.ndarray, wanted: int) -> int:
    """Smallest ``q`` with ``sum_e 1 - (1 - p_e)^q >= wanted`` (bisection; capped)."""
    def distinct(q):
        return float(-np.expm1(q * np.log1p(-np.minimum(p, 1 - 1e-16))).sum())

    lo, hi = 1, max(wanted, 1)
    while distinct(hi) < wanted and hi < 2**40:
        hi *= 2
    while lo < hi:
        mid = (lo + hi) // 2
        if distinct(mid) >= wanted:
            hi = mid
        else:
            lo = mid + 1
    return int(lo)
