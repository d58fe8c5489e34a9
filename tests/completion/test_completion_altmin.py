"""altmin_complete: exact recovery, cvxpy's nuclear-norm completion, monotone objective,
stationarity, thread-count independence, and the documented input conventions."""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsenum.completion import CompletionResult, altmin_complete
from sparsenum.completion._cases import low_rank
from tests._fuzz import unmodified


@pytest.fixture(scope="module")
def rank3():
    return low_rank(300, 400, 3, 0.3, seed=0)


@pytest.mark.parametrize("solver", ["exact", "cg", "sketch", "auto"])
def test_noiseless_recovery_to_1e8(rank3, solver):
    X, M = rank3
    result = altmin_complete(M, 3, reg=0, biases=False, solver=solver, tol=1e-12,
                             n_sweeps=100, random_state=0)
    assert isinstance(result, CompletionResult)
    error = np.linalg.norm(result.to_dense() - X) / np.linalg.norm(X)
    assert error <= 1e-8
    assert result.converged and result.history.iteration[-1] == result.n_iter


def test_random_start_recovers_too(rank3):
    X, M = rank3
    result = altmin_complete(M, 3, reg=0, biases=False, init="random", tol=1e-12,
                             n_sweeps=200, random_state=1)
    assert np.linalg.norm(result.to_dense() - X) / np.linalg.norm(X) <= 1e-8


def test_equals_cvxpy_nuclear_norm_completion():
    """On an incoherent 30x30 rank-2 matrix both recover M: AltMin (rank 2, no penalty) equals
    the minimum-nuclear-norm matrix agreeing with the observed entries (cvxpy, Clarabel)."""
    cp = pytest.importorskip("cvxpy")
    X, M = low_rank(30, 30, 2, 0.6, seed=3)
    observed = ~np.isnan(M)
    Z = cp.Variable((30, 30))
    problem = cp.Problem(cp.Minimize(cp.normNuc(Z)),
                         [cp.multiply(observed.astype(float), Z) == np.nan_to_num(M)])
    problem.solve(solver="CLARABEL")
    reference = Z.value
    assert np.abs(reference - X).max() < 1e-4  # the convex relaxation recovers M here
    ours = altmin_complete(M, 2, reg=0, biases=False, tol=1e-12, n_sweeps=200, random_state=0)
    np.testing.assert_allclose(ours.to_dense(), reference, atol=1e-4)


def _gradient(M, result):
    """Gradient of the regularised objective at the result, from dense formulas (numpy)."""
    observed = ~np.isnan(M)
    E = np.where(observed, np.nan_to_num(M) - result.to_dense(), 0.0)
    n_i, n_j = observed.sum(1), observed.sum(0)
    lam = result.reg
    br, bc = result.bias_reg
    U, V, a, c = result.row_factors, result.col_factors, result.row_bias, result.col_bias
    gU = -2 * E @ V + 2 * lam * n_i[:, None] * U
    gV = -2 * E.T @ U + 2 * lam * n_j[:, None] * V
    ga = -2 * E.sum(1) + 2 * br * a
    gc = -2 * E.sum(0) + 2 * bc * c
    return np.concatenate([gU.ravel(), gV.ravel(), ga, gc])


def _objective(M, result):
    observed = ~np.isnan(M)
    E = np.where(observed, np.nan_to_num(M) - result.to_dense(), 0.0)
    n_i, n_j = observed.sum(1), observed.sum(0)
    U, V = result.row_factors, result.col_factors
    return ((E**2).sum() + result.reg * (n_i @ (U**2).sum(1) + n_j @ (V**2).sum(1))
            + result.bias_reg[0] * result.row_bias @ result.row_bias
            + result.bias_reg[1] * result.col_bias @ result.col_bias)


def test_exact_solver_never_increases_the_objective_and_ends_stationary():
    _, M = low_rank(60, 50, 4, 0.4, noise=0.3, seed=5)
    result = altmin_complete(M, 6, reg=0.1, bias_reg=(2.0, 3.0), solver="exact", tol=1e-13,
                             n_sweeps=400, random_state=0)
    objective = result.history.objective
    assert np.all(np.diff(objective) <= 1e-12 * objective[:-1])
    assert result.history.objective[-1] == pytest.approx(_objective(M, result), rel=1e-10)
    assert np.abs(_gradient(M, result)).max() < 1e-8


