"""sinkhorn and sinkhorn_newton_sparse against POT (sinkhorn_log, emd2) and invariants."""

import numpy as np
import ot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsenum.ot import sinkhorn, sinkhorn_newton_sparse

SOLVERS = [sinkhorn, sinkhorn_newton_sparse]


def _problem(n, m, seed, uniform=False):
    rng = np.random.default_rng(seed)
    a = np.full(n, 1.0 / n) if uniform else rng.random(n) + 0.1
    b = np.full(m, 1.0 / m) if uniform else rng.random(m) + 0.1
    return a / a.sum(), b / b.sum(), rng.random((n, m))


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("reg", [0.05, 0.01])
def test_plan_matches_pot_sinkhorn_log(solver, reg):
    a, b, C = _problem(40, 30, 0)
    ref = ot.bregman.sinkhorn_log(a, b, C, reg, stopThr=1e-13, numItermax=100_000)
    res = solver(a, b, C, reg, tol=1e-11)
    assert res.converged
    # both plans solve the same strictly convex problem to ~1e-11 marginal violation
    np.testing.assert_allclose(res.plan, ref, atol=1e-9)
    assert res.marginal_error <= 1e-10


@pytest.mark.parametrize(("solver", "reg", "tol"), [
    (sinkhorn_newton_sparse, 1e-3, 1e-9), (sinkhorn_newton_sparse, 1e-4, 1e-9),
    # plain scaling needs ~1e5 iterations to 1e-9 here (the reason SNS exists): looser tol
    (sinkhorn, 5e-3, 1e-8)])
def test_small_reg_cost_within_entropic_bias_of_emd2(solver, reg, tol):
    n = 50
    a, b, C = _problem(n, n, 1, uniform=True)
    exact = ot.emd2(a, b, C)
    res = solver(a, b, C, reg, tol=tol)
    assert res.converged and np.all(np.isfinite(res.plan))
    # <C,P_reg> - OT <= reg * (H(a) + H(b)) (entropy bound, Cuturi 2013 / Peyre-Cuturi Prop. 4.1)
    bound = reg * 2 * np.log(n)
    slack = 10 * tol * C.max()  # cost of the remaining marginal violation
    assert exact - slack <= res.cost <= exact + bound + slack


def test_sinkhorn_stable_where_pot_kernel_mode_fails():
    x = np.linspace(0, 1, 60)
    rng = np.random.default_rng(2)
    a, b = rng.random(60) + 0.5, rng.random(60) + 0.5
    a, b = a / a.sum(), b / b.sum()
    C = (x[:, None] - x[None, :]) ** 2
    reg = 1e-4
    with np.errstate(all="ignore"), pytest.warns(UserWarning):
        pot = ot.sinkhorn(a, b, C, reg, stopThr=1e-9, numItermax=2000)
    pot_violation = abs(pot.sum(1) - a).sum() + abs(pot.sum(0) - b).sum()
    assert not np.all(np.isfinite(pot)) or pot_violation > 1e-3
    res = sinkhorn(a, b, C, reg, tol=1e-9)
    assert res.converged and res.marginal_error <= 1e-9
    assert np.all(np.isfinite(res.f)) and np.all(np.isfinite(res.g))
    exact = ot.emd2(a, b, C)
    assert exact - 1e-8 <= res.cost <= exact + reg * 2 * np.log(60)


def test_sns_and_sinkhorn_agree_and_history_columns():
    a, b, C = _problem(80, 80, 3)
    s = sinkhorn(a, b, C, 1e-2, tol=1e-10)
    n = sinkhorn_newton_sparse(a, b, C, 1e-2, tol=1e-10, newton="always")
    np.testing.assert_allclose(n.plan, s.plan, atol=1e-8)
    h = n.history
    assert h.criterion_name == "marginal_violation"
    assert h["newton_iterations"][-1] >= 1 and h["cg_products"][-1] >= 1
    assert h["sinkhorn_iterations"][-1] >= 20
    assert n.n_iter == h["sinkhorn_iterations"][-1] + h["newton_iterations"][-1]
    never = sinkhorn_newton_sparse(a, b, C, 1e-2, tol=1e-10, newton="never")
    assert never.history["newton_iterations"][-1] == 0
    np.testing.assert_allclose(never.plan, s.plan, atol=1e-8)


@pytest.mark.parametrize("solver", SOLVERS)
def test_zero_mass_entries_solved_on_support(solver):
    a, b, C = _problem(30, 20, 4)
    a[[3, 7]] = 0.0
    b[5] = 0.0
    a, b = a / a.sum(), b / b.sum()
    res = solver(a, b, C, 0.02, tol=1e-10)
    keep_r, keep_c = a > 0, b > 0
    ref = ot.bregman.sinkhorn_log(a[keep_r], b[keep_c], C[np.ix_(keep_r, keep_c)], 0.02,
                                  stopThr=1e-13, numItermax=100_000)
    np.testing.assert_allclose(res.plan[np.ix_(keep_r, keep_c)], ref, atol=1e-9)
    assert np.all(res.plan[~keep_r] == 0) and np.all(res.plan[:, ~keep_c] == 0)
    assert np.all(res.f[~keep_r] == -np.inf) and np.all(res.g[~keep_c] == -np.inf)
    assert res.marginal_error <= 1e-9


