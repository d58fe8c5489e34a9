"""Hostile and careless input to every public function and estimator of sparsenum.completion:
each call ends in a clean ValueError/TypeError naming the argument, or a finite, honest result,
and the inputs come back unmodified."""

import contextlib

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from sparsenum.completion import AltMinImputer, AltMinRatingsRegressor, altmin_complete
from sparsenum.completion.row_solvers import solve_rows
from tests._fuzz import (
    BAD_BOOLS,
    BAD_INTS,
    BAD_REALS,
    bad_arrays,
    expect_clean_failure,
    outcome,
    unmodified,
)

pytestmark = pytest.mark.timeout(300)

_M = np.where(np.random.default_rng(0).random((8, 6)) < 0.7,
              np.random.default_rng(1).standard_normal((8, 6)), np.nan)
_FAST = {"n_sweeps": 2, "random_state": 0}


def _watch(x):
    """``unmodified`` for numeric arrays (its NaN-aware comparison needs a numeric dtype)."""
    numeric = isinstance(x, np.ndarray) and x.dtype.kind in "biuf"
    return unmodified(x) if numeric else contextlib.nullcontext()


def _finite(result):
    assert np.isfinite(result.to_dense()).all()
    assert np.isfinite(result.history.objective).all()


@given(rank=BAD_INTS)
def test_rank_not_an_integer(rank):
    expect_clean_failure(lambda: altmin_complete(_M, rank, **_FAST), names="rank")


@given(rank=st.integers(-5, 12))
def test_rank_out_of_range_or_fine(rank):
    kind, value = outcome(lambda: altmin_complete(_M, rank, reg=0.1, bias_reg=1.0, **_FAST),
                          names="rank")
    assert (kind == "ok") == (1 <= rank < 6)
    if kind == "ok":
        _finite(value)


@given(reg=BAD_REALS, which=st.sampled_from(["reg", "bias_reg", "tol"]))
def test_bad_reals(reg, which):
    kwargs = {"reg": 0.1, "bias_reg": 1.0, **_FAST, which: reg}
    if which == "bias_reg" and isinstance(reg, (tuple, list)) and len(reg) == 2:
        return
    expect_clean_failure(lambda: altmin_complete(_M, 2, **kwargs), names=which)


@given(value=st.one_of(BAD_REALS.filter(lambda v: v is not None),
                       st.sampled_from([0, 0.0, -1.0, -1e-300, "Auto", "none", ""])))
def test_bad_implicit(value):
    expect_clean_failure(lambda: altmin_complete(_M, 2, implicit=value, **_FAST),
                         names="implicit")
    expect_clean_failure(lambda: AltMinImputer(rank=2, implicit=value).fit(_M),
                         names="implicit")


@given(value=BAD_BOOLS)
def test_biases_must_be_a_bool(value):
    expect_clean_failure(lambda: altmin_complete(_M, 2, biases=value, **_FAST), names="biases")


@given(value=BAD_INTS)
def test_n_sweeps_and_verbose_must_be_integers(value):
    expect_clean_failure(lambda: altmin_complete(_M, 2, n_sweeps=value), names="n_sweeps")
    expect_clean_failure(lambda: altmin_complete(_M, 2, verbose=value, **_FAST),
                         names="verbose")


@given(value=st.one_of(st.text(max_size=5), st.none(), st.integers()).filter(
    lambda v: v not in ("auto", "exact", "cg", "sketch", "svd", "random")))
def test_solver_and_init_names(value):  # valid names (short texts can be drawn) excluded
    expect_clean_failure(lambda: altmin_complete(_M, 2, solver=value, **_FAST), names="solver")
    expect_clean_failure(lambda: altmin_complete(_M, 2, init=value, **_FAST), names="init")


@given(M=bad_arrays((8, 6)))
def test_bad_matrices(M):
    def call():
        return altmin_complete(M, 2, reg=0.1, bias_reg=1.0, **_FAST)

    with _watch(M):
        kind, value = outcome(call, names="M")
    if kind == "ok":  # NaN is a missing entry, not an error
        assert isinstance(M, np.ndarray) and np.isnan(M).any()
        _finite(value)


