"""Graph tests run BLAS single-threaded (pytest-xdist already runs a worker per core), and share
a few small graphs built from seeded generators."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import Delaunay
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas():
    with threadpool_limits(1):
        yield


def delaunay_graph(n, seed=0, weighted=False):
    rng = np.random.default_rng(seed)
    points = rng.random((n, 2))
    tri = Delaunay(points).simplices
    r = np.concatenate([tri[:, 0], tri[:, 1], tri[:, 2]])
    c = np.concatenate([tri[:, 1], tri[:, 2], tri[:, 0]])
    A = sp.coo_matrix((np.ones(r.size), (r, c)), shape=(n, n)).tocsr()
    A = ((A + A.T) > 0).astype(float)
    if weighted:
        upper = sp.triu(A, 1).tocoo()
        w = rng.uniform(0.1, 10.0, upper.nnz)
        A = sp.coo_matrix((w, (upper.row, upper.col)), shape=(n, n))
        A = (A + A.T).tocsr()
    return A.tocsr()


@pytest.fixture(scope="module")
def delaunay_small():
    return delaunay_graph(300, seed=1, weighted=True)


@pytest.fixture(scope="module")
def rgg_nx():
    """A weighted random geometric graph with string labels (networkx)."""
    G = nx.random_geometric_graph(150, 0.16, seed=3)
    G = nx.relabel_nodes(G, {i: f"v{i}" for i in G.nodes})
    rng = np.random.default_rng(3)
    for a, b in G.edges:
        G[a][b]["weight"] = float(rng.uniform(0.5, 2.0))
        G[a][b]["color"] = "red"
    return G


@pytest.fixture(scope="module")
def disconnected():
    """Two weighted Delaunay blocks and an isolated node."""
    A = delaunay_graph(60, seed=4, weighted=True)
    B = delaunay_graph(40, seed=5, weighted=True)
    return sp.block_diag([A, B, sp.csr_matrix((1, 1))]).tocsr()


def dense_pinv_resistance(A, u, v):
    A = A.toarray() if sp.issparse(A) else np.asarray(A)
    P = np.linalg.pinv(np.diag(A.sum(1)) - A, hermitian=True)
    d = P.diagonal()
    return d[u] + d[v] - 2 * P[u, v]
