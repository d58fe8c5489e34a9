"""Effective resistances, condition numbers, trees and stretch against references nobody here
wrote: dense pseudo-inverses (LAPACK), scipy.linalg.eigh, networkx."""

import networkx as nx
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sparsenum.graph import (
    effective_resistance,
    relative_condition_number,
    spanning_tree,
    tree_stretch,
)

from .conftest import delaunay_graph, dense_pinv_resistance


def _edges(A):
    upper = sp.triu(A, 1).tocsr()
    upper.sort_indices()
    rows = np.repeat(np.arange(A.shape[0]), np.diff(upper.indptr))
    return rows, upper.indices, upper.data


def _grounded_dense_kappa(A, B):
    """kappa of the pencil with the first node of each component grounded (scipy eigh)."""
    n_comp, labels = connected_components(A, directed=False)
    first = [np.flatnonzero(labels == c)[0] for c in range(n_comp)]
    free = np.setdiff1d(np.arange(A.shape[0]), first)
    def L(M):
        return (sp.diags(np.asarray(M.sum(1)).ravel()) - M).toarray()[np.ix_(free, free)]
    values = scipy.linalg.eigh(L(A), L(B), eigvals_only=True)
    return values[-1] / values[0]


# -- effective resistance -------------------------------------------------------------------

def test_exact_resistance_matches_dense_pinv(delaunay_small):
    rows, cols, _ = _edges(delaunay_small)
    ours = effective_resistance(delaunay_small, method="exact")
    ref = dense_pinv_resistance(delaunay_small, rows, cols)
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_exact_resistance_arbitrary_pairs_and_disconnected(disconnected):
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, 60, size=(40, 2))
    ours = effective_resistance(disconnected, pairs, method="exact")
    ref = dense_pinv_resistance(disconnected[:60, :60], pairs[:, 0], pairs[:, 1])
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
    across = effective_resistance(disconnected, [[0, 70], [5, 100], [100, 100]])
    assert np.isinf(across[:2]).all() and across[2] == 0.0


def test_resistance_matches_networkx(rgg_nx):
    G = rgg_nx.subgraph(max(nx.connected_components(rgg_nx), key=len)).copy()
    pairs = list(G.edges)[:15] + [(a, b) for a, b in zip(list(G)[:5], list(G)[-5:])]
    ours = effective_resistance(G, pairs, method="exact")
    # our weights are conductances: networkx must use them as they are (invert_weight=True
    # would read them as resistances)
    ref = [nx.resistance_distance(G, a, b, weight="weight", invert_weight=False)
           for a, b in pairs]
    np.testing.assert_allclose(ours, ref, rtol=1e-8)


def test_sketch_within_eps_for_95_percent():
    A = delaunay_graph(800, seed=2, weighted=True)
    exact = effective_resistance(A, method="exact")
    for seed in range(2):
        sketch = effective_resistance(A, method="sketch", eps=0.3, random_state=seed)
        assert np.mean(np.abs(sketch - exact) <= 0.3 * exact) >= 0.95


def test_fosters_theorem(delaunay_small, disconnected):
    """sum_e w_e R_e = n - c (Foster), each term in (0, 1]."""
    for A, c in ((delaunay_small, 1), (disconnected, 3)):
        _, _, w = _edges(A)
        wr = w * effective_resistance(A)
        assert wr.sum() == pytest.approx(A.shape[0] - c, rel=1e-10)
        assert (wr > 0).all() and (wr <= 1 + 1e-12).all()


# -- relative condition number --------------------------------------------------------------

def test_condition_number_matches_dense_eigh(delaunay_small):
    T = spanning_tree(delaunay_small, kind="max_weight")
    H = T + 0.5 * (delaunay_small - T)  # same edges as G, off-tree ones at half weight
    for B in (T, H):
        ref = _grounded_dense_kappa(delaunay_small, B)
        assert relative_condition_number(delaunay_small, B) == pytest.approx(ref, rel=1e-9)
        assert relative_condition_number(delaunay_small, B, exact=False) == \
            pytest.approx(ref, rel=1e-6)


