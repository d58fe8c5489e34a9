"""SpectralSparsifier: dyGRASS insertions and deletions keep H inside G, connected where G is,
with a condition number (checked by dense LAPACK eigensolves) under the target."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sparsenum.graph import SpectralSparsifier, relative_condition_number

from .conftest import delaunay_graph


@pytest.fixture(scope="module")
def mesh():
    return delaunay_graph(500, seed=11)


def _stream(A, rng, k):
    n = A.shape[0]
    A3 = (A @ A @ A).tocsr()
    pairs = []
    for s in rng.integers(0, n, k // 2):  # local: 2-3 hops apart
        cand = A3[s].indices
        cand = cand[(cand != s) & (np.asarray(A[s, cand].todense()).ravel() == 0)]
        pairs.append((s, rng.choice(cand)))
    while len(pairs) < k:  # long range
        a, b = rng.integers(0, n, 2)
        if a != b:
            pairs.append((a, b))
    return np.array(pairs)


def _check_inside(est):
    G, H = est.graph_, est.sparsifier_
    assert ((H != 0) > (G != 0)).nnz == 0
    np.testing.assert_array_equal(H[H.nonzero()], G[H.nonzero()])
    assert connected_components(H, directed=False)[0] == connected_components(G, directed=False)[0]


def test_random_streams_keep_h_inside_g_and_kappa_low(mesh):
    rng = np.random.default_rng(0)
    est = SpectralSparsifier(random_state=0).fit(mesh)
    kappa0 = est.estimate_condition_number(exact=True)
    for _ in range(3):
        est.insert_edges(_stream(est.graph_, rng, 15))
        _check_inside(est)
        upper = sp.triu(est.graph_, 1).tocoo()
        drop = rng.choice(upper.nnz, 15, replace=False)
        est.delete_edges(np.c_[upper.row[drop], upper.col[drop]])
        _check_inside(est)
        kappa = est.estimate_condition_number(exact=True)
        assert kappa == pytest.approx(relative_condition_number(est.graph_, est.sparsifier_,
                                                                exact=True))
        assert kappa <= max(100.0, 1.3 * kappa0)
    history = est.update_history_
    assert len(history) == 7 and history.iteration[-1] == 6
    assert history.criterion[-1] - history.criterion[0] <= 0.1
    np.testing.assert_array_equal(history["inserted"], [0, 15, 0, 15, 0, 15, 0])


def test_inserting_an_existing_edge_adds_weights(mesh):
    est = SpectralSparsifier(random_state=0).fit(mesh)
    i, j = sp.triu(mesh, 1).nonzero()
    est.insert_edges([[i[0], j[0]], [j[0], i[0]]], weights=[1.5, 2.0])
    assert est.graph_[i[0], j[0]] == pytest.approx(mesh[i[0], j[0]] + 3.5)
    _check_inside(est)


def test_same_seed_same_updates_any_n_jobs(mesh):
    rng = np.random.default_rng(5)
    pairs = _stream(mesh, rng, 20)
    out = []
    for n_jobs in (1, 2):
        est = SpectralSparsifier(random_state=1, n_jobs=n_jobs).fit(mesh)
        est.insert_edges(pairs)
        upper = sp.triu(est.graph_, 1).tocoo()
        est.delete_edges(np.c_[upper.row[:10], upper.col[:10]])
        out.append(est.sparsifier_)
    assert (out[0] != out[1]).nnz == 0


def test_networkx_labels_and_errors():
    G = nx.relabel_nodes(nx.grid_2d_graph(12, 12), lambda v: f"n{v[0]}-{v[1]}")
    est = SpectralSparsifier(random_state=0).fit(G)
    assert isinstance(est.fit_transform(G), nx.Graph)
    est.insert_edges([("n0-0", "n5-5")], weights=[3.0])
    assert est.graph_["n0-0"]["n5-5"]["weight"] == 3.0
    est.delete_edges([("n0-0", "n0-1")])
    assert not est.graph_.has_edge("n0-0", "n0-1")
    assert set(est.sparsifier_.nodes) == set(G.nodes)
    with pytest.raises(ValueError, match="edges"):
        est.delete_edges([("n0-0", "n0-1")])  # already gone
    with pytest.raises(ValueError, match="edges"):
        est.insert_edges([("n0-0", "nowhere")])
    with pytest.raises(ValueError, match="edges"):
        est.insert_edges([("n0-0", "n0-0")])
    with pytest.raises(ValueError, match="weights"):
        est.insert_edges([("n0-0", "n3-3")], weights=[-1.0])
    with pytest.raises(ValueError, match="weights"):
        est.insert_edges([("n0-0", "n3-3")], weights=[1.0, 2.0])


@pytest.mark.parametrize("param, value", [
    ("insert_threshold", 0.0), ("delete_threshold", -1.0), ("n_walkers", 0),
    ("max_walk_steps", 2.5), ("offtree_density", 2.0), ("n_jobs", 0),
])
def test_bad_parameters_fail_in_fit(param, value, mesh):
    est = SpectralSparsifier(**{param: value})
    with pytest.raises((ValueError, TypeError), match=param):
        est.fit(mesh)


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SpectralSparsifier().insert_edges([[0, 1]])
