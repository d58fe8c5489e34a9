"""Demo of sparsenum.graph: sparsify a Delaunay mesh, then solve a Laplacian system with the
sparsifier as preconditioner, against scipy's direct solver and dense LAPACK eigenvalues."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from sparsenum.utils import DemoRow


def demo_rows() -> list[DemoRow]:
    from scipy.linalg import eigh
    from scipy.sparse.linalg import spsolve

    from . import solve_laplacian, sparsify
    from ._cases import delaunay_graph, zero_mean_rhs

    rows = []
    small = delaunay_graph(1500, seed=0)
    sparsify(small[:100, :100], random_state=0)  # compile before timing
    start = time.perf_counter()
    res = sparsify(small, random_state=0)
    elapsed = time.perf_counter() - start
    L = lambda A: (sp.diags(np.asarray(A.sum(axis=1)).ravel()) - A).toarray()[1:, 1:]  # noqa: E731
    values = eigh(L(small), L(res.sparsifier), eigvals_only=True)
    exact = values[-1] / values[0]
    rows.append(DemoRow(problem="Delaunay n=1500, 10% off-tree edges", solver="sparsify (grass)",
                        time=elapsed, n_iter=res.n_iter,
                        accuracy=abs(res.condition_number - exact) / exact,
                        accuracy_name="|kappa estimate - kappa| / kappa",
                        reference="scipy.linalg.eigh (LAPACK), grounded pencil",
                        history=res.history))
    n = 8192
    A = delaunay_graph(n, seed=0)
    b = zero_mean_rhs(n)
    problem = f"Laplacian system, Delaunay n={n}"
    start = time.perf_counter()
    L_full = (sp.diags(np.asarray(A.sum(axis=1)).ravel()) - A).tocsc()
    x_ref = np.zeros(n)
    x_ref[1:] = spsolve(L_full[1:, 1:], b[1:])
    x_ref -= x_ref.mean()
    t_ref = time.perf_counter() - start
    rows.append(DemoRow(problem=problem, solver="scipy spsolve (reference)", time=t_ref,
                        n_iter=None, accuracy=0.0,
                        accuracy_name="||x - x_spsolve|| / ||x_spsolve||",
                        reference="scipy.sparse.linalg.spsolve"))
    for label, pre in (("solve_laplacian, sparsifier preconditioner", "sparsify"),
                       ("solve_laplacian, no preconditioner", None)):
        start = time.perf_counter()
        sol = solve_laplacian(A, b, preconditioner=pre)
        elapsed = time.perf_counter() - start
        rows.append(DemoRow(problem=problem, solver=label, time=elapsed, n_iter=sol.n_iter,
                            accuracy=float(np.linalg.norm(sol.x - x_ref) / np.linalg.norm(x_ref)),
                            accuracy_name="||x - x_spsolve|| / ||x_spsolve||",
                            reference="scipy.sparse.linalg.spsolve", history=sol.history))
    return rows
