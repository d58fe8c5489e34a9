"""sparsity_constrained_ot against POT's smooth OT solvers and exact OT."""

import numpy as np
import ot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ot.smooth import SparsityConstrained, dual_obj_grad, semi_dual_obj_grad

from sparsenum.ot import sparsity_constrained_ot


def _problem(n, m, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.2, rng.random(m) + 0.2
    return a / a.sum(), b / b.sum(), rng.random((n, m))


@pytest.mark.parametrize("formulation", ["semi_dual", "dual"])
@pytest.mark.parametrize("max_nz", [3, 6])
def test_dual_objective_matches_pot(formulation, max_nz):
    a, b, C = _problem(40, 40, 0)
    gamma = 0.1
    res = sparsity_constrained_ot(a, b, C, gamma, max_nz, formulation=formulation, tol=1e-12)
    fn = ot.smooth.smooth_ot_semi_dual if formulation == "semi_dual" else ot.smooth.smooth_ot_dual
    _, log = fn(a, b, C, gamma, reg_type="sparsity_constrained", max_nz=max_nz, log=True,
                stopThr=1e-12, numItermax=5000)
    regul = SparsityConstrained(max_nz=max_nz, gamma=gamma)
    if formulation == "semi_dual":
        pot = semi_dual_obj_grad(log["alpha"], a, b, C, regul)[0]
    else:
        pot = dual_obj_grad(log["alpha"], log["beta"], a, b, C, regul)[0]
    # a maximisation: ours reaches POT's value within 1e-6 relative (or exceeds it). The dual
    # objective is nonsmooth where the top-k sets change and L-BFGS may stop a little early
    # there (both ours and POT's), hence 5e-6 for the two-potential formulation.
    rel = 1e-6 if formulation == "semi_dual" else 5e-6
    assert res.dual_objective >= pot - rel * abs(pot)
    # and not above the primal objective of our feasible plan (weak duality)
    assert res.dual_objective <= res.objective + 1e-10


@pytest.mark.parametrize("formulation", ["semi_dual", "dual"])
def test_polished_plan_is_feasible_and_k_sparse(formulation):
    a, b, C = _problem(60, 50, 1)
    res = sparsity_constrained_ot(a, b, C, 0.1, 5, formulation=formulation)
    assert res.converged
    assert res.marginal_error <= 1e-8
    assert (res.plan > 0).sum(axis=0).max() <= 5
    assert np.all(res.plan >= 0)
    assert res.objective == pytest.approx(res.cost + 0.05 * np.sum(res.plan ** 2))


def test_max_nz_n_is_quadratic_ot_of_pot():
    a, b, C = _problem(30, 30, 2)
    gamma = 0.5
    res = sparsity_constrained_ot(a, b, C, gamma, 30, tol=1e-12)
    ref = ot.smooth.smooth_ot_dual(a, b, C, gamma, reg_type="l2", stopThr=1e-12,
                                   numItermax=10_000)
    assert res.marginal_error <= 1e-10
    np.testing.assert_allclose(res.plan, ref, atol=1e-5)


@pytest.mark.parametrize("reg", [1e-3, 0.5])
def test_max_nz_one_gives_emd_cost_on_permutation_problem(reg):
    # uniform weights, n = m: the exact OT plan is a permutation, feasible with one per column,
    # and the quadratic term is the same for every permutation, so any reg gives emd's plan
    rng = np.random.default_rng(3)
    n = 25
    a = np.full(n, 1.0 / n)
    C = rng.random((n, n))
    res = sparsity_constrained_ot(a, a, C, reg, 1, tol=1e-12)
    assert res.converged and res.marginal_error <= 1e-8
    assert (res.plan > 0).sum(axis=0).max() == 1
    assert res.cost == pytest.approx(ot.emd2(a, a, C), rel=1e-6)


def test_zero_mass_and_float32_and_no_mutation():
    a, b, C = _problem(20, 20, 4)
    a[2] = 0.0
    a = (a / a.sum()).astype(np.float32)
    b32, C32 = b.astype(np.float32), C.astype(np.float32)
    copies = [x.copy() for x in (a, b32, C32)]
    res = sparsity_constrained_ot(a, b32, C32, 0.2, 4)
    assert np.all(res.plan[2] == 0) and res.f[2] == -np.inf
    assert res.plan.dtype == np.float64
    assert res.marginal_error <= 1e-6  # float32 weights sum to 1 only to ~1e-7
    for x, y in zip((a, b32, C32), copies):
        np.testing.assert_array_equal(x, y)


@settings(max_examples=15)
@given(n=st.integers(2, 10), m=st.integers(1, 10), seed=st.integers(0, 10_000),
       k=st.integers(1, 10))
def test_sparsity_and_nonnegativity_hypothesis(n, m, seed, k):
    a, b, C = _problem(n, m, seed)
    k = min(k, n)
    res = sparsity_constrained_ot(a, b, C, 0.3, k)
    assert np.all(res.plan >= 0)
    assert (res.plan > 0).sum(axis=0).max() <= k
    if res.converged:
        assert res.marginal_error <= 1e-8


def _nonuniform(n, m, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.2, rng.random(m) + 0.2
    return a / a.sum(), b / b.sum(), rng.random((n, m))


@pytest.mark.parametrize("formulation", ["semi_dual", "dual"])
def test_max_nz_two_nonuniform_weights_is_feasible(formulation):
    # the issue's failure: at max_nz=2 the dual's support carries no plan with both marginals;
    # the support repair must find one (n = m, so it is a spanning tree plus at most one edge)
    a, b, C = _nonuniform(100, 100, 1)
    gamma = 0.1
    res = sparsity_constrained_ot(a, b, C, gamma, 2, formulation=formulation)
    P = res.plan
    assert res.converged
    assert res.marginal_error <= 1e-8
    np.testing.assert_allclose(P.sum(axis=1), a, atol=1e-10)
    np.testing.assert_allclose(P.sum(axis=0), b, atol=1e-10)
    assert np.all(P >= 0) and (P > 0).sum(axis=0).max() <= 2
    # weak duality: the relaxation's value is a lower bound on every feasible 2-sparse plan
    assert res.dual_objective <= res.objective + 1e-12
    assert res.objective == pytest.approx(np.sum(C * P) + 0.5 * gamma * np.sum(P * P))


def test_issue_instance_max_nz_two_uniform_source():
    # the benchmark's instance (n = 300, gamma = 0.1, uniform a, non-uniform b) at max_nz = 2
    rng = np.random.default_rng(0)
    n = 300
    C = rng.random((n, n))
    a = np.full(n, 1 / n)
    b = rng.random(n) + 0.2
    b /= b.sum()
    res = sparsity_constrained_ot(a, b, C, 0.1, 2)
    assert res.converged and res.marginal_error <= 1e-8
    assert (res.plan > 0).sum(axis=0).max() <= 2


def test_infeasible_max_nz_one_warns_and_is_honest():
    # weights in general position: no plan has one row per column (row masses would have to be
    # sums of column masses); the result says so and its plan never exceeds the marginals
    a, b, C = _nonuniform(6, 6, 5)
    with pytest.warns(RuntimeWarning, match="no support"):
        res = sparsity_constrained_ot(a, b, C, 0.1, 1)
    assert not res.converged
    P = res.plan
    assert np.all(P >= 0) and (P > 0).sum(axis=0).max() <= 1
    assert np.all(P.sum(axis=1) <= a + 1e-12) and np.all(P.sum(axis=0) <= b + 1e-12)
    assert res.marginal_error == pytest.approx(
        np.abs(P.sum(axis=1) - a).sum() + np.abs(P.sum(axis=0) - b).sum())
    assert res.marginal_error > 1e-6


def test_polish_false_returns_the_dual_plan():
    a, b, C = _nonuniform(30, 30, 6)
    res = sparsity_constrained_ot(a, b, C, 0.1, 3, polish=False)
    # the semi-dual's plan meets the columns exactly, not the rows
    np.testing.assert_allclose(res.plan.sum(axis=0), b, atol=1e-12)
    assert (res.plan > 0).sum(axis=0).max() <= 3


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 12), m=st.integers(2, 12), seed=st.integers(0, 10_000))
def test_max_nz_two_marginals_cardinality_hypothesis(n, m, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.5, rng.random(m) + 0.5
    a, b, C = a / a.sum(), b / b.sum(), rng.random((n, m))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sparsity_constrained_ot(a, b, C, 0.2, 2)
    P = res.plan
    assert np.all(P >= 0)
    assert (P > 0).sum(axis=0).max() <= 2
    assert np.all(P.sum(axis=1) <= a + 1e-10) and np.all(P.sum(axis=0) <= b + 1e-10)
    if b.max() <= a.min():
        # max(b) <= (max_nz - 1) min(a): the north-west-corner plan is feasible, so one exists
        assert res.converged
    if res.converged:
        assert res.marginal_error <= 1e-8


def test_max_nz_one_with_rows_holding_whole_columns_is_exact():
    # every column has mass 1/20 and every row 2/20: a plan with one row per column exists and
    # the optimum is exact OT's (the quadratic term is the same for all such plans)
    rng = np.random.default_rng(7)
    a, b, C = np.full(10, 0.1), np.full(20, 0.05), rng.random((10, 20))
    res = sparsity_constrained_ot(a, b, C, 0.2, 1)
    assert res.converged and res.marginal_error <= 1e-12
    assert (res.plan > 0).sum(axis=0).max() == 1
    assert res.cost == pytest.approx(ot.emd2(a, b, C), rel=1e-9)


@pytest.mark.parametrize("formulation", ["semi_dual", "dual"])
def test_lbfgs_line_search_failure_at_zero_is_retried(formulation):
    # found by hypothesis: at zero every column of this 2 x 11 problem sits on one row, the
    # objective is flat along (1, -1) and L-BFGS-B's first line search fails (ABNORMAL)
    rng = np.random.default_rng(193)
    a, b = rng.random(2) + 0.5, rng.random(11) + 0.5
    a, b, C = a / a.sum(), b / b.sum(), rng.random((2, 11))
    res = sparsity_constrained_ot(a, b, C, 0.2, 2, formulation=formulation)
    assert res.converged and res.marginal_error <= 1e-12
    # max_nz = n: the problem is quadratically regularised OT, so primal = dual at the optimum
    assert res.objective == pytest.approx(res.dual_objective, rel=1e-7)


@pytest.mark.parametrize("formulation", ["semi_dual", "dual"])
def test_huge_reg_is_solved_as_the_exactly_scaled_problem(formulation):
    # potentials grow like reg and their squares overflowed float64 (a NaN plan) from reg ~
    # 1e150: the problem with (C, reg) has the plan of (C / 2^e, reg / 2^e) and potentials
    # 2^e times its, and scaling by a power of two is exact
    a, b, C = _problem(6, 5, 0)
    e = 990
    big = sparsity_constrained_ot(a, b, C, 2.0**e * 1.5, 2, formulation=formulation)
    small = sparsity_constrained_ot(a, b, C / 2.0**e, 1.5, 2, formulation=formulation)
    assert np.isfinite(big.plan).all() and (big.plan >= 0).all()
    assert big.marginal_error < 1e-8 and big.converged
    np.testing.assert_array_equal(big.plan, small.plan)
    np.testing.assert_array_equal(big.f, small.f * 2.0**e)
    np.testing.assert_array_equal(big.g, small.g * 2.0**e)
    assert big.dual_objective == small.dual_objective * 2.0**e
    assert big.history.objective[-1] == big.dual_objective