@st.composite
def _observed(draw):
    m = draw(st.integers(2, 12))
    n = draw(st.integers(2, 12))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    fraction = draw(st.floats(0.05, 1.0))
    scale = draw(st.sampled_from([1e-6, 1.0, 1e6]))
    M = np.where(rng.random((m, n)) < fraction, scale * rng.standard_normal((m, n)), np.nan)
    if np.isnan(M).all():
        M[0, 0] = 1.0
    return M


@given(M=_observed(), sparse=st.booleans(), solver=st.sampled_from(["auto", "exact", "cg",
                                                                  "sketch"]),
       reg=st.one_of(st.just("auto"), st.floats(0, 10)), biases=st.booleans(),
       implicit=st.one_of(st.just("auto"), st.none(), st.floats(1e-6, 1e6)), data=st.data())
def test_any_observation_pattern_gives_a_finite_honest_result(M, sparse, solver, reg, biases,
                                                              implicit, data):
    rank = data.draw(st.integers(1, max(1, min(M.shape) - 1)))
    if min(M.shape) < 2:
        return
    observed = ~np.isnan(M)
    rows, cols = np.nonzero(observed)
    X = sp.csr_matrix((M[rows, cols], (rows, cols)), shape=M.shape) if sparse else M
    with unmodified(X):
        result = altmin_complete(X, rank, reg=reg, solver=solver, biases=biases,
                                 implicit=implicit, n_sweeps=4, random_state=0)
    _finite(result)
    assert result.history.iteration[-1] == result.n_iter
    # an interpolating fit leaves residuals at the rounding level of the values, where the
    # kernel's fitted values and predict's may differ in their last digits
    assert result.train_rmse == pytest.approx(
        np.sqrt(np.mean((result.predict(rows, cols) - M[rows, cols]) ** 2)), rel=1e-8,
        abs=1e-13 * float(np.abs(M[rows, cols]).max()) + 1e-300)


@given(value=st.sampled_from([(1, 2), ([0], [1]), ([0, 1], [0, 1], [1.0]),
                              ([0], [99], [1.0]), ([-1], [0], [1.0]), ([0.5], [0], [1.0]),
                              ([0], [0], [np.nan]), "abc", np.ones((3, 3))]))
def test_bad_validation_sets(value):
    expect_clean_failure(lambda: altmin_complete(_M, 2, validation=value, **_FAST),
                         names="validation")


@given(value=BAD_REALS)
def test_solve_rows_bad_scalars(value):
    V = np.ones((6, 2))
    expect_clean_failure(lambda: solve_rows(_M, V, reg=value), names="reg")
    expect_clean_failure(lambda: solve_rows(_M, V, tol=value), names="tol")


@given(V=bad_arrays((6, 2)))
def test_solve_rows_bad_factors(V):
    with _watch(V):
        expect_clean_failure(lambda: solve_rows(_M, V), names="col_factors")


@given(param=st.sampled_from(["rank", "n_sweeps"]), value=BAD_INTS)
def test_estimators_check_parameters_in_fit(param, value):
    for estimator in (AltMinImputer(**{param: value}),
                      AltMinRatingsRegressor(**{param: value})):
        assert getattr(estimator, param) is value  # __init__ only stores
    expect_clean_failure(lambda: AltMinImputer(**{param: value}).fit(_M), names=param)


@given(X=st.sampled_from([
    np.array([[0, 1], [1, -1]]), np.array([[0, 1.5], [1, 0]]), np.array([[0, 1, 2], [1, 0, 2]]),
    np.array([[0, 1], [0, 1]]), np.array([["a", "b"], ["c", "d"]]), np.array([[0, np.nan],
                                                                              [1, 0]]),
]))
def test_ratings_regressor_bad_ids(X):
    y = np.arange(X.shape[0], dtype=float)
    with _watch(X):
        expect_clean_failure(lambda: AltMinRatingsRegressor(rank=1).fit(X, y), names="X")


@given(y=st.sampled_from([[1.0, np.nan, 2.0], [1.0, np.inf, 2.0], ["a", "b", "c"]]))
def test_ratings_regressor_bad_values(y):
    X = np.array([[0, 0], [1, 1], [2, 0]])
    expect_clean_failure(lambda: AltMinRatingsRegressor(rank=1).fit(X, np.array(y)),
                         names=("y", "Input"))
