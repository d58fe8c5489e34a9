"""solve_lasso / BCDLasso against scikit-learn's Lasso and an independent duality gap."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Lasso

from sparsenum.bcd import BCDLasso, lasso_duality_gap, solve_lasso

RNG = np.random.default_rng(0)
N, D = 60, 150
X = RNG.standard_normal((N, D))
X[:, 1:] = 0.6 * X[:, :-1] + 0.8 * X[:, 1:]  # correlated columns
W_TRUE = np.zeros(D)
W_TRUE[RNG.choice(D, 8, replace=False)] = 3 * RNG.standard_normal(8)
Y = X @ W_TRUE + 0.1 * RNG.standard_normal(N) + 2.0
XS = sp.csc_matrix(np.where(RNG.random((N, D)) < 0.2, X, 0.0))
ALPHA_MAX = np.abs(X.T @ (Y - Y.mean())).max() / N


def independent_gap(X, y, w, b, alpha, positive=False):
    """Gap written from the textbook dual, in dense numpy, not sharing code with the module."""
    X = X.toarray() if sp.issparse(X) else X
    n = X.shape[0]
    r = y - X @ w - b
    primal = r @ r / (2 * n) + alpha * np.abs(w).sum()
    corr = X.T @ r
    bound = corr.max() if positive else np.abs(corr).max()
    theta = r / max(n * alpha, bound) * (n * alpha) if bound > n * alpha else r
    dual = (theta @ (y - b)) / n - theta @ theta / (2 * n)
    return primal - dual


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("frac", [0.3, 0.05, 0.005])
def test_coefficients_match_sklearn(sparse, fit_intercept, frac):
    Xd = XS if sparse else X
    alpha = frac * ALPHA_MAX
    ours = BCDLasso(alpha=alpha, fit_intercept=fit_intercept, tol=1e-12, max_iter=200).fit(Xd, Y)
    ref = Lasso(alpha=alpha, fit_intercept=fit_intercept, tol=1e-12, max_iter=200000).fit(Xd, Y)
    # both at a 1e-12 relative gap: coefficients agree to ~1e-6 (the problem is well posed)
    assert np.allclose(ours.coef_, ref.coef_, atol=1e-6)
    assert ours.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)
    assert ours.converged_


@pytest.mark.parametrize("positive", [False, True])
def test_duality_gap_equals_independent_computation(positive):
    alpha = 0.05 * ALPHA_MAX
    res = solve_lasso(X, Y, alpha, fit_intercept=True, positive=positive, tol=1e-10)
    yc = Y - Y.mean()
    Xc = X - X.mean(axis=0)
    ours = res.duality_gap
    theirs = independent_gap(Xc, yc, res.coef, 0.0, alpha, positive)
    assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-12 * res.primal)
    assert ours <= 1e-10 * (yc @ yc) / N
    # and at a point far from the optimum, the public helper agrees too
    w = RNG.standard_normal(D) * 0.1
    gap, primal, dual = lasso_duality_gap(X, Y, w, alpha, intercept=1.0)
    assert gap == pytest.approx(independent_gap(X, Y, w, 1.0, alpha), rel=1e-10)
    assert primal - dual == pytest.approx(gap)
    if positive:
        assert (res.coef >= 0).all()


def test_sparse_and_dense_agree_and_history():
    alpha = 0.02 * ALPHA_MAX
    a = solve_lasso(XS, Y, alpha, fit_intercept=True, tol=1e-12)
    b = solve_lasso(XS.toarray(), Y, alpha, fit_intercept=True, tol=1e-12)
    assert np.allclose(a.coef, b.coef, atol=1e-8)
    assert a.history.criterion_name == "duality_gap"
    assert a.history["duality_gap"][-1] == a.duality_gap
    assert np.all(np.diff(a.history["n_active"]) >= -D)


def test_alpha_above_alpha_max_gives_zero_and_inputs_untouched():
    X0, Y0 = X.copy(), Y.copy()
    res = BCDLasso(alpha=1.01 * ALPHA_MAX).fit(X, Y)
    assert not res.coef_.any() and res.intercept_ == pytest.approx(Y.mean())
    assert np.array_equal(X, X0) and np.array_equal(Y, Y0)


def test_warm_start_and_coef_init():
    alpha = 0.05 * ALPHA_MAX
    cold = solve_lasso(X, Y, alpha, tol=1e-12)
    warm = solve_lasso(X, Y, alpha, tol=1e-12, coef_init=cold.coef)
    assert warm.n_iter <= 1
    model = BCDLasso(alpha=alpha, warm_start=True).fit(X, Y)
    assert model.fit(X, Y).n_iter_ <= 1


@pytest.mark.parametrize("kwargs,match", [
    ({"alpha": -1.0}, "alpha must be a finite number >= 0"),
    ({"alpha": np.nan}, "alpha must be a finite number"),
    ({"tol": -1.0}, "tol must be"),
    ({"max_iter": 0}, "max_iter must be an integer >= 1"),
    ({"coef_init": np.ones(3)}, "coef_init must have length"),
])
def test_bad_arguments(kwargs, match):
    args = {"alpha": 0.1, **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        solve_lasso(X, Y, **args)


def test_bad_data():
    with pytest.raises(ValueError, match="y must have length"):
        solve_lasso(X, Y[:-1], 0.1)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        solve_lasso(Xn, Y, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        BCDLasso().fit(Xn, Y)
    with pytest.raises(ValueError, match="alpha"):
        BCDLasso(alpha=-1).fit(X, Y)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_memory_order_and_sparse_give_the_same_solution(fit_intercept):
    # C-ordered designs go through the gathered Fortran block cache, Fortran ones are read in
    # place, CSC ones through the sparse kernel: all three solve the same problem
    alpha = 0.01 * ALPHA_MAX
    Xd = XS.toarray()
    c = solve_lasso(np.ascontiguousarray(Xd), Y, alpha, fit_intercept=fit_intercept, tol=1e-12)
    f = solve_lasso(np.asfortranarray(Xd), Y, alpha, fit_intercept=fit_intercept, tol=1e-12)
    s = solve_lasso(XS, Y, alpha, fit_intercept=fit_intercept, tol=1e-12)
    assert c.converged and f.converged and s.converged
    assert np.allclose(c.coef, f.coef, atol=1e-8)
    assert np.allclose(c.coef, s.coef, atol=1e-8)
    assert c.intercept == pytest.approx(s.intercept, abs=1e-8)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("positive", [False, True])
def test_anderson_extrapolation_does_not_change_the_solution(monkeypatch, sparse, positive):
    import dataclasses

    import sparsenum.bcd.lasso as lasso_module

    Xd = XS if sparse else X
    alpha = 0.01 * ALPHA_MAX
    with_acc = solve_lasso(Xd, Y, alpha, fit_intercept=True, positive=positive, tol=1e-12)
    monkeypatch.setattr(lasso_module, "TUNING", dataclasses.replace(lasso_module.TUNING,
                                                                     anderson=0))
    plain = solve_lasso(Xd, Y, alpha, fit_intercept=True, positive=positive, tol=1e-12)
    assert with_acc.converged and plain.converged
    assert np.allclose(with_acc.coef, plain.coef, atol=1e-7)
    if positive:
        assert (with_acc.coef >= 0).all()


def test_anderson_weights_recover_the_fixed_point_of_a_linear_iteration():
    from sparsenum.bcd._lasso_kernels import _extrapolate

    # w_{k+1} = A w_k + b, a contraction with rates 0.9 .. 0.1: the extrapolated point is far
    # closer to the fixed point (I - A)^{-1} b than the last iterate (Anderson is exact only in
    # the degenerate case where the small system is singular, which is reported instead)
    rng = np.random.default_rng(3)
    Q = np.linalg.qr(rng.standard_normal((8, 8)))[0]
    A = Q @ np.diag([0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.2, 0.1]) @ Q.T
    b = rng.standard_normal(8)
    fixed = np.linalg.solve(np.eye(8) - A, b)
    hist = np.empty((6, 8))
    hist[0] = rng.standard_normal(8)
    for k in range(5):
        hist[k + 1] = A @ hist[k] + b
    out = np.empty(8)
    assert _extrapolate(hist, 5, out, False)
    assert np.linalg.norm(out - fixed) < 0.2 * np.linalg.norm(hist[-1] - fixed)
    # identical iterates give a singular system: reported, not a crash
    assert not _extrapolate(np.ones((6, 6)), 5, out, False)


def test_non_finite_or_overflowing_design_is_rejected():
    Xi = X.copy()
    Xi[3, 2] = np.inf
    with pytest.raises(ValueError, match="X must be finite"):
        solve_lasso(Xi, Y, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        solve_lasso(np.asfortranarray(np.where(X > 2, np.nan, X)), Y, 0.1, fit_intercept=True)
    with pytest.raises(ValueError, match="too large"):
        solve_lasso(X * 1e200, Y, 0.1)


@pytest.mark.parametrize("positive", [False, True])
def test_gap_safe_screening_keeps_the_solution_and_reports_the_full_gap(monkeypatch, positive):
    # a wide sparse design: most features are screened out early, so the final gap check must
    # cover them (bounded from the residual at screening time, or recomputed)
    import sparsenum.bcd.lasso as lasso_module

    rng = np.random.default_rng(5)
    Xw = sp.random(80, 600, density=0.05, random_state=5, format="csc")
    yw = Xw[:, :5] @ rng.standard_normal(5) + 0.01 * rng.standard_normal(80)
    alpha = 0.05 * np.abs(Xw.T @ yw).max() / 80
    dropped = []
    original = lasso_module.record_screening
    monkeypatch.setattr(lasso_module, "record_screening",
                        lambda *a: dropped.append(a[4].size) or original(*a))
    res = solve_lasso(Xw, yw, alpha, positive=positive, tol=1e-12)
    assert res.converged and sum(dropped) > 0  # screening happened
    gap = lasso_duality_gap(Xw, yw, res.coef, alpha, positive=positive)[0]
    assert res.duality_gap == pytest.approx(gap, rel=1e-6, abs=1e-15)
    assert gap == pytest.approx(independent_gap(Xw, yw, res.coef, 0.0, alpha, positive), abs=1e-14)
    ref = Lasso(alpha=alpha, fit_intercept=False, positive=positive, tol=1e-14,
                max_iter=100000).fit(Xw, yw)
    assert np.allclose(res.coef, ref.coef_, atol=1e-6)


def test_non_canonical_or_integer_sparse_designs():
    # duplicates / unsorted indices and integer data go through check_design; canonical float64
    # CSC input is used without a copy and is never modified
    dense = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 1.0], [4.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    y = np.array([1.0, 2.0, 0.5, 1.5])
    coo = sp.coo_matrix(dense)
    dup = sp.csc_matrix((np.r_[coo.data, 1.0, -1.0], (np.r_[coo.row, 0, 0],
                                                      np.r_[coo.col, 0, 0])), shape=(4, 3))
    ref = solve_lasso(dense, y, 0.01, tol=1e-12).coef
    assert np.allclose(solve_lasso(dup, y, 0.01, tol=1e-12).coef, ref, atol=1e-8)
    assert np.allclose(solve_lasso(sp.csc_matrix(dense.astype(int)), y, 0.01, tol=1e-12).coef,
                       ref, atol=1e-8)
    canon = sp.csc_matrix(dense)
    before = canon.data.copy()
    solve_lasso(canon, y, 0.01, fit_intercept=True)
    assert np.array_equal(canon.data, before)
    bad = canon.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        solve_lasso(bad, y, 0.01)
    bad.data[0] = 1e200
    with pytest.raises(ValueError, match="too large"):
        solve_lasso(bad, y, 0.01)
