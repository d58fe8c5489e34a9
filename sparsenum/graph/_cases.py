"""Small problems for the common tests, the warm-up and the demo of sparsenum.graph."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def delaunay_graph(n: int, seed: int = 0) -> sp.csr_matrix:
    """Unit-weight Delaunay triangulation of ``n`` seeded uniform points in the unit square."""
    from scipy.spatial import Delaunay

    points = np.random.default_rng(seed).random((n, 2))
    tri = Delaunay(points).simplices
    r = np.concatenate([tri[:, 0], tri[:, 1], tri[:, 2]])
    c = np.concatenate([tri[:, 1], tri[:, 2], tri[:, 0]])
    A = sp.coo_matrix((np.ones(r.size), (r, c)), shape=(n, n)).tocsr()
    return ((A + A.T) > 0).astype(np.float64).tocsr()


def zero_mean_rhs(n: int, seed: int = 0) -> np.ndarray:
    b = np.random.default_rng(seed).standard_normal(n)
    return b - b.mean()


def warm_up():
    from . import (
        effective_resistance,
        relative_condition_number,
        solve_laplacian,
        spanning_tree,
        sparsify,
        tree_stretch,
    )

    A = delaunay_graph(60)
    for method in ("grass", "fegrass"):
        sparsify(A, method=method, random_state=0)
    for kind in ("low_stretch", "random"):
        tree_stretch(A, spanning_tree(A, kind=kind, random_state=0))
    effective_resistance(A, method="sketch", random_state=0)
    relative_condition_number(A, A, exact=False)
    solve_laplacian(A, zero_mean_rhs(60), preconditioner="sparsify")


def solver_cases():
    from sparsenum.utils.registry import SolverCase

    from . import relative_condition_number, solve_laplacian, sparsify

    A = delaunay_graph(200, seed=1)
    b = zero_mean_rhs(200, seed=1)

    def kappa(result):
        return relative_condition_number(A, result.sparsifier, exact=True)

    def residual(result):
        L = sp.diags(np.asarray(A.sum(axis=1)).ravel()) - A
        return float(np.linalg.norm(b - L @ result.x) / np.linalg.norm(b))

    return [
        SolverCase(name="graph sparsify grass delaunay 200",
                   run=lambda: sparsify(A, random_state=0), criterion=kappa, rtol=1e-3),
        SolverCase(name="graph sparsify fegrass target 30",
                   run=lambda: sparsify(A, method="fegrass", offtree_density=0.5,
                                        target_condition=30.0, random_state=0),
                   criterion=kappa, rtol=1e-3, tol=30.0),
        SolverCase(name="graph solve_laplacian sparsify delaunay 200",
                   run=lambda: solve_laplacian(A, b, preconditioner="sparsify"),
                   criterion=residual, tol=1e-8, rtol=1e-6, atol=1e-14),
    ]
