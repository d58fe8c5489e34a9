"""Error-bounded sparsification of the plan (Newton stage of SNS), checked by brute force."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsenum.ot._hessian_sparsify import error_bounded_thresholds


def _kept(P, thr_row, thr_col):
    return (thr_row[:, None] < P) | (thr_col[None, :] < P)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), m=st.integers(1, 30), seed=st.integers(0, 10_000),
       log_delta=st.floats(-8, 0), spread=st.floats(0.5, 30), preset=st.booleans())
def test_dropped_mass_bounded_and_kept_set_only_grows(n, m, seed, log_delta, spread, preset):
    rng = np.random.default_rng(seed)
    P = np.exp(-spread * rng.random((n, m)))  # heavy-tailed entries, as plans at small reg
    P /= P.sum()
    if rng.random() < 0.3:
        P[rng.random((n, m)) < 0.3] = 0.0
    delta = 10.0 ** log_delta
    if preset:  # thresholds of the magnitude rule: their kept entries must stay kept
        thr_row = np.full(n, np.quantile(P, 0.9))
        thr_col = thr_row[0] * rng.uniform(0.5, 2.0, m)
    else:
        thr_row, thr_col = np.full(n, np.inf), np.full(m, np.inf)
    before = _kept(P, thr_row, thr_col)
    thr_row_in, thr_col_in = thr_row.copy(), thr_col.copy()
    indptr = np.zeros(n + 1, np.int64)
    kept, n_sorted = error_bounded_thresholds(P, delta, thr_row, thr_col, indptr)
    assert 0 <= n_sorted <= 2 * n * m
    mask = _kept(P, thr_row, thr_col)
    assert kept == mask.sum()
    np.testing.assert_array_equal(np.diff(indptr), mask.sum(axis=1))
    assert np.all(mask[before])
    assert np.all(thr_row <= thr_row_in) and np.all(thr_col <= thr_col_in)
    dropped = np.where(mask, 0.0, P)
    slack = 1e-12 * P.sum()
    assert np.all(dropped.sum(axis=0) <= delta + slack)
    assert np.all(dropped.sum(axis=1) <= 2 * delta + slack)


def test_large_delta_keeps_nothing_and_tiny_delta_keeps_every_positive_entry():
    rng = np.random.default_rng(0)
    P = rng.random((20, 15))
    P[3, :] = 0.0
    inf_r, inf_c = np.full(20, np.inf), np.full(15, np.inf)
    indptr = np.zeros(21, np.int64)
    assert error_bounded_thresholds(P, 10.0 * P.sum(), inf_r.copy(), inf_c.copy(),
                                    indptr)[0] == 0
    assert error_bounded_thresholds(P, 1e-300, inf_r.copy(), inf_c.copy(),
                                    indptr)[0] == np.count_nonzero(P)


def test_sparsification_keeps_the_fewest_large_entries_of_a_column():
    P = np.array([[0.5], [0.3], [0.15], [0.05]])
    thr_row, thr_col = np.full(4, np.inf), np.full(1, np.inf)
    # dropping 0.05 + 0.15 = 0.2 <= 0.2 keeps the two largest entries only
    assert error_bounded_thresholds(P, 0.2, thr_row, thr_col, np.zeros(5, np.int64))[0] == 2
    assert _kept(P, thr_row, thr_col)[:, 0].tolist() == [True, True, False, False]


def test_sns_newton_with_error_bounded_hessian_matches_pot():
    """Non-uniform marginals without light entries take the error-bounded rule."""
    import ot

    from sparsenum.ot import sinkhorn_newton_sparse

    rng = np.random.default_rng(3)
    x, y = rng.random((90, 2)), rng.random((110, 2)) + 0.2
    a, b = rng.uniform(1, 3, 90), rng.uniform(1, 3, 110)
    a, b = a / a.sum(), b / b.sum()
    C = ot.dist(x, y)
    C /= C.max()
    reg = 1 / 300
    res = sinkhorn_newton_sparse(a, b, C, reg, newton="always", warmup=5)
    assert res.converged and res.marginal_error <= 1e-9
    assert res.history.as_dict()["newton_iterations"][-1] > 0
    ref = ot.bregman.sinkhorn_log(a, b, C, reg, numItermax=100_000, stopThr=1e-12)
    np.testing.assert_allclose(res.plan, ref, atol=1e-9)


def test_newton_reaches_tolerances_below_the_dual_objective_rounding():
    """At 1e-13 the predicted dual increase of a step is below the dual's rounding: steps are
    then accepted on the gradient's decrease, not on the (noise) ratio of increases."""
    import ot

    from sparsenum.ot import sinkhorn_newton_sparse

    rng = np.random.default_rng(5)
    x, y = rng.random((70, 2)), rng.random((80, 2))
    a, b = rng.uniform(1, 2, 70), rng.uniform(1, 2, 80)
    a, b = a / a.sum(), b / b.sum()
    C = ot.dist(x, y)
    C /= C.max()
    res = sinkhorn_newton_sparse(a, b, C, 1 / 200, tol=1e-13, newton="always", warmup=5)
    assert res.converged and res.marginal_error <= 1e-13
    # Newton finishes the job (105 scaling iterations without the rule)
    assert res.history.as_dict()["sinkhorn_iterations"][-1] < 50