@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_input_and_inputs_not_modified(solver):
    a, b, C = _problem(20, 25, 5)
    a32, b32, C32 = a.astype(np.float32), b.astype(np.float32), C.astype(np.float32)
    copies = [x.copy() for x in (a32, b32, C32)]
    res = solver(a32, b32, C32, 0.05)
    assert res.plan.dtype == np.float64
    for x, y in zip((a32, b32, C32), copies):
        np.testing.assert_array_equal(x, y)


def test_warm_start_uses_fewer_iterations():
    a, b, C = _problem(60, 60, 6)
    cold = sinkhorn(a, b, C, 5e-3)
    warm = sinkhorn(a, b, C, 5e-3, init=(cold.f, cold.g))
    assert warm.n_iter < cold.n_iter


@pytest.mark.parametrize("reg", [1e-3, 3e-4])
def test_eps_scaling_reaches_the_same_plan(reg):
    # both solve the same strictly convex problem: the levels only change the starting point
    a, b, C = _problem(80, 70, 9)
    direct = sinkhorn_newton_sparse(a, b, C, reg, eps_scaling=False, tol=1e-11)
    scaled = sinkhorn_newton_sparse(a, b, C, reg, tol=1e-11)
    assert direct.converged and scaled.converged
    np.testing.assert_allclose(scaled.plan, direct.plan, atol=1e-9)
    assert scaled.cost == pytest.approx(direct.cost, rel=1e-8)
    # the levels' iterations are counted and recorded
    assert scaled.n_iter == scaled.history.iteration[-1]
    assert np.all(np.diff(scaled.history.iteration) >= 0)


def test_reg_ladder_levels():
    from sparsenum.ot.sns import _reg_ladder

    C = np.array([[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(_reg_ladder(C, 1 / 1200), [9 / 1200, 3 / 1200])
    np.testing.assert_allclose(_reg_ladder(C, 1 / 4000), [27 / 4000, 9 / 4000, 3 / 4000])
    assert _reg_ladder(C, 1 / 299) == []  # no level below a cost range of 100 regs
    assert _reg_ladder(5 * C, 1 / 100) == [3 / 100]  # scale-free: the range counts


def test_max_iter_reached_reports_not_converged():
    a, b, C = _problem(60, 60, 7)
    res = sinkhorn(a, b, C, 1e-3, max_iter=3)
    assert not res.converged and res.n_iter == 3
    assert res.marginal_error > 1e-9


def test_objective_and_dual_agree_at_optimum():
    a, b, C = _problem(30, 30, 8)
    res = sinkhorn(a, b, C, 0.05, tol=1e-12)
    # strong duality of entropic OT: primal = dual at the optimum
    assert res.objective == pytest.approx(res.dual_objective, rel=1e-8, abs=1e-12)


@settings(max_examples=15)
@given(n=st.integers(1, 12), m=st.integers(1, 12), seed=st.integers(0, 10_000),
       reg=st.sampled_from([1.0, 0.1, 0.01]))
def test_marginals_and_nonnegativity_hypothesis(n, m, seed, reg):
    a, b, C = _problem(n, m, seed)
    for solver in SOLVERS:
        res = solver(a, b, C, reg, tol=1e-10)
        assert np.all(res.plan >= 0)
        assert res.marginal_error <= 1e-9
        assert res.converged


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("newton", ["never", "always"])
def test_reported_cost_objective_and_error_match_the_plan(solver, newton):
    # the metrics are computed in one fused pass (log P taken as the exponent); check them
    # against a direct numpy evaluation of the returned plan, with zero-mass entries present
    a, b, C = _problem(50, 40, 11)
    a[[3, 17]] = 0.0
    b[5] = 0.0
    a, b = a / a.sum(), b / b.sum()
    kwargs = {"newton": newton} if solver is sinkhorn_newton_sparse else {}
    res = solver(a, b, C, 2e-3, tol=1e-10, **kwargs)
    P, reg = res.plan, 2e-3
    positive = P[P > 0]
    cost = float(np.sum(C * P))
    objective = cost + reg * float(np.sum(positive * (np.log(positive) - 1.0)))
    error = np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum()
    assert res.cost == pytest.approx(cost, rel=1e-12)
    assert res.objective == pytest.approx(objective, rel=1e-9, abs=1e-14)
    assert res.marginal_error == pytest.approx(error, rel=1e-6, abs=1e-15)
    assert res.converged and res.marginal_error <= 1e-10
