"""The partial-Cholesky solver (nodes of one or two neighbours eliminated before SuperLU)
against the plain grounded factorization."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from sparsenum.graph import spanning_tree
from sparsenum.graph._graphs import as_graph
from sparsenum.graph._laplacian import GroundedSolver, components, ground_nodes, laplacian

from .conftest import delaunay_graph


def _tree_plus_edges(A, k, seed):
    T = spanning_tree(A, kind="random", random_state=seed)
    extra = sp.triu(A - A.multiply(T != 0), 1).tocoo()
    pick = np.random.default_rng(seed).choice(extra.nnz, min(k, extra.nnz), replace=False)
    E = sp.coo_matrix((extra.data[pick], (extra.row[pick], extra.col[pick])), shape=A.shape)
    return (T + E + E.T).tocsr()


def _cases():
    A = delaunay_graph(400, seed=2, weighted=True)
    star = nx.to_scipy_sparse_array(nx.star_graph(300), format="csr").astype(float)
    wheel = nx.to_scipy_sparse_array(nx.wheel_graph(200), format="csr").astype(float)
    fan = star.tolil()
    for i in range(1, 300, 2):  # a hub with many path nodes between its neighbours
        fan[i, i + 1] = fan[i + 1, i] = 2.0
    return {
        "tree": spanning_tree(A, kind="low_stretch", random_state=0),
        "tree + 10 edges": _tree_plus_edges(A, 10, 0),
        "tree + 150 edges": _tree_plus_edges(A, 150, 1),
        "mesh": A,
        "cycle": nx.to_scipy_sparse_array(nx.cycle_graph(50), format="csr").astype(float),
        "star": star, "wheel": wheel, "fan": fan.tocsr(),
        "disconnected": sp.block_diag([_tree_plus_edges(A, 30, 2), sp.csr_matrix((2, 2)),
                                       nx.to_scipy_sparse_array(nx.path_graph(7))]).tocsr(),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_elimination_solves_like_the_full_factorization(name):
    A = _cases()[name]
    data = as_graph(A)
    L = laplacian(data)
    n_comp, labels = components(data)
    grounded = ground_nodes(labels, n_comp)
    plain = GroundedSolver(L, grounded)
    reduced = GroundedSolver(L, grounded, eliminate=True)
    rng = np.random.default_rng(0)
    B = rng.standard_normal((data.n, 3))
    X = reduced.solve(B)
    scale = np.abs(plain.solve(B)).max()
    np.testing.assert_allclose(X, plain.solve(B), atol=1e-10 * scale)
    np.testing.assert_allclose(reduced.solve(B[:, 1]), X[:, 1], rtol=1e-12, atol=1e-14)
    assert (X[grounded] == 0).all()
    # L x = b on the free nodes
    free = ~grounded
    np.testing.assert_allclose((L @ X)[free], B[free], atol=1e-9 * np.abs(B).max() * data.n)
    b_free = B[free, 0]
    np.testing.assert_allclose(reduced.solve_free(b_free), plain.solve_free(b_free),
                               atol=1e-10 * scale)
    assert reduced.L_free.shape == (free.sum(), free.sum())


def test_a_tree_needs_no_factorization():
    A = delaunay_graph(300, seed=3, weighted=True)
    T = spanning_tree(A, kind="max_weight")
    data = as_graph(T)
    grounded = ground_nodes(*components(data)[::-1])
    solver = GroundedSolver(laplacian(data), grounded, eliminate=True)
    assert solver._lu is None and solver._core_free.size == 0