@pytest.mark.parametrize("solver", ["exact", "sketch"])
def test_same_result_whatever_n_jobs(solver):
    _, M = low_rank(200, 150, 5, 0.3, noise=0.1, seed=6)
    one = altmin_complete(M, 5, reg=0.05, bias_reg=1.0, solver=solver, n_sweeps=6,
                          random_state=0, n_jobs=1)
    two = altmin_complete(M, 5, reg=0.05, bias_reg=1.0, solver=solver, n_sweeps=6,
                          random_state=0, n_jobs=2)
    np.testing.assert_array_equal(one.row_factors, two.row_factors)
    np.testing.assert_array_equal(one.col_bias, two.col_bias)
    np.testing.assert_array_equal(one.history.criterion, two.history.criterion)


def test_reg_auto_searches_and_refits():
    _, M = low_rank(120, 80, 3, 0.4, noise=0.5, seed=7)
    result = altmin_complete(M, 8, random_state=0)
    table = result.reg_search
    assert table.shape[1] == 5 and table.shape[0] > 10
    factor_rows = table[~np.isnan(table[:, 0]) & np.isnan(table[:, 3])]
    assert result.reg in factor_rows[:, 0]
    assert result.reg == factor_rows[np.argmin(factor_rows[:, 4]), 0]
    assert result.reg > 0 and min(result.bias_reg) > 0
    again = altmin_complete(M, 8, random_state=0)
    np.testing.assert_array_equal(result.row_factors, again.row_factors)


def test_penalty_beats_no_penalty_on_noisy_data():
    X, M = low_rank(150, 100, 3, 0.3, noise=0.5, seed=8)
    missing = np.isnan(M)
    auto = altmin_complete(M, 10, random_state=0)
    plain = altmin_complete(M, 10, reg=0, bias_reg=0, n_sweeps=30, random_state=0)

    def err(r):
        return np.sqrt(np.mean((r.to_dense() - X)[missing] ** 2))

    assert err(auto) < 0.7 * err(plain)


def test_validation_history_matches_predictions():
    X, M = low_rank(50, 40, 2, 0.5, noise=0.05, seed=9)
    rows, cols = np.nonzero(np.isnan(M))
    result = altmin_complete(M, 2, reg=0.01, bias_reg=1.0, validation=(rows, cols, X[rows, cols]),
                             random_state=0)
    rmse = np.sqrt(np.mean((result.predict(rows, cols) - X[rows, cols]) ** 2))
    assert result.history["validation_rmse"][-1] == pytest.approx(rmse, rel=1e-12)
    observed = ~np.isnan(M)
    train = np.sqrt(np.mean((result.to_dense() - np.nan_to_num(M))[observed] ** 2))
    assert result.train_rmse == pytest.approx(train, rel=1e-10)
    assert result.history["train_rmse"][-1] == result.train_rmse


def test_sparse_and_dense_inputs_agree_and_explicit_zeros_count():
    _, M = low_rank(40, 30, 2, 0.5, seed=10)
    M[0, 0], M[1, 2] = 0.0, 0.0  # observed zeros
    S = sp.coo_matrix(np.nan_to_num(M, nan=0.0) * ~np.isnan(M))
    observed = ~np.isnan(M)
    rows, cols = np.nonzero(observed)
    S = sp.csr_matrix((M[rows, cols], (rows, cols)), shape=M.shape)  # keeps explicit zeros
    assert S.nnz == observed.sum()
    kwargs = {"reg": 0.01, "bias_reg": 1.0, "n_sweeps": 5, "random_state": 0}
    with unmodified(M, S):
        dense = altmin_complete(M, 2, **kwargs)
        sparse = altmin_complete(S, 2, **kwargs)
    np.testing.assert_allclose(dense.to_dense(), sparse.to_dense(), rtol=1e-12, atol=1e-12)
    dropped = S.copy()
    dropped.eliminate_zeros()
    assert dropped.nnz == S.nnz - 2
    assert not np.allclose(altmin_complete(dropped, 2, **kwargs).to_dense(), dense.to_dense())


