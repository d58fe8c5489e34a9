"""Regressions of hostile and careless inputs, reproducibility, progress hooks and the emd path."""

import threading

import numpy as np
import ot
import pytest

from sparsenum.ot import (
    EntropicTransport,
    SparseTransport,
    emd,
    sinkhorn,
    sinkhorn_newton_sparse,
    sparsity_constrained_ot,
)
from tests._fuzz import busy_machine

ENTROPIC = [sinkhorn, sinkhorn_newton_sparse]
ALL = [sinkhorn, sinkhorn_newton_sparse, sparsity_constrained_ot]


def _problem(n, m, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.2, rng.random(m) + 0.2
    return a / a.sum(), b / b.sum(), rng.random((n, m))


def _call(fn, a, b, C, reg, **kwargs):
    if fn is sparsity_constrained_ot:
        return fn(a, b, C, reg, 3, **kwargs)
    return fn(a, b, C, reg, **kwargs)


# -- regularisation too small for float64 ----------------------------------------------------

@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("reg", [5e-324, 1e-310, 1e-300, 1e-12])
def test_too_small_reg_names_reg_and_the_smallest_usable_value(fn, reg):
    a, b, C = _problem(6, 5, 0)
    with pytest.raises(ValueError, match=r"reg=.* is too small .* smallest usable value is "
                                         r"(9\.\d+e-11|1e-10)"):
        _call(fn, a, b, C, reg)


@pytest.mark.parametrize("fn", ALL)
def test_smallest_usable_reg_gives_a_finite_plan(fn):
    a, b, C = _problem(6, 5, 1)
    reg = 1e-10 * np.abs(C).max()
    res = _call(fn, a, b, C, reg, max_iter=200)
    assert np.all(np.isfinite(res.plan)) and np.all(res.plan >= 0)
    assert np.isfinite(res.cost) and np.isfinite(res.marginal_error)
    assert res.converged or res.marginal_error > 1e-9  # honest either way


def test_sparse_reg_floor_scales_with_the_mass():
    a, b, C = _problem(6, 5, 2)
    # <C,T> + reg/2 ||T||^2 with T of mass 1e-6 is the unit problem with reg * 1e-6
    with pytest.raises(ValueError, match="reg=.* too small .* total mass 1e-06"):
        sparsity_constrained_ot(a * 1e-6, b * 1e-6, C, 1e-5, 3)
    res = sparsity_constrained_ot(a * 1e-6, b * 1e-6, C, 1e-3, 3)
    assert np.all(np.isfinite(res.plan))


# -- masses: float32, tiny, huge, infinite ---------------------------------------------------

@pytest.mark.parametrize("fn", ENTROPIC)
def test_float32_marginals_converge_quickly(fn):
    # float32 weights sum to one only to ~1e-8: no plan meets both to 1e-9 absolutely; the
    # solver renormalises b to the mass of a and stops on the relative violation
    a, b, C = _problem(40, 30, 3)
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    assert abs(float(a32.astype(float).sum()) - float(b32.astype(float).sum())) > 1e-9
    res = fn(a32, b32, C, 0.05)
    ref = fn(a, b, C, 0.05)
    assert res.converged and res.n_iter <= 2 * ref.n_iter + 20
    assert res.history.criterion[-1] <= 1e-9
    np.testing.assert_allclose(res.plan.sum(axis=1), a32.astype(float), atol=1e-12)


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("mass", [1e-9, 1e9])
def test_tol_is_relative_to_the_total_mass(fn, mass):
    a, b, C = _problem(20, 15, 4)
    # entropic OT scaled by the mass is the same problem; with the quadratic regulariser,
    # reg / 2 ||T||^2 scales with the square of the mass, so the unit problem has reg * mass
    reg = 0.05 / mass if fn is sparsity_constrained_ot else 0.05
    res = _call(fn, a * mass, b * mass, C, reg)
    unit = _call(fn, a, b, C, 0.05)
    assert res.converged
    np.testing.assert_allclose(res.plan, unit.plan * mass, rtol=1e-6, atol=1e-12 * mass)
    assert res.marginal_error <= 1e-8 * mass
    assert res.cost == pytest.approx(unit.cost * mass, rel=1e-6)


@pytest.mark.parametrize("fn", [*ALL, emd])
def test_infinite_total_mass_is_rejected(fn):
    a = np.array([1e308, 1e308])
    C = np.array([[0.0, 1.0], [1.0, 0.0]])
    args = () if fn is emd else (0.1,) if fn is not sparsity_constrained_ot else (0.1, 1)
    with pytest.raises(ValueError, match="a must have a finite total mass"):
        fn(a, a, C, *args)


def test_mass_times_cost_overflow_is_rejected():
    a = np.array([1e300, 1e300])
    with pytest.raises(ValueError, match="total mass of a and b .* must be at most"):
        sinkhorn(a, a, np.array([[0.0, 10.0], [10.0, 0.0]]), 0.1)


def test_huge_costs_are_rejected_with_the_argument_named():
    with pytest.raises(ValueError, match=r"C must have entries of magnitude at most 1e\+300"):
        sinkhorn([0.5, 0.5], [0.5, 0.5], [[0.0, 1e305], [1e305, 0.0]], 1e296)


# -- messages name the user's argument --------------------------------------------------------

@pytest.mark.parametrize("fn", [*ALL, emd])
def test_wrong_length_of_b_names_b(fn):
    a, b, C = _problem(5, 4, 5)
    args = () if fn is emd else (0.1,) if fn is not sparsity_constrained_ot else (0.1, 2)
    with pytest.raises(ValueError, match=r"b must have length 4 \(the number of columns of C"):
        fn(a, np.full(5, 0.2), C, *args)
    with pytest.raises(ValueError, match=r"a must have length 5 \(the number of rows of C"):
        fn(np.full(3, 1 / 3), b, C, *args)


@pytest.mark.parametrize("estimator", [EntropicTransport(), SparseTransport()])
def test_estimator_says_distances_of_X_overflow(estimator):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="distances between the samples of X overflow"):
        estimator.fit(X * 1e300)
    with pytest.raises(ValueError, match="of X and X_target overflow"):
        estimator.fit(X, X_target=X * 1e300)


