"""Per-row solves against numpy.linalg.lstsq (LAPACK), and the sketch against sparsenum.sketch."""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsenum.completion import _kernels
from sparsenum.completion.row_solvers import (
    choose_solvers,
    predicted_cg_iterations,
    predicted_flops,
    sketch_operator,
    solve_rows,
)


def _problem(m, n, k, density, *, cond=1.0, seed=0):
    """M (sparse), V with singular values spread over ``cond``, and each row's design."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, k)))
    V = Q * np.logspace(0, -np.log10(cond), k) * np.sqrt(n)
    M = sp.random(m, n, density=density, random_state=seed, format="csr",
                  data_rvs=rng.standard_normal)
    return M, V


def _reference(M, V, i, *, reg=0.0, bias_reg=None, col_bias=None, offset=0.0):
    """lstsq of row i's problem, augmented by sqrt(penalty) rows for the ridge terms."""
    lo, hi = M.indptr[i], M.indptr[i + 1]
    cols, vals = M.indices[lo:hi], M.data[lo:hi]
    cb = np.zeros(V.shape[0]) if col_bias is None else col_bias
    A = V[cols]
    if bias_reg is not None:
        A = np.column_stack([A, np.ones(len(cols))])
    t = vals - offset - cb[cols]
    d = A.shape[1]
    pen = np.full(d, reg * len(cols))
    if bias_reg is not None:
        pen[-1] = bias_reg
    A_aug = np.vstack([A, np.diag(np.sqrt(pen))])
    t_aug = np.concatenate([t, np.zeros(d)])
    return np.linalg.lstsq(A_aug, t_aug, rcond=None)[0], A, t, pen


@pytest.mark.parametrize("reg, bias_reg", [(0.0, None), (0.3, None), (0.0, 2.0), (0.1, 5.0)])
def test_exact_equals_lstsq(reg, bias_reg):
    M, V = _problem(40, 60, 5, 0.4, cond=10.0, seed=1)
    rng = np.random.default_rng(1)
    col_bias = rng.standard_normal(60)
    U, b, iterations = solve_rows(M, V, col_bias=col_bias, offset=0.5, reg=reg,
                                  bias_reg=bias_reg, solver="exact")
    assert iterations == 0
    for i in range(M.shape[0]):
        x, *_ = _reference(M, V, i, reg=reg, bias_reg=bias_reg, col_bias=col_bias, offset=0.5)
        got = np.append(U[i], b[i]) if bias_reg is not None else U[i]
        np.testing.assert_allclose(got, x, rtol=0, atol=1e-12 * max(1.0, np.abs(x).max()))


def test_exact_rank_deficient_rows_are_minimum_norm():
    """Rows with fewer observations than unknowns (reg=0): lstsq's minimum-norm solution."""
    M, V = _problem(30, 50, 8, 0.08, seed=2)
    M = sp.vstack([sp.csr_matrix((1, 50)), M[1:]], format="csr")  # an empty row
    counts = np.diff(M.indptr)
    assert (counts < 8).any() and (counts == 0).any()
    U, _, _ = solve_rows(M, V, solver="exact")
    for i in range(M.shape[0]):
        x, *_ = _reference(M, V, i)
        np.testing.assert_allclose(U[i], x, rtol=0, atol=1e-10 * max(1.0, np.abs(x).max()))


def _relative_residual(A, t, pen, x):
    g = A.T @ (t - A @ x) - pen * x
    return np.linalg.norm(g) / np.linalg.norm(A.T @ t)


@pytest.mark.parametrize("solver", ["cg", "sketch"])
@pytest.mark.parametrize("cond", [1.0, 1e3])
@pytest.mark.parametrize("bias_reg", [None, 1.0])
def test_iterative_solvers_reach_tol(solver, cond, bias_reg):
    M, V = _problem(30, 400, 6, 0.5, cond=cond, seed=3)
    U, b, iterations = solve_rows(M, V, reg=1e-3, bias_reg=bias_reg, solver=solver, tol=1e-10,
                                  max_iter=500, random_state=0)
    assert iterations > 0
    for i in range(M.shape[0]):
        x_ref, A, t, pen = _reference(M, V, i, reg=1e-3, bias_reg=bias_reg)
        x = np.append(U[i], b[i]) if bias_reg is not None else U[i]
        assert _relative_residual(A, t, pen, x) <= 1e-10
        np.testing.assert_allclose(x, x_ref, rtol=1e-6 * cond, atol=1e-8)