def test_empty_rows_and_columns_get_biases_only():
    _, M = low_rank(30, 20, 2, 0.6, seed=11)
    M[3, :] = np.nan
    M[:, 5] = np.nan
    result = altmin_complete(M, 2, reg=0.1, bias_reg=2.0, random_state=0)
    np.testing.assert_array_equal(result.row_factors[3], 0.0)
    np.testing.assert_array_equal(result.col_factors[5], 0.0)
    assert result.row_bias[3] == 0.0 and result.col_bias[5] == 0.0
    np.testing.assert_allclose(result.predict([3] * 20, range(20)),
                               result.global_mean + result.col_bias)


def test_callback_sees_every_sweep_and_can_stop():
    _, M = low_rank(30, 20, 2, 0.6, seed=12)
    seen = []

    def callback(sweep, state):
        seen.append((sweep, state["relative_change"]))
        return sweep == 3

    result = altmin_complete(M, 2, reg=0.1, bias_reg=1.0, tol=0, callback=callback)
    assert [s for s, _ in seen] == [1, 2, 3] and result.n_iter == 3 and not result.converged
    np.testing.assert_array_equal([c for _, c in seen], result.history.criterion)


def test_verbose_prints_a_line_per_sweep(capsys):
    _, M = low_rank(20, 15, 2, 0.6, seed=13)
    altmin_complete(M, 2, reg=0.1, bias_reg=1.0, n_sweeps=3, tol=0, verbose=2)
    out = capsys.readouterr().out
    assert out.count("] sweep ") == 3 and "stopped after 3 sweeps" in out


def test_history_labels_and_columns():
    _, M = low_rank(20, 15, 2, 0.6, seed=14)
    history = altmin_complete(M, 2, reg=0.1, bias_reg=1.0, n_sweeps=3).history
    assert history.criterion_name == "relative_change"
    assert history.objective_name == "regularised_objective"
    assert set(history.extra_names) == {"train_rmse", "validation_rmse", "inner_iterations"}
    assert "Omega" in history.label("relative_change")


@pytest.mark.parametrize("bad, match", [
    ({"rank": 0}, "rank"), ({"rank": 20}, "rank"), ({"rank": 2.0}, "rank"),
    ({"reg": -0.1}, "reg"), ({"reg": "big"}, "reg"), ({"bias_reg": (1.0,)}, "bias_reg"),
    ({"bias_reg": -1.0}, "bias_reg"), ({"solver": "lu"}, "solver"), ({"init": "pca"}, "init"),
    ({"n_sweeps": 0}, "n_sweeps"), ({"tol": float("nan")}, "tol"), ({"biases": 1}, "biases"),
    ({"callback": 3}, "callback"), ({"n_jobs": 0}, "n_jobs"), ({"verbose": -1}, "verbose"),
])
def test_bad_arguments(bad, match):
    _, M = low_rank(20, 15, 2, 0.6, seed=15)
    kwargs = {"rank": 2, **bad}
    rank = kwargs.pop("rank")
    with pytest.raises((ValueError, TypeError), match=match):
        altmin_complete(M, rank, **kwargs)


def test_bad_matrices():
    with pytest.raises(ValueError, match="at least one observed"):
        altmin_complete(np.full((5, 4), np.nan), 1)
    with pytest.raises(ValueError, match="finite"):
        altmin_complete(np.array([[1.0, np.inf], [2.0, 3.0], [1.0, 1.0]]), 1)
    S = sp.csr_matrix(np.eye(4))
    S.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        altmin_complete(S, 1)
    dup = sp.coo_matrix(([1.0, 2.0, 3.0], ([0, 0, 1], [1, 1, 2])), shape=(3, 3))
    with pytest.raises(ValueError, match="repeat"):
        altmin_complete(dup, 1)
    with pytest.raises(TypeError, match="M"):
        altmin_complete("matrix", 1)
    with pytest.raises(ValueError, match="validation"):
        altmin_complete(np.eye(4), 1, validation=([0], [9], [1.0]))