def test_condition_number_disconnected_and_mismatch(disconnected):
    T = spanning_tree(disconnected, kind="max_weight")
    ref = _grounded_dense_kappa(disconnected, T)
    assert relative_condition_number(disconnected, T) == pytest.approx(ref, rel=1e-9)
    assert relative_condition_number(disconnected, T, exact=False) == pytest.approx(ref, rel=1e-6)
    broken = T.tolil()
    i, j = sp.triu(T, 1).nonzero()
    broken[i[0], j[0]] = broken[j[0], i[0]] = 0
    assert relative_condition_number(disconnected, broken.tocsr()) == np.inf


def test_condition_number_scale_and_labels(rgg_nx):
    H = rgg_nx.copy()
    for a, b in H.edges:
        H[a][b]["weight"] *= 3.0
    H = nx.relabel_nodes(H, {v: v for v in H})  # same labels, maybe other order
    assert relative_condition_number(rgg_nx, H) == pytest.approx(1.0, rel=1e-9)


# -- trees and stretch ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["low_stretch", "max_weight", "effective_weight", "random"])
def test_spanning_forest_is_a_spanning_subgraph(kind, disconnected):
    T = spanning_tree(disconnected, kind=kind, random_state=0)
    assert sp.issparse(T) and T.format == "csr"
    n_comp, _labels = connected_components(disconnected, directed=False)
    n_t, _labels_t = connected_components(T, directed=False)
    assert n_t == n_comp and T.nnz // 2 == disconnected.shape[0] - n_comp
    assert ((T != 0) > (disconnected != 0)).nnz == 0  # a subgraph
    np.testing.assert_array_equal(T[T.nonzero()], disconnected[T.nonzero()])


def test_max_weight_tree_matches_networkx(rgg_nx):
    ours = spanning_tree(rgg_nx, kind="max_weight")
    ref = nx.maximum_spanning_tree(rgg_nx, weight="weight")
    assert {frozenset(e) for e in ours.edges} == {frozenset(e) for e in ref.edges}
    assert list(ours.nodes) == list(rgg_nx.nodes)
    assert all(d["color"] == "red" for *_, d in ours.edges(data=True))


def test_tree_stretch_matches_networkx_paths(rgg_nx):
    G = rgg_nx
    T = spanning_tree(G, kind="low_stretch", random_state=1)
    stretch = tree_stretch(G, T)
    Tr = nx.Graph()
    Tr.add_nodes_from(T)
    Tr.add_edges_from((a, b, {"r": 1.0 / d["weight"]}) for a, b, d in T.edges(data=True))
    index = {v: i for i, v in enumerate(G.nodes)}
    edges = sorted(G.edges(data=True), key=lambda e: tuple(sorted((index[e[0]], index[e[1]]))))
    ref = [d["weight"] * nx.shortest_path_length(Tr, a, b, weight="r") for a, b, d in edges]
    np.testing.assert_allclose(stretch, ref, rtol=1e-10)


def test_tree_stretch_rejects_non_trees(delaunay_small):
    with pytest.raises(ValueError, match="tree must be a forest"):
        tree_stretch(delaunay_small, delaunay_small)
    T = spanning_tree(delaunay_small, kind="max_weight").tolil()
    i, j = sp.triu(T, 1).nonzero()
    T[i[0], j[0]] = T[j[0], i[0]] = 0
    with pytest.raises(ValueError, match="span every connected component"):
        tree_stretch(delaunay_small, T.tocsr())


def test_low_stretch_tree_beats_max_weight_on_a_grid():
    A = nx.to_scipy_sparse_array(nx.grid_2d_graph(40, 40), format="csr")
    low = tree_stretch(A, spanning_tree(A, random_state=0)).mean()
    maxw = tree_stretch(A, spanning_tree(A, kind="max_weight")).mean()
    assert low < 0.5 * maxw


def test_low_stretch_tree_spans_when_contraction_levels_run_out(monkeypatch, disconnected):
    import dataclasses

    from sparsenum.graph import trees

    monkeypatch.setattr(trees, "LOW_STRETCH",
                        dataclasses.replace(trees.LOW_STRETCH, max_levels=1))
    T = spanning_tree(disconnected, kind="low_stretch", random_state=0)
    n_comp, _labels = connected_components(disconnected, directed=False)
    n_t, _labels_t = connected_components(T, directed=False)
    assert n_t == n_comp and T.nnz // 2 == disconnected.shape[0] - n_comp
    assert ((T != 0) > (disconnected != 0)).nnz == 0
