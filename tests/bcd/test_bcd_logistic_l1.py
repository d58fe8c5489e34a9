"""solve_l1_logistic / l1_logistic_duality_gap against liblinear and a textbook dual."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from sparsenum.bcd import BCDLogisticRegression, l1_logistic_duality_gap, solve_l1_logistic

RNG = np.random.default_rng(1)
N, D = 120, 200
X = RNG.standard_normal((N, D))
X[:, 1:] = 0.5 * X[:, :-1] + 0.8 * X[:, 1:]
W_TRUE = np.zeros(D)
W_TRUE[:6] = [2.0, -1.5, 1.0, 0.0, 3.0, -2.0]
Y = np.where(X @ W_TRUE + 0.5 * RNG.standard_normal(N) > 0, 1.0, -1.0)
XS = sp.csc_matrix(np.where(RNG.random((N, D)) < 0.3, X, 0.0))
LAM_MAX = np.abs(X.T @ Y).max() / 2


def objective(X, y, w, lam):
    return np.logaddexp(0.0, -y * (X @ w)).sum() + lam * np.abs(w).sum()


def independent_gap(X, y, w, lam):
    """Gap from the Fenchel dual written with the conjugate of log(1 + exp(-t)) directly."""
    X = X.toarray() if sp.issparse(X) else X
    m = y * (X @ w)
    u = y / (1.0 + np.exp(m))  # -gradient of the loss in z
    u *= min(1.0, lam / np.abs(X.T @ u).max())
    a = y * u  # in [0, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        conj = np.where(a > 0, a * np.log(a), 0.0) + np.where(a < 1, (1 - a) * np.log1p(-a), 0.0)
    return objective(X, y, w, lam) + conj.sum()


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("frac", [0.5, 0.1, 0.01])
def test_matches_liblinear_and_certifies_its_gap(sparse, frac):
    Xd = XS if sparse else X
    lam = frac * (np.abs(Xd.T @ Y).max() / 2)
    res = solve_l1_logistic(Xd, Y, lam, tol=1e-12)
    with warnings.catch_warnings():  # liblinear may stop on max_iter: it is only a reference
        warnings.simplefilter("ignore")
        ref = LogisticRegression(penalty="l1", C=1.0 / lam, solver="liblinear",
                                 fit_intercept=False, tol=1e-10, max_iter=2000).fit(Xd, Y)
    ref = ref.coef_.ravel()
    assert res.converged
    f, f_ref = objective(Xd, Y, res.coef, lam), objective(Xd, Y, ref, lam)
    assert f <= f_ref + 1e-12 * abs(f_ref)
    # the objective is strictly convex on the support here: the minimisers agree
    assert np.allclose(res.coef, ref, atol=1e-3)
    gap = l1_logistic_duality_gap(Xd, Y, res.coef, lam)[0]
    assert res.duality_gap == pytest.approx(gap, rel=1e-6, abs=1e-12)
    assert 0.0 <= gap <= 1e-12 * N * np.log(2)
    assert res.history.criterion_name == "duality_gap"
    assert np.all(np.diff(res.history.objective) <= 1e-12)


def test_duality_gap_equals_independent_computation_and_bounds_suboptimality():
    lam = 0.2 * LAM_MAX
    best = solve_l1_logistic(X, Y, lam, tol=1e-13).coef
    for w in (np.zeros(D), W_TRUE, best + 0.01 * RNG.standard_normal(D)):
        gap, primal, dual = l1_logistic_duality_gap(X, Y, w, lam)
        assert primal - dual == pytest.approx(gap)
        assert gap == pytest.approx(independent_gap(X, Y, w, lam), rel=1e-10, abs=1e-10)
        assert primal == pytest.approx(objective(X, Y, w, lam))
        assert primal - objective(X, Y, best, lam) <= gap + 1e-9  # weak duality


def test_above_lambda_max_gives_zero_and_inputs_untouched():
    X0, Y0 = X.copy(), Y.copy()
    res = solve_l1_logistic(X, Y, 1.01 * LAM_MAX)
    assert res.converged and not res.coef.any() and res.n_iter == 0
    assert np.array_equal(X, X0) and np.array_equal(Y, Y0)


def test_warm_start_converges_at_once():
    lam = 0.05 * LAM_MAX
    cold = solve_l1_logistic(X, Y, lam, tol=1e-12)
    warm = solve_l1_logistic(X, Y, lam, tol=1e-12, coef_init=cold.coef)
    assert warm.n_iter <= 1 and np.allclose(warm.coef, cold.coef, atol=1e-8)


def test_estimator_uses_the_working_set_solver_for_binary_l1():
    labels = (Y > 0).astype(int)
    C = 1.0 / (0.3 * LAM_MAX)
    auto = BCDLogisticRegression(penalty="l1", C=C, fit_intercept=False, tol=1e-10).fit(X, labels)
    generic = BCDLogisticRegression(penalty="l1", C=C, fit_intercept=False, tol=1e-8,
                                    solver="bcd").fit(X, labels)
    assert auto.converged_ and auto.history_.criterion_name == "duality_gap"
    assert np.allclose(auto.coef_, generic.coef_, atol=1e-3)
    # with an intercept: a penalised constant column, as liblinear does
    with_b = BCDLogisticRegression(penalty="l1", C=1.0, tol=1e-10).fit(X, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = LogisticRegression(penalty="l1", C=1.0, solver="liblinear", tol=1e-10,
                                 max_iter=2000).fit(X, labels)
    w_ours, w_ref = np.r_[with_b.coef_.ravel(), with_b.intercept_], np.r_[ref.coef_.ravel(),
                                                                          ref.intercept_]
    Xb = np.hstack([X, np.ones((N, 1))])
    assert objective(Xb, Y, w_ours, 1.0) <= objective(Xb, Y, w_ref, 1.0) + 1e-9
    assert np.allclose(w_ours, w_ref, atol=1e-3)


@pytest.mark.parametrize("kwargs,match", [
    ({"lam": -1.0}, "lam must be a finite number >= 0"),
    ({"lam": np.nan}, "lam must be a finite number"),
    ({"tol": -1.0}, "tol must be"),
    ({"max_iter": 0}, "max_iter must be an integer >= 1"),
    ({"max_newton": 0}, "max_newton must be an integer >= 1"),
    ({"p0": 0}, "p0 must be an integer >= 1"),
    ({"coef_init": np.ones(3)}, "coef_init must have length"),
])
def test_bad_arguments(kwargs, match):
    args = {"lam": 1.0, **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        solve_l1_logistic(X, Y, **args)


def test_bad_data():
    with pytest.raises(ValueError, match="y must have length"):
        solve_l1_logistic(X, Y[:-1], 1.0)
    with pytest.raises(ValueError, match="labels -1 and \\+1"):
        solve_l1_logistic(X, (Y > 0).astype(float), 1.0)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        solve_l1_logistic(Xn, Y, 1.0)
    with pytest.raises(ValueError, match="labels"):
        l1_logistic_duality_gap(X, 2 * Y, np.zeros(D), 1.0)
