"""Sparsifiers and the Laplacian solver: structure, condition numbers checked by a dense
generalized eigensolve (LAPACK), solutions checked against scipy's spsolve."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve

from sparsenum.graph import relative_condition_number, solve_laplacian, sparsify

from .conftest import delaunay_graph


@pytest.fixture(scope="module")
def mesh():
    return delaunay_graph(400, seed=7, weighted=True)


@pytest.mark.parametrize("method", ["grass", "fegrass"])
def test_sparsifier_is_a_connected_subgraph_of_the_right_size(method, mesh):
    res = sparsify(mesh, method=method, offtree_density=0.1, random_state=0)
    H = res.sparsifier
    assert sp.issparse(H) and H.format == "csr" and H.shape == mesh.shape
    assert ((H != 0) > (mesh != 0)).nnz == 0
    np.testing.assert_array_equal(H[H.nonzero()], mesh[H.nonzero()])
    assert connected_components(H, directed=False)[0] == 1
    assert H.nnz // 2 == 400 - 1 + 40 == res.edge_mask.sum()
    assert res.offtree_density == pytest.approx(0.1)
    exact = relative_condition_number(mesh, H, exact=True)
    assert res.condition_number == pytest.approx(exact, rel=1e-3)
    assert res.history.criterion[-1] == res.condition_number
    assert res.history["n_edges"][-1] == H.nnz // 2
    assert res.history.iteration[-1] == res.n_iter


def test_grass_beats_random_tree_and_lowers_kappa_each_round(mesh):
    res = sparsify(mesh, offtree_density=0.15, random_state=0)
    kappas = res.history.criterion
    assert kappas[-1] < kappas[0] / 5
    random_tree = sparsify(mesh, method="fegrass", tree="random", offtree_density=0.15,
                           similarity_hops=0, random_state=0)
    assert res.condition_number < random_tree.condition_number


def test_target_condition_met_by_dense_eigensolve(mesh):
    res = sparsify(mesh, offtree_density=1.0, target_condition=20.0, random_state=0)
    assert res.converged and res.condition_number <= 20.0
    assert relative_condition_number(mesh, res.sparsifier, exact=True) <= 20.0 * (1 + 1e-3)
    few = sparsify(mesh, offtree_density=0.01, target_condition=2.0, random_state=0)
    assert not few.converged and few.condition_number > 2.0


def test_disconnected_graph_gives_forest_plus_edges(disconnected):
    res = sparsify(disconnected, offtree_density=0.1, random_state=0)
    n = disconnected.shape[0]
    assert res.edge_mask.sum() == n - 3 + round(0.1 * n)
    assert connected_components(res.sparsifier, directed=False)[0] == 3
    exact = relative_condition_number(disconnected, res.sparsifier, exact=True)
    assert res.condition_number == pytest.approx(exact, rel=1e-3)


def test_resistance_sampling_reweights_and_is_honest(mesh):
    res = sparsify(mesh, method="resistance", offtree_density=1.0, random_state=0)
    assert res.tree is None
    kept = res.edge_mask
    assert (res.weights[kept] > 0).all() and (res.weights[~kept] == 0).all()
    exact = relative_condition_number(mesh, res.sparsifier, exact=True)
    if np.isfinite(exact):
        assert res.condition_number == pytest.approx(exact, rel=1e-3)
    else:
        assert res.condition_number == np.inf
    # at the tree methods' density it leaves the graph in pieces: kappa is infinite
    sparse = sparsify(mesh, method="resistance", offtree_density=0.1, random_state=0)
    assert sparse.condition_number == np.inf


def test_output_types_follow_input(rgg_nx, mesh):
    G = rgg_nx.subgraph(max(nx.connected_components(rgg_nx), key=len)).copy()
    res = sparsify(G, random_state=0)
    H = res.sparsifier
    assert isinstance(H, nx.Graph) and list(H.nodes) == list(G.nodes)
    assert all(G.has_edge(a, b) and d == G[a][b] for a, b, d in H.edges(data=True))
    assert isinstance(res.tree, nx.Graph) and res.tree.number_of_edges() == len(G) - 1
    dense = sparsify(mesh.toarray(), random_state=0).sparsifier
    assert isinstance(dense, np.ndarray)
    np.testing.assert_array_equal(dense, sparsify(mesh, random_state=0).sparsifier.toarray())
    for fmt in ("coo", "csc"):
        assert sparsify(mesh.asformat(fmt), random_state=0).sparsifier.format == fmt
    arr = sparsify(sp.csr_array(mesh), random_state=0).sparsifier
    assert isinstance(arr, sp.sparray)


def test_same_random_state_same_sparsifier_for_any_n_jobs(mesh):
    a = sparsify(mesh, random_state=3, n_jobs=1)
    b = sparsify(mesh, random_state=3, n_jobs=2)
    np.testing.assert_array_equal(a.edge_mask, b.edge_mask)
    np.testing.assert_array_equal(a.history.criterion, b.history.criterion)


def _grounded_spsolve(A, b):
    L = (sp.diags(np.asarray(A.sum(1)).ravel()) - A).tocsc()
    n_comp, labels = connected_components(A, directed=False)
    first = [np.flatnonzero(labels == c)[0] for c in range(n_comp)]
    free = np.setdiff1d(np.arange(A.shape[0]), first)
    x = np.zeros(A.shape[0])
    x[free] = spsolve(L[free][:, free], b[free])
    for c in range(n_comp):
        x[labels == c] -= x[labels == c].mean()
    return x


@pytest.mark.parametrize("pre", [None, "sparsify", "graph"])
def test_solve_laplacian_matches_spsolve(pre, mesh):
    b = np.random.default_rng(0).standard_normal(mesh.shape[0])
    b -= b.mean()
    precond = sparsify(mesh, random_state=0).sparsifier if pre == "graph" else pre
    res = solve_laplacian(mesh, b, preconditioner=precond, tol=1e-10)
    ref = _grounded_spsolve(mesh, b)
    assert res.converged and res.residual_norm <= 1e-10
    np.testing.assert_allclose(res.x, ref, rtol=0, atol=1e-8 * np.abs(ref).max())
    assert res.history.criterion[-1] == res.residual_norm


def test_sparsifier_preconditioner_cuts_iterations():
    grid = nx.to_scipy_sparse_array(nx.grid_2d_graph(50, 50), format="csr")
    b = np.random.default_rng(1).standard_normal(grid.shape[0])
    b -= b.mean()
    plain = solve_laplacian(grid, b)
    pre = solve_laplacian(grid, b, preconditioner="sparsify")
    assert pre.n_iter < plain.n_iter / 2


def test_solve_disconnected_and_bad_rhs(disconnected):
    n_comp, labels = connected_components(disconnected, directed=False)
    b = np.random.default_rng(2).standard_normal(disconnected.shape[0])
    for c in range(n_comp):
        b[labels == c] -= b[labels == c].mean()
    res = solve_laplacian(disconnected, b, preconditioner="sparsify", tol=1e-10)
    np.testing.assert_allclose(res.x, _grounded_spsolve(disconnected, b), atol=1e-7)
    with pytest.raises(ValueError, match="b must sum to zero"):
        solve_laplacian(disconnected, np.ones(disconnected.shape[0]))
    with pytest.raises(ValueError, match="preconditioner must have the same connected"):
        solve_laplacian(disconnected, b, preconditioner=sp.csr_matrix(disconnected.shape))


def test_solve_zero_rhs_and_max_iter(mesh):
    res = solve_laplacian(mesh, np.zeros(mesh.shape[0]))
    assert res.converged and res.n_iter == 0 and not res.x.any()
    b = np.random.default_rng(0).standard_normal(mesh.shape[0])
    b -= b.mean()
    short = solve_laplacian(mesh, b, max_iter=3)
    assert not short.converged and short.n_iter == 3 and len(short.history) == 4
    seen = []
    solve_laplacian(mesh, b, max_iter=3, callback=lambda k, x: seen.append(k))
    assert seen == [1, 2, 3]


def test_solve_with_amg_on_the_sparsifier(mesh):
    pytest.importorskip("pyamg")
    b = np.random.default_rng(3).standard_normal(mesh.shape[0])
    b -= b.mean()
    res = solve_laplacian(mesh, b, preconditioner="sparsify", factorization="amg", tol=1e-10)
    assert res.converged
    np.testing.assert_allclose(res.x, _grounded_spsolve(mesh, b), atol=1e-7)


@pytest.mark.parametrize("method", ["grass", "fegrass"])
def test_renumbering_the_nodes_changes_no_edge(method, monkeypatch):
    # the rounds run on nodes renumbered for memory locality; the same edges must come out as
    # without it, also with many equal weights (ties between scores: a 2-D stencil)
    from sparsenum.graph import sparsification

    stencil = sp.csr_matrix(nx.to_scipy_sparse_array(nx.grid_2d_graph(30, 30)), dtype=float)
    diagonal = 0.5 * sp.diags(np.ones(900 - 31), 31)  # diagonal links, weight 0.5
    stencil = stencil + diagonal + diagonal.T
    for G in (delaunay_graph(500, seed=8, weighted=True), stencil.tocsr()):
        renumbered = sparsify(G, method=method, offtree_density=0.15, random_state=0)
        assert not np.array_equal(sparsification._renumbered(sparsification.as_graph(G))[1],
                                  np.arange(G.shape[0]))
        with monkeypatch.context() as m:
            m.setattr(sparsification, "_renumbered", lambda data: (data, np.arange(data.n)))
            plain = sparsify(G, method=method, offtree_density=0.15, random_state=0)
        np.testing.assert_array_equal(renumbered.edge_mask, plain.edge_mask)
        # the estimates differ by rounding only (Lanczos to a loose tolerance)
        assert renumbered.condition_number == pytest.approx(plain.condition_number, rel=1e-3)