@pytest.mark.parametrize("fn", ENTROPIC)
def test_init_accepts_the_minus_inf_of_zero_weights(fn):
    a, b, C = _problem(10, 8, 6)
    a[2] = 0.0
    a /= a.sum()
    first = fn(a, b, C, 0.02)
    assert first.f[2] == -np.inf
    again = fn(a, b, C, 0.02, init=(first.f, first.g))
    assert again.converged and again.n_iter <= first.n_iter
    bad_f = first.f.copy()
    bad_f[0] = -np.inf
    with pytest.raises(ValueError, match=r"init\[0\] \(f\) must be finite where the weight"):
        fn(a, b, C, 0.02, init=(bad_f, first.g))


@pytest.mark.parametrize("fn", ALL)
def test_huge_max_iter_allocates_nothing_up_front(fn):
    a, b, C = _problem(8, 6, 7)
    res = _call(fn, a, b, C, 0.1, max_iter=10**12)
    assert res.converged
    res = _call(fn, a, b, C, 0.1, max_iter=2**63)
    assert res.converged


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize(("name", "value", "error"), [
    ("tol", True, TypeError), ("tol", "1e-9", TypeError), ("tol", None, TypeError),
    ("tol", [1e-9], TypeError), ("max_iter", 10.0, TypeError), ("max_iter", True, TypeError),
    ("n_jobs", 1.0, TypeError), ("n_jobs", True, TypeError), ("verbose", "yes", TypeError),
    ("verbose", -1, ValueError), ("verbose", 1.5, TypeError), ("callback", "print", TypeError),
    ("reg", True, TypeError),
])
def test_argument_types_are_strict(fn, name, value, error):
    a, b, C = _problem(6, 5, 8)
    kwargs = {name: value}
    reg = kwargs.pop("reg", 0.1)
    with pytest.raises(error, match=name):
        _call(fn, a, b, C, reg, **kwargs)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"newton": True}, ValueError, "newton must be one of"),
    ({"eps_scaling": 1}, TypeError, "eps_scaling must be True or False"),
    ({"density": True}, TypeError, "density must be a real number"),
    ({"warmup": 2.0}, TypeError, "warmup must be an integer"),
    ({"max_cg": "5"}, TypeError, "max_cg must be an integer"),
    ({"check_every": True}, TypeError, "check_every must be an integer"),
])
def test_sns_argument_types(kwargs, error, match):
    a, b, C = _problem(6, 5, 9)
    with pytest.raises(error, match=match):
        sinkhorn_newton_sparse(a, b, C, 0.1, **kwargs)


def test_emd_arguments():
    a, b, C = _problem(6, 5, 10)
    with pytest.raises(TypeError, match="max_iter must be an integer"):
        emd(a, b, C, max_iter=5.0)
    with pytest.raises(ValueError, match="C must be finite"):
        emd(a, b, np.full((6, 5), np.inf))


