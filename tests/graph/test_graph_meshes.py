"""Condition numbers of sparsifiers of pyamg's example meshes (airfoil, bar, knot) against a
dense generalized eigensolve written here (scipy.linalg.eigh on the grounded Laplacians)."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import eigh
from scipy.sparse.csgraph import connected_components

from sparsenum.graph import relative_condition_number, sparsify

pyamg = pytest.importorskip("pyamg")

MESHES = ("airfoil", "bar", "knot")


@pytest.fixture(scope="module", params=MESHES)
def mesh(request):
    """The mesh matrix's off-diagonal pattern as a weighted graph, ``w_ij = |a_ij|``."""
    A = sp.csr_matrix(pyamg.gallery.load_example(request.param)["A"])
    W = abs(A - sp.diags(A.diagonal())).tocsr()
    W.eliminate_zeros()
    assert (W != W.T).nnz == 0 and connected_components(W, directed=False)[0] == 1
    return W


def dense_kappa(G, H):
    """lambda_max / lambda_min of L_G x = lambda L_H x with node 0 grounded."""
    def grounded(M):
        M = M.toarray()
        return (np.diag(M.sum(axis=1)) - M)[1:, 1:]

    values = eigh(grounded(G), grounded(H), eigvals_only=True)
    return values[-1] / values[0], values[0]


@pytest.mark.parametrize("method, density", [("grass", 0.1), ("grass", 0.3), ("fegrass", 0.1)])
def test_sparsifier_kappa_matches_dense_eigensolve(mesh, method, density):
    W = mesh
    res = sparsify(W, method=method, offtree_density=density, random_state=0)
    H = res.sparsifier
    assert connected_components(H, directed=False)[0] == 1
    reference, lam_min = dense_kappa(W, H)
    assert lam_min >= 1 - 1e-9  # a subgraph with G's weights
    assert relative_condition_number(W, H, exact=False) == pytest.approx(reference, rel=1e-6)
    assert relative_condition_number(W, H, exact=True) == pytest.approx(reference, rel=1e-6)
    assert relative_condition_number(W, H) == pytest.approx(reference, rel=1e-6)
    # sparsify's own estimate: Lanczos to a looser tolerance
    assert res.condition_number == pytest.approx(reference, rel=2e-3)
    assert res.condition_number <= reference * (1 + 1e-9)  # a Ritz value: from below


def test_reweighted_sparsifier_kappa_matches_dense_eigensolve(mesh):
    # weights changed: lambda_min is no longer 1, both ends of the spectrum are computed
    W = mesh
    H = sparsify(W, offtree_density=0.3, random_state=1).sparsifier
    upper = sp.triu(H, 1).tocoo()
    scale = np.random.default_rng(2).uniform(0.5, 2.0, upper.nnz)
    Hs = sp.coo_matrix((upper.data * scale, (upper.row, upper.col)), shape=H.shape)
    Hs = (Hs + Hs.T).tocsr()
    reference, lam_min = dense_kappa(W, Hs)
    assert abs(lam_min - 1) > 1e-3
    assert relative_condition_number(W, Hs, exact=False) == pytest.approx(reference, rel=1e-6)
    assert relative_condition_number(W, Hs, exact=True) == pytest.approx(reference, rel=1e-6)
