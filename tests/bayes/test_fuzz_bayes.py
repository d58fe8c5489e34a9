"""Hostile and careless inputs for every public function and estimator of sparsenum.bayes:
each call ends in a clean error naming the argument, or a finite result; inputs come back
unmodified."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparsenum.bayes import (
    SBLRegressor,
    TurboVBIRegressor,
    kronecker_sbl,
    sparse_bayesian_learning,
    turbo_vbi,
)
from tests._fuzz import (
    BAD_BOOLS,
    BAD_INTS,
    BAD_REALS,
    bad_arrays,
    expect_clean_failure,
    outcome,
    unmodified,
)

M, N = 6, 10
RNG = np.random.default_rng(0)
A_GOOD = RNG.standard_normal((M, N))
Y_GOOD = A_GOOD[:, 2] - A_GOOD[:, 3] + 0.01 * RNG.standard_normal(M)
FACTORS = [RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))]
Y_KRON = np.kron(FACTORS[0] @ [1.0, 0, 0], FACTORS[1] @ [0, 1.0, 0, 0])

SOLVERS = {
    "sparse_bayesian_learning": lambda A, y, **kw: sparse_bayesian_learning(
        A, y, max_iter=20, **kw),
    "turbo_vbi": lambda A, y, **kw: turbo_vbi(A, y, max_iter=8, random_state=0, **kw),
}


def _numeric(a, fallback):
    """``a`` if it can be compared for in-place changes (a numeric array), else ``fallback``."""
    return a if isinstance(a, np.ndarray) and a.dtype.kind in "biufc" else fallback


def _finite(result):
    assert np.all(np.isfinite(result.coef)) and np.all(np.isfinite(result.posterior_var))
    assert np.isfinite(result.noise_var) and result.noise_var >= 0


def _quiet(call):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    return run


@pytest.mark.timeout(120)
@pytest.mark.parametrize("solver", SOLVERS)
@given(bad=bad_arrays((M, N)))
def test_bad_designs(solver, bad):
    y = Y_GOOD.copy()
    with unmodified(y, _numeric(bad, y)):
        kind, value = outcome(_quiet(lambda: SOLVERS[solver](bad, y)), names=("A", "y"))
    if kind == "ok":
        _finite(value)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("solver", SOLVERS)
@given(bad=bad_arrays((M,)))
def test_bad_observations(solver, bad):
    A = A_GOOD.copy()
    with unmodified(A, _numeric(bad, A)):
        kind, value = outcome(_quiet(lambda: SOLVERS[solver](A, bad)), names=("y",))
    if kind == "ok":
        _finite(value)


@pytest.mark.timeout(120)
@given(value=BAD_REALS, name=st.sampled_from(["coupling", "noise_var", "tol", "prune"]))
def test_sbl_bad_reals(value, name):
    if name in ("prune", "noise_var") and value is None:
        return  # None is valid: the default pruning rule, a learned noise variance
    expect_clean_failure(lambda: sparse_bayesian_learning(A_GOOD, Y_GOOD, **{name: value}),
                         names=(name,))


@pytest.mark.timeout(120)
@given(value=BAD_INTS)
def test_bad_max_iter(value):
    for solver in (sparse_bayesian_learning, turbo_vbi):
        expect_clean_failure(lambda s=solver: s(A_GOOD, Y_GOOD, max_iter=value),
                             names=("max_iter",))
    expect_clean_failure(lambda: kronecker_sbl(FACTORS, Y_KRON, max_iter=value),
                         names=("max_iter",))


@pytest.mark.timeout(120)
@given(value=st.sampled_from([-1.0, -1e-9, float("inf")]),
       name=st.sampled_from(["coupling", "noise_var", "tol", "prune"]))
def test_sbl_out_of_range(value, name):
    expect_clean_failure(lambda: sparse_bayesian_learning(A_GOOD, Y_GOOD, **{name: value}),
                         names=(name,))


@pytest.mark.timeout(120)
@given(value=st.sampled_from(["EM", "fast", None, 1, ("em",)]))
def test_bad_choices(value):
    expect_clean_failure(lambda: sparse_bayesian_learning(A_GOOD, Y_GOOD, update=value),
                         names=("update",))
    expect_clean_failure(lambda: turbo_vbi(A_GOOD, Y_GOOD, support=value), names=("support",))
    expect_clean_failure(lambda: kronecker_sbl(FACTORS, Y_KRON, update=value),
                         names=("update",))


@pytest.mark.timeout(120)
@given(value=st.sampled_from([(0.0, 0.5), (0.5, 1.0), (-0.1, 0.2), (0.2,), (0.1, 0.2, 0.3),
                              "0.1,0.2", 0.3, (None, 0.2), (True, 0.2),
                              (float("nan"), 0.2), np.array([1.5, 0.2])]))
def test_bad_transitions(value):
    expect_clean_failure(lambda: turbo_vbi(A_GOOD, Y_GOOD, transition=value),
                         names=("transition",))


@pytest.mark.timeout(120)
@given(value=st.sampled_from([None, (2, 4), (5, 2, 1), (2.0, 5), ("2", 5), (0, 10), (-2, -5),
                              [2], "2x5"]))
def test_bad_mrf_shapes(value):
    expect_clean_failure(lambda: turbo_vbi(A_GOOD, Y_GOOD, support="mrf", shape=value),
                         names=("shape",))


def test_shape_with_a_chain_is_refused():
    expect_clean_failure(lambda: turbo_vbi(A_GOOD, Y_GOOD, shape=(2, 5)), names=("shape",))


@pytest.mark.timeout(120)
@given(value=st.sampled_from([(1e-6,), (-1.0, 0.0), (0.0, float("inf")), "ab", None,
                              (True, 0.0), 1.0]),
       name=st.sampled_from(["precision_prior", "noise_prior"]))
def test_bad_priors(value, name):
    expect_clean_failure(lambda: sparse_bayesian_learning(A_GOOD, Y_GOOD, **{name: value}),
                         names=(name,))


@pytest.mark.timeout(120)
@given(value=st.sampled_from([np.ones((3, 4)), [np.ones(3)], [], "abc", None,
                              [np.ones((2, 3)), np.ones((2, 4))],
                              [np.full((2, 3), np.nan), np.ones((3, 4))],
                              [np.ones((2, 3)), "x"]]))
def test_bad_factors(value):
    y = Y_KRON.copy()
    with unmodified(y):
        expect_clean_failure(lambda: kronecker_sbl(value, y), names=("factors",))


@pytest.mark.timeout(120)
@given(value=BAD_REALS)
def test_kronecker_bad_reals(value):
    for name in ("noise_var", "tol", "prune"):
        if name in ("prune", "noise_var") and value is None:
            continue
        expect_clean_failure(lambda n=name: kronecker_sbl(FACTORS, Y_KRON, **{n: value}),
                             names=(name,))


@pytest.mark.timeout(120)
@given(value=st.sampled_from(["yes", 1.5, [1], -1, object()]))
def test_bad_verbose_and_callback(value):
    expect_clean_failure(lambda: sparse_bayesian_learning(A_GOOD, Y_GOOD, verbose=value),
                         names=("verbose",))
    expect_clean_failure(lambda: turbo_vbi(A_GOOD, Y_GOOD, callback=value), names=("callback",))


@pytest.mark.timeout(120)
@given(value=st.sampled_from([-1, 2**40, 1.5, "seed", [1]]))
def test_bad_random_state(value):
    expect_clean_failure(lambda: turbo_vbi(A_GOOD, Y_GOOD, random_state=value),
                         names=("random_state",))


def test_shape_mismatch_between_design_and_observations():
    expect_clean_failure(lambda: sparse_bayesian_learning(A_GOOD, Y_GOOD[:-1]), names=("y",))
    expect_clean_failure(lambda: kronecker_sbl(FACTORS, Y_KRON[:-1]), names=("factors",))


def test_huge_sizes_are_refused_with_the_memory_they_need():
    big = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(40000, 40000), strides=(0, 0))
    err = expect_clean_failure(lambda: sparse_bayesian_learning(big, np.ones(40000)),
                               names=("A",))
    assert "GiB" in str(err)


ESTIMATOR_PARAMS = {
    SBLRegressor: {"coupling": BAD_REALS, "tol": BAD_REALS, "noise_var": BAD_REALS,
                   "max_iter": BAD_INTS, "fit_intercept": BAD_BOOLS,
                   "update": st.sampled_from(["EM", None, 1]),
                   "precision_prior": st.sampled_from([(1.0,), "a", (-1.0, 1.0)])},
    TurboVBIRegressor: {"tol": BAD_REALS, "noise_var": BAD_REALS, "max_iter": BAD_INTS,
                        "fit_intercept": BAD_BOOLS, "support": st.sampled_from(["MRF", None]),
                        "transition": st.sampled_from([(0.0, 0.5), "x", (0.1,)]),
                        "shape": st.sampled_from([(2, 5), (3, 3)])},
}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("cls", list(ESTIMATOR_PARAMS))
@given(data=st.data())
def test_estimators_check_every_parameter_in_fit(cls, data):
    name = data.draw(st.sampled_from(sorted(ESTIMATOR_PARAMS[cls])))
    value = data.draw(ESTIMATOR_PARAMS[cls][name])
    if value is None and name in ("noise_var",):
        return  # None is valid: learned
    X, y = A_GOOD.copy(), Y_GOOD.copy()
    with unmodified(X, y):
        expect_clean_failure(lambda: cls(**{name: value}).fit(X, y), names=(name,))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("cls", [SBLRegressor, TurboVBIRegressor])
@given(bad=bad_arrays((M, N)))
def test_estimators_with_bad_X(cls, bad):
    y = Y_GOOD.copy()
    kind, value = outcome(_quiet(lambda: cls().fit(bad, y)), names=("X", "y", "complex",
                                                                    "array", "dimension",
                                                                    "samples", "sample"))
    if kind == "ok":
        assert np.all(np.isfinite(value.coef_))