# -- the exact reference path -----------------------------------------------------------------

def test_emd_matches_pot_and_is_a_vertex():
    a, b, C = _problem(30, 25, 11)
    a[4] = 0.0
    a /= a.sum()
    res = emd(a, b, C)
    assert res.converged and res.n_iter == 1 and len(res.history) == 1
    assert res.cost == pytest.approx(ot.emd2(a, b, C), rel=1e-12)
    assert res.dual_objective == pytest.approx(res.cost, rel=1e-9)
    assert res.marginal_error <= 1e-14
    assert np.count_nonzero(res.plan) <= 29 + 25 - 1
    assert np.all(res.plan[4] == 0) and res.f[4] == -np.inf


def test_emd_out_of_pivots_is_not_converged():
    a, b, C = _problem(40, 40, 12)
    res = emd(a, b, C, max_iter=3)
    assert not res.converged


def test_regularised_costs_approach_emd():
    a, b, C = _problem(25, 25, 13)
    exact = emd(a, b, C).cost
    assert sinkhorn_newton_sparse(a, b, C, 1e-4).cost == pytest.approx(exact, rel=1e-2)
    assert sparsity_constrained_ot(a, b, C, 1e-4, 25).cost == pytest.approx(exact, rel=1e-2)


# -- reproducibility ---------------------------------------------------------------------------

def _same(r1, r2):
    np.testing.assert_array_equal(r1.plan, r2.plan)
    assert r1.n_iter == r2.n_iter
    for column in r1.history.columns:
        if column != "elapsed":
            np.testing.assert_array_equal(r1.history[column], r2.history[column])


@pytest.fixture(scope="module")
def hard_problem():
    # 520 x 520 entries (above the parallel kernels' threshold), eta = 1200: scaling, the
    # epsilon-scaling levels' test and Newton steps all take decisions
    rng = np.random.default_rng(1)
    n = 520
    return np.full(n, 1 / n), np.full(n, 1 / n), rng.random((n, n))


def test_sns_same_history_on_a_busy_machine(hard_problem):
    a, b, C = hard_problem
    quiet = sinkhorn_newton_sparse(a, b, C, 1 / 1200)
    assert quiet.history["newton_iterations"][-1] >= 1
    with busy_machine():
        loaded = sinkhorn_newton_sparse(a, b, C, 1 / 1200)
    _same(quiet, loaded)


@pytest.mark.parametrize("fn", ALL)
def test_serial_and_threaded_calls_agree_exactly(fn, hard_problem):
    a, b, C = hard_problem
    reg = 1 / 1200 if fn is not sparsity_constrained_ot else 0.1
    serial = _call(fn, a, b, C, reg, n_jobs=1)
    threaded = _call(fn, a, b, C, reg, n_jobs=2)
    default = _call(fn, a, b, C, reg)
    _same(serial, threaded)
    _same(serial, default)


