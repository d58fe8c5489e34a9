"""Small problems for the common tests and the warm-up of sparsenum.sketch."""

from __future__ import annotations

import numpy as np


def warm_up():
    from . import sketch_and_precondition, sketch_and_solve

    rng = np.random.default_rng(0)
    A = rng.normal(size=(200, 5))
    b = rng.normal(size=200)
    sketch_and_precondition(A, b, random_state=0)
    sketch_and_solve(A, b, random_state=0)


def _problem(n, d, seed, cond=1e3):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)) * np.logspace(0, np.log10(cond), d)
    return A, A @ rng.standard_normal(d) + rng.standard_normal(n)


def _normal_equation_residual(A, b, result, random_state):
    """``||N^T A^T r|| / ||r||`` for the returned coef, N rebuilt from the same sketch draw."""
    import scipy.linalg

    from ._sketch_choice import _PRECONDITION_SPARSITY
    from .operators import SparseSign

    op = SparseSign(result.sketch_size, nnz_per_column=_PRECONDITION_SPARSITY,
                    random_state=random_state)
    SA = op.apply(A)
    _, R = scipy.linalg.qr(SA, mode="economic")
    _, s, Vt = scipy.linalg.svd(R)
    N = Vt[: result.rank].T / s[: result.rank]
    r = b - A @ result.coef
    return float(np.linalg.norm(N.T @ (A.T @ r)) / np.linalg.norm(r))


def solver_cases():
    import scipy.sparse as sp

    from ..utils.registry import SolverCase
    from . import sketch_and_precondition, sketch_and_solve

    A, b = _problem(600, 12, 0)
    A_sparse = sp.random(800, 10, density=0.2, random_state=1, format="csr") + sp.eye(800, 10)
    b_sparse = np.random.default_rng(2).standard_normal(800)

    def relative_residual(A, b):
        return lambda result: float(np.linalg.norm(A @ result.coef - b) / np.linalg.norm(b))

    # the criterion sits at its rounding floor (~1e-14 here): a recomputation in another
    # summation order agrees to within that floor, not to a relative tolerance
    return [
        SolverCase(name="sketch_and_solve srht 600x12",
                   run=lambda: sketch_and_solve(A, b, random_state=0),
                   criterion=relative_residual(A, b), rtol=1e-12),
        SolverCase(name="sketch_and_precondition dense 600x12 (fused passes)",
                   run=lambda: sketch_and_precondition(A, b, random_state=0),
                   criterion=lambda r: _normal_equation_residual(A, b, r, 0), rtol=0.0,
                   atol=1e-12),
        SolverCase(name="sketch_and_precondition sparse 800x10",
                   run=lambda: sketch_and_precondition(A_sparse, b_sparse, random_state=1),
                   criterion=lambda r: _normal_equation_residual(A_sparse, b_sparse, r, 1),
                   rtol=0.0, atol=1e-12),
        SolverCase(name="sketch_and_precondition stopped at max_iter=3",
                   run=lambda: sketch_and_precondition(A, b, random_state=0, max_iter=3),
                   criterion=lambda r: _normal_equation_residual(A, b, r, 0), rtol=1e-6),
    ]


def easy_fits():
    from sklearn.datasets import make_regression

    from ..utils.registry import EasyFit
    from . import SketchedRegression

    X, y = make_regression(n_samples=400, n_features=20, noise=1.0, random_state=0)
    return [EasyFit(name="SketchedRegression make_regression 400x20",
                    estimator=SketchedRegression(random_state=0), X=X, y=y),
            EasyFit(name="SketchedRegression(method='solve') make_regression 400x20",
                    estimator=SketchedRegression(method="solve", random_state=0), X=X, y=y)]
