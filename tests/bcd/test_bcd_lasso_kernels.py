"""The sparse Lasso path's fused kernels (statistics, correlations, gap / screening / working set)
against numpy, scipy and scikit-learn."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Lasso

from sparsenum.bcd import lasso_duality_gap, solve_lasso
from sparsenum.bcd._lasso_outer_kernels import (
    _kth_smallest,
    _select_smallest,
    csc_column_stats,
    csc_correlations,
    gap_screen_select,
)


def text_like(n, d, seed, empty=()):
    """Power-law column frequencies and exponential values, as the benchmark's design."""
    rng = np.random.default_rng(seed)
    freq = np.clip(0.5 / np.arange(1, d + 1) ** 0.5, 0.01, 0.5)
    dense = np.where(rng.random((n, d)) < freq, rng.exponential(1.0, (n, d)), 0.0)
    dense[:, list(empty)] = 0.0
    w = np.zeros(d)
    w[rng.choice(d, 10, replace=False)] = rng.standard_normal(10)
    y = dense @ w + 0.3 * rng.standard_normal(n) + 1.0
    return sp.csc_matrix(dense), y


def test_column_statistics_and_correlations_match_scipy():
    X, y = text_like(40, 90, 0, empty=(3, 50))
    colsum, sq, xty = csc_column_stats(X.indptr, X.indices, X.data, y)
    dense = X.toarray()
    assert np.allclose(colsum, dense.sum(0), rtol=1e-13, atol=0)
    assert np.allclose(sq, (dense**2).sum(0), rtol=1e-13, atol=0)
    assert np.allclose(xty, dense.T @ y, rtol=1e-12, atol=1e-12)
    mu = colsum / 40
    r = np.random.default_rng(1).standard_normal(40)
    expected = dense.T @ r - mu * r.sum()
    cols = np.array([0, 3, 4, 7, 20, 50, 51, 89])
    fresh = np.array([1, 4, 20, 60])  # 4 and 20 are taken as current, 1 and 60 are not in cols
    out = np.full(90, 123.0)
    amax, pmax = csc_correlations(X.indptr, X.indices, X.data, mu, r, cols, fresh, out)
    computed = np.setdiff1d(cols, fresh)
    assert np.allclose(out[computed], expected[computed], rtol=1e-12, atol=1e-12)
    assert np.all(out[[1, 4, 20, 60]] == 123.0)  # fresh entries are read, never written
    assert np.all(np.delete(out, cols) == 123.0)
    seen = out[cols]
    assert amax == pytest.approx(np.abs(seen).max()) and pmax == pytest.approx(seen.max())


def reference_selection(score, size):
    """Positions of the ``size`` smallest scores, ties to the first, in position order."""
    return np.sort(np.argsort(score, kind="stable")[:size])


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 3000), frac=st.floats(0.0, 1.0), n_support=st.integers(0, 50),
       levels=st.integers(1, 1000), seed=st.integers(0, 2**16))
def test_selection_matches_a_stable_sort(m, frac, n_support, levels, seed):
    # few distinct levels give many ties at the threshold; -inf marks the support
    rng = np.random.default_rng(seed)
    score = rng.integers(0, levels, m).astype(float)
    score[rng.choice(m, min(n_support, m), replace=False)] = -np.inf
    size = max(1, int(frac * m))
    keep = np.sort(rng.choice(10 * m, m, replace=False))  # sorted feature indices
    ws = np.empty(m, dtype=np.intp)
    count = _select_smallest(score, keep, size, ws)
    assert count == size
    assert np.array_equal(ws[:count], keep[reference_selection(score, size)])


@given(m=st.integers(1, 2000), levels=st.integers(1, 2000), order=st.sampled_from(
    ["random", "sorted", "reversed", "organ pipe"]), k_frac=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16))