def test_sketch_needs_few_iterations_on_ill_conditioned_rows():
    """The preconditioner makes the iteration count independent of the conditioning; plain CG
    needs more as the rows get worse (counted iterations, not times)."""
    counts = {}
    for cond in (1.0, 1e4):
        M, V = _problem(20, 500, 8, 0.6, cond=cond, seed=4)
        for solver in ("cg", "sketch"):
            _, _, counts[solver, cond] = solve_rows(M, V, reg=1e-6, solver=solver, tol=1e-10,
                                                    max_iter=2000, random_state=0)
    assert counts["sketch", 1e4] <= 1.5 * counts["sketch", 1.0]
    assert counts["cg", 1e4] > 1.5 * counts["cg", 1.0]
    assert counts["sketch", 1e4] < counts["cg", 1e4]


def test_kernel_sketch_equals_sketch_module_operator():
    """The row sketch is the sketch module's SparseSign: same S A for the same seed."""
    rng = np.random.default_rng(5)
    d, n = 7, 90
    A = rng.standard_normal((n, d))
    op = sketch_operator(d, seed=123)
    SA = np.empty((op.m, d))
    L = np.empty((d, d))
    rows = np.empty(op.nnz_per_column, dtype=np.int64)
    signs = np.empty(op.nnz_per_column)
    ok = _kernels._sketch_preconditioner(A, n, d, np.zeros(d), np.uint64(op.seed), op.m,
                                         op.nnz_per_column, SA, L, rows, signs)
    assert ok
    np.testing.assert_allclose(SA, op.apply(A), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(np.tril(L) @ np.tril(L).T, SA.T @ SA, rtol=1e-10)


def test_cost_model_prefers_exact_for_short_rows_and_cg_for_long_rows_at_high_rank():
    counts = np.array([5, 50, 2000, 200_000])
    assert (choose_solvers(counts[:2], 11, "auto") == _kernels.EXACT).all()
    codes = choose_solvers(counts, 81, "auto")
    assert codes[0] == codes[1] == _kernels.EXACT
    assert codes[2] == codes[3] == _kernels.CG
    exact, cg, sketch = predicted_flops(counts, 81)
    assert exact[-1] / counts[-1] > 40 * 81  # quadratic in d per observation
    assert cg[-1] / counts[-1] < 10 * 81 and sketch[-1] / counts[-1] < 40 * 81  # linear in d
    steps = predicted_cg_iterations(counts, 81)
    assert steps[0] == steps[1] == 4 * 81 and steps[2] > steps[3]  # capped below d, then fewer


def test_sketch_from_a_solution_does_not_iterate_and_keeps_it():
    """A warm start that already meets tol is returned as is (no preconditioner built)."""
    M, V = _problem(20, 300, 6, 0.5, cond=10.0, seed=6)
    U, _, _ = solve_rows(M, V, reg=1e-3, solver="exact")
    U2, _, iterations = solve_rows(M, V, reg=1e-3, solver="sketch", tol=1e-8, row_factors=U,
                                   random_state=0)
    assert iterations == 0
    np.testing.assert_array_equal(U2, U)


def test_solve_rows_rejects_bad_input():
    M, V = _problem(5, 8, 2, 0.5)
    with pytest.raises(ValueError, match="col_factors"):
        solve_rows(M, V[:-1])
    with pytest.raises(ValueError, match="solver"):
        solve_rows(M, V, solver="qr")
    with pytest.raises(ValueError, match="reg"):
        solve_rows(M, V, reg=-1.0)
    with pytest.raises(TypeError, match="max_iter"):
        solve_rows(M, V, max_iter=2.5)


@pytest.mark.parametrize("fit_bias", [False, True])
def test_exact_only_kernel_equals_mixed_kernel_bitwise(fit_bias):
    """Chunks of exact rows run a kernel without the iterative solvers (cheaper to compile):
    its rows equal, bit for bit, the same rows solved by the kernel that holds all three."""
    from sparsenum.completion.row_solvers import run_side

    M, V = _problem(30, 40, 4, 0.3, cond=10.0, seed=3)
    M = sp.vstack([sp.csr_matrix((1, 40)), M[1:]], format="csr")  # an empty row: min-norm path
    side = _kernels.Side(M.indptr.astype(np.int64), M.indices.astype(np.int64), M.data)
    counts = np.diff(M.indptr)
    m, k = M.shape[0], V.shape[1]
    col_bias = np.linspace(-1.0, 1.0, V.shape[0])
    results = []
    for first in (_kernels.EXACT, _kernels.CG):  # a CG row 0 selects the mixed kernel
        solvers = np.full(m, _kernels.EXACT, dtype=np.int8)
        solvers[0] = first
        U, b = np.zeros((m, k)), np.zeros(m)
        run_side(side, counts, V, col_bias, U, b, offset=0.25, fit_bias=fit_bias,
                 pen_factor=np.full(m, 0.1), pen_bias=np.full(m, 1.0), solvers=solvers,
                 tol=1e-10, sketch_seed=0, n_jobs=1)
        results.append((U, b))
    (U1, b1), (U2, b2) = results
    np.testing.assert_array_equal(U1[1:], U2[1:])
    np.testing.assert_array_equal(b1[1:], b2[1:])