def test_sns_from_several_python_threads_agrees_exactly(hard_problem):
    a, b, C = hard_problem
    reference = sinkhorn_newton_sparse(a, b, C, 1 / 400, n_jobs=1)
    results = [None] * 3

    def solve(i):
        results[i] = sinkhorn_newton_sparse(a, b, C, 1 / 400, n_jobs=2)

    threads = [threading.Thread(target=solve, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        _same(reference, r)


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("n_jobs", [1, 2, None])
def test_small_inputs_give_the_same_result_for_any_n_jobs(fn, n_jobs):
    a, b, C = _problem(30, 30, 14)
    _same(_call(fn, a, b, C, 0.02, n_jobs=1), _call(fn, a, b, C, 0.02, n_jobs=n_jobs))


def test_serial_and_parallel_kernels_agree_bitwise():
    from sparsenum.ot import _kernels

    rng = np.random.default_rng(15)
    n, m = 60, 50
    C = rng.random((n, m))
    f, g = rng.normal(size=n) * 0.01, rng.normal(size=m) * 0.01
    a, b = np.full(n, 1 / n), np.full(m, 1 / m)
    for reg in (0.1, 1e-3):  # numpy's exp, then numba's
        P1, P2 = np.empty((n, m)), np.empty((n, m))
        r1, r2 = np.empty(n), np.empty(n)
        _kernels.plan_from_potentials(C, f, g, reg, P1, r1)
        _kernels._plan_serial(C, f, g, reg, P2, r2)
        np.testing.assert_array_equal(P1, P2)
        np.testing.assert_array_equal(r1, r2)
        outs = []
        for fn in (_kernels.absorb_rows, _kernels._absorb_rows_serial):
            K, ff, u = np.empty((n, m)), np.empty(n), np.empty(n)
            fn(C, a, g, reg, K, ff, u)
            outs.append((K, ff, u))
        for x, y in zip(*outs):
            np.testing.assert_array_equal(x, y)
        outs = []
        for fn in (_kernels.absorb_cols, _kernels._absorb_cols_serial):
            K, gg, v = np.empty((n, m)), np.empty(m), np.empty(m)
            fn(C, b, f, reg, K, gg, v)
            outs.append((K, gg, v))
        for x, y in zip(*outs):
            np.testing.assert_array_equal(x, y)


# -- history agrees with the result ------------------------------------------------------------

@pytest.mark.parametrize("formulation", ["semi_dual", "dual"])
@pytest.mark.parametrize("polish", [True, False])
def test_sparse_history_ends_at_the_returned_plan(formulation, polish):
    rng = np.random.default_rng(16)
    n = 60
    a = np.full(n, 1 / n)
    b = rng.random(n) + 0.2
    b /= b.sum()
    C = rng.random((n, n))
    res = sparsity_constrained_ot(a, b, C, 0.1, 5, formulation=formulation, polish=polish)
    h = res.history
    assert h.iteration[-1] == res.n_iter
    assert h.criterion[-1] == pytest.approx(res.marginal_error, rel=1e-9, abs=1e-15)
    assert np.all(np.diff(h.iteration) == 1)
    assert np.all(np.diff(h.objective) >= 0)  # best point so far: never worse
    if polish:
        assert res.marginal_error <= 1e-12 < h.criterion[-2]


@pytest.mark.parametrize("fn", ENTROPIC)
def test_entropic_history_ends_at_the_returned_plan_when_max_iter_stops_it(fn):
    a, b, C = _problem(60, 60, 17)
    for max_iter in (3, 25, 47):
        res = fn(a, b, C, 1e-3, max_iter=max_iter)
        assert not res.converged and res.n_iter == max_iter
        assert res.history.iteration[-1] == max_iter
        assert res.history.criterion[-1] == pytest.approx(res.marginal_error, rel=1e-6)


# -- progress: verbose and callback -------------------------------------------------------------

@pytest.mark.parametrize("fn", ALL)
def test_callback_sees_every_history_row_and_can_stop(fn):
    a, b, C = _problem(40, 40, 18)
    seen = []
    res = _call(fn, a, b, C, 2e-3, callback=lambda it, state: seen.append(
        (it, state["marginal_violation"], state["f"].shape)))
    plain = _call(fn, a, b, C, 2e-3)
    _same(res, plain)  # reporting changes nothing
    rows = res.history
    assert len(seen) >= len(rows) - (1 if fn is sparsity_constrained_ot else 0)
    assert [s[0] for s in seen] == list(rows.iteration[: len(seen)])
    np.testing.assert_array_equal([s[1] for s in seen], rows.criterion[: len(seen)])
    stopped = _call(fn, a, b, C, 2e-3, callback=lambda it, state: it >= 2)
    assert not stopped.converged and stopped.n_iter < plain.n_iter
    assert stopped.history.iteration[-1] == stopped.n_iter


@pytest.mark.parametrize("fn", ALL)
def test_verbose_prints_a_line_per_row_at_2_and_a_summary_at_1(fn, capsys):
    a, b, C = _problem(20, 20, 19)
    res = _call(fn, a, b, C, 0.02, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert sum("iteration" in line for line in lines) >= len(res.history) - 1
    assert "converged after" in lines[-1]
    _call(fn, a, b, C, 0.02, verbose=True)
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
    _call(fn, a, b, C, 0.02)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("solver", ["sinkhorn", "sinkhorn_newton_sparse"])
def test_weight_that_underflows_against_the_total_mass_is_left_out(solver):
    # 7e-219 / 3e105 underflows to 0 in the unit-mass problem: the row is outside the solved
    # support (zero plan row, -inf potential) instead of a -inf potential inside it, whose
    # product with the zero weight made the dual objective NaN
    from sparsenum import ot as sot

    a = np.array([7.32060174e-219, 2.96341258e105])
    res = getattr(sot, solver)(a, a.copy(), np.zeros((2, 2)), 0.05)
    assert np.isfinite(res.dual_objective) and np.isfinite(res.objective)
    assert (res.plan[0] == 0).all() and res.plan[1, 1] == pytest.approx(a[1], rel=1e-9)
    assert res.marginal_error <= 1e-9