@settings(max_examples=200, deadline=None)
def test_quickselect_matches_numpy_partition(m, levels, order, k_frac, seed):
    # the selection replaces np.partition (whose numba version dominated compile time): same
    # value on ties, sorted runs and the patterns that defeat naive pivots
    rng = np.random.default_rng(seed)
    a = rng.integers(0, levels, m).astype(float)
    if order == "sorted":
        a.sort()
    elif order == "reversed":
        a = -np.sort(-a)
    elif order == "organ pipe":
        a = np.r_[np.sort(a[: m // 2]), -np.sort(-a[m // 2:])]
    k = min(int(k_frac * m), m - 1)
    work = a.copy()
    assert _kth_smallest(work, k) == np.partition(a, k)[k]
    assert np.array_equal(np.sort(work), np.sort(a))  # a permutation of the input


def test_quickselect_bounds_its_rounds_on_adversarial_input():
    # many rounds that split off one element each end in the sort fallback, not O(n^2)
    a = np.r_[np.arange(5000.0), np.full(3, -np.inf)]
    for k in (0, 2500, 5002):
        assert _kth_smallest(a.copy(), k) == np.partition(a, k)[k]


def test_selection_falls_back_when_the_sampled_bound_is_too_low():
    # the strided sample holds the smallest scores: its bound leaves fewer candidates than needed
    m = 4096
    score = 1.0 + np.random.default_rng(2).random(m)
    score[::16] = np.linspace(-2.0, -1.0, m // 16)
    keep = np.arange(m)
    ws = np.empty(m, dtype=np.intp)
    for size in (50, 300, 2047):
        count = _select_smallest(score, keep, size, ws)
        assert np.array_equal(ws[:count], reference_selection(score, size))


@pytest.mark.parametrize("positive", [False, True])
def test_gap_screening_and_working_set_in_one_call(positive):
    X, y = text_like(60, 200, 3, empty=(7,))
    n = 60
    alpha = 0.05 * np.abs(X.T @ y).max() / n
    ref = Lasso(alpha=alpha, fit_intercept=False, positive=positive, tol=1e-14,
                max_iter=100000).fit(X, y).coef_
    # a point near the optimum: the gap is small enough to screen most zero features
    w = ref * (1 + 1e-3 * np.random.default_rng(4).standard_normal(200))
    r = y - X @ w
    corr = np.asarray(X.T @ r).ravel()
    cmax = max(corr.max() if positive else np.abs(corr).max(), 0.0)
    norm = np.sqrt(np.asarray(X.multiply(X).sum(0)).ravel())
    inv_norm = np.divide(1.0, norm, out=np.zeros(200), where=norm > 0)
    keep = np.arange(200)
    score, dropped, ws = np.empty(200), np.empty(200, dtype=np.intp), np.empty(200, dtype=np.intp)
    lam = n * alpha
    out = gap_screen_select(corr, cmax, norm, inv_norm, keep, w, r, y, lam, 0.0, positive, 5,
                            0, np.inf, score, dropped, ws)
    gap, primal, nnz, n_kept, n_dropped, dcmax, dnmax, nonzero, size = out
    expected_gap, expected_primal, _ = lasso_duality_gap(X, y, w, alpha, positive=positive)
    assert gap / n == pytest.approx(expected_gap, rel=1e-9)
    assert primal / n == pytest.approx(expected_primal, rel=1e-12)
    assert nnz == np.count_nonzero(w)
    assert n_kept + n_dropped == 200 and n_dropped > 50
    drop = dropped[:n_dropped]
    assert 7 in drop  # the empty column
    assert np.all(ref[drop] == 0.0)  # safe: dropped features are zero at the optimum
    assert not nonzero and np.all(w[drop] == 0.0)
    assert dcmax == pytest.approx(np.abs(corr[drop]).max())
    assert dnmax == pytest.approx(norm[drop].max())
    kept = keep[:n_kept]
    assert np.array_equal(np.sort(np.concatenate([kept, drop])), np.arange(200))
    assert np.all(np.diff(kept) > 0)
    # the working set: the support plus the smallest slacks, max(p0, 2 nnz) of them
    chosen = ws[:size]
    assert size == min(n_kept, max(5, 2 * np.count_nonzero(w[kept])))
    assert set(np.flatnonzero(w)) <= set(chosen.tolist())
    c = corr[kept] if positive else np.abs(corr[kept])
    slack = np.where(w[kept] != 0, -np.inf, (lam - c) / norm[kept])
    assert np.array_equal(chosen, kept[reference_selection(slack, size)])
    # converged: nothing screened, nothing selected
    keep2 = np.arange(200)
    out = gap_screen_select(corr, cmax, norm, inv_norm, keep2, w, r, y, lam, np.inf, positive,
                            5, 0, np.inf, score, dropped, ws)
    assert out[3:5] == (200, 0) and out[-1] == 0 and np.array_equal(keep2, np.arange(200))


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("frac", [0.1, 0.01])
def test_text_like_sparse_design_matches_sklearn(fit_intercept, frac):
    # wide (d > n), with empty columns, on the benchmark's kind of design
    X, y = text_like(80, 400, 5, empty=(0, 17, 399))
    yc = y - y.mean() if fit_intercept else y
    alpha = frac * np.abs(X.T @ yc).max() / 80
    res = solve_lasso(X, y, alpha, fit_intercept=fit_intercept, tol=1e-12, max_iter=1000)
    ref = Lasso(alpha=alpha, fit_intercept=fit_intercept, tol=1e-14, max_iter=200000).fit(X, y)
    assert res.converged
    assert np.allclose(res.coef, ref.coef_, atol=1e-6)
    assert res.intercept == pytest.approx(ref.intercept_, abs=1e-6)
    assert np.all(res.coef[[0, 17, 399]] == 0.0)
    if fit_intercept:  # the gap of the centred problem at the fitted coefficients
        Xc = X.toarray() - X.toarray().mean(0)
        gap = lasso_duality_gap(Xc, yc, res.coef, alpha)[0]
    else:
        gap = lasso_duality_gap(X, y, res.coef, alpha)[0]
    assert res.duality_gap == pytest.approx(gap, rel=1e-6, abs=1e-14)
    assert gap <= 1e-12 * (yc @ yc) / 80 * (1 + 1e-6)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_alpha_at_or_above_alpha_max_gives_zero_on_sparse(fit_intercept):
    X, y = text_like(50, 120, 6, empty=(4,))
    yc = y - y.mean() if fit_intercept else y
    alpha_max = np.abs(X.T @ yc).max() / 50
    for alpha in (alpha_max, 2 * alpha_max):
        res = solve_lasso(X, y, alpha, fit_intercept=fit_intercept)
        assert res.converged and not res.coef.any()
        assert res.intercept == pytest.approx(y.mean() if fit_intercept else 0.0)
    assert solve_lasso(X, y, 0.9 * alpha_max, fit_intercept=fit_intercept).coef.any()


def test_newton_steps_on_a_sparse_design_keep_the_gap_honest(monkeypatch):
    # force the Newton step whenever a face repeats: its correlations then come from scipy and
    # must leave the kernel's cached working-set correlations current
    import sparsenum.bcd._lasso_block as block_module

    monkeypatch.setattr(block_module, "_newton_pays", lambda *a: True)
    calls = []
    original = block_module.newton_on_support
    monkeypatch.setattr(block_module, "newton_on_support",
                        lambda *a: calls.append(1) or original(*a))
    X, y = text_like(80, 300, 7)
    alpha = 0.02 * np.abs(X.T @ y).max() / 80
    res = solve_lasso(X, y, alpha, tol=1e-12)
    assert calls and res.converged
    gap = lasso_duality_gap(X, y, res.coef, alpha)[0]
    assert res.duality_gap == pytest.approx(gap, rel=1e-6, abs=1e-14)
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=200000).fit(X, y)
    assert np.allclose(res.coef, ref.coef_, atol=1e-6)


def test_sparse_warm_start_recomputes_the_correlations():
    # with coef_init the statistics pass's X'y is not the correlation at the start
    X, y = text_like(60, 200, 8)
    alpha = 0.05 * np.abs(X.T @ y).max() / 60
    cold = solve_lasso(X, y, alpha, tol=1e-12)
    warm = solve_lasso(X, y, alpha, tol=1e-12, coef_init=0.5 * cold.coef)
    assert warm.converged
    assert np.allclose(warm.coef, cold.coef, atol=1e-7)
    gap = lasso_duality_gap(X, y, warm.coef, alpha)[0]
    assert warm.duality_gap == pytest.approx(gap, rel=1e-6, abs=1e-14)


def test_newton_cost_model_weighs_sparse_columns():
    # with prev_gap = e gap and one epoch, coordinate descent needs log(gap / target) more
    from sparsenum.bcd._lasso_block import _newton_pays

    n, size = 1000, 100
    dense_cost = 0.5 * size * (1 + size / (3 * n))  # 51.7 epochs of a dense support

    def pays(remaining, nnz):
        return _newton_pays(1.0, np.e, np.exp(-remaining), size, n, 1, nnz)

    assert pays(dense_cost + 0.5, n * size) and not pays(dense_cost - 0.5, n * size)
    # 1% dense columns: an epoch is 100x cheaper, the solve is not
    sparse_cost = (1000 * 1000 / n + size**3 / 3) / (2 * 1000)
    assert sparse_cost > 3 * dense_cost
    assert pays(sparse_cost + 0.5, 1000) and not pays(sparse_cost - 0.5, 1000)
    assert _newton_pays(1.0, 0.9, 1e-9, size, n, 10, 1000)  # stalled: always worth a try
