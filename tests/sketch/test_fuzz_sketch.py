"""Fuzz tests of sparsenum.sketch: bad values, dtypes, shapes and extreme scales.

Every call ends in a ValueError/TypeError naming the user's argument, or in a finite, honest
result; inputs come back unmodified.
"""

import os
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparsenum.sketch import (
    SRHT,
    CountSketch,
    GaussianSketch,
    RankDeficientWarning,
    SketchedRegression,
    SparseSign,
    auto_oversampling,
    linf_error_bound,
    linf_sketch_size,
    make_sketch,
    sketch_and_precondition,
    sketch_and_solve,
)
from tests._fuzz import BAD_BOOLS, BAD_INTS, BAD_REALS, bad_arrays, outcome, unmodified

# a quick profile by default; SPARSENUM_FUZZ_EXAMPLES=500 for a thorough run
FUZZ = settings(max_examples=int(os.environ.get("SPARSENUM_FUZZ_EXAMPLES", "25")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
pytestmark = pytest.mark.timeout(300)

RNG = np.random.default_rng(0)
A = RNG.standard_normal((60, 4)) * np.logspace(0, 2, 4)
B = A @ RNG.standard_normal(4) + RNG.standard_normal(60)
SOLVERS = {"sketch_and_solve": sketch_and_solve, "sketch_and_precondition": sketch_and_precondition}

# name -> (values a user may pass besides numbers of the right kind, kind of number)
SOLVER_PARAMS = {
    "sketch_and_solve": {"sketch_size": ("int", {None}), "eps": ("real", {None}),
                         "delta": ("real", set()), "rcond": ("real", {None}),
                         "n_jobs": ("int", {None})},
    "sketch_and_precondition": {"sketch_size": ("int", {None}), "oversampling": ("real", {None}),
                                "tol": ("real", set()), "max_iter": ("int", set()),
                                "rcond": ("real", {None}), "n_jobs": ("int", {None}),
                                "verbose": ("int", {True, False})},
}


def _allowed(value, extra):
    return any(value is v for v in extra)


def _check_ok(result):
    assert np.all(np.isfinite(result.coef)), "a finite input gave a non-finite coef"
    assert np.isfinite(result.residual_norm)


@FUZZ
@given(data=st.data(), solver=st.sampled_from(sorted(SOLVERS)))
def test_bad_scalar_parameters_are_named(data, solver):
    name = data.draw(st.sampled_from(sorted(SOLVER_PARAMS[solver])))
    kind, extra = SOLVER_PARAMS[solver][name]
    value = data.draw(BAD_INTS if kind == "int" else BAD_REALS)
    with unmodified(A, B), warnings.catch_warnings():
        warnings.simplefilter("ignore", (RankDeficientWarning, UserWarning))
        status, result = outcome(lambda: SOLVERS[solver](A, B, **{name: value}, random_state=0),
                                 names=name)
    if status == "ok":
        assert _allowed(value, extra) or (kind == "real" and isinstance(value, (int, float))
                                          and not isinstance(value, bool)), (
            f"{solver}({name}={value!r}) was accepted")
        _check_ok(result)


@FUZZ
@given(solver=st.sampled_from(sorted(SOLVERS)), which=st.sampled_from(["A", "b"]),
       bad=st.one_of(bad_arrays((60, 4)), bad_arrays((60,))))
def test_bad_arrays_are_named(solver, which, bad):
    args = {"A": A, "b": B, which: bad}
    if which == "A" and isinstance(bad, np.ndarray) and bad.ndim == 1:
        args["A"] = bad.reshape(-1, 1) if bad.size == 60 else bad  # a column: fine if finite
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (RankDeficientWarning, UserWarning))
        status, result = outcome(lambda: SOLVERS[solver](args["A"], args["b"], random_state=0),
                                 names=("A", "b"))
    if status == "ok":  # only a well-formed finite input may pass
        assert np.all(np.isfinite(np.asarray(args["A"], dtype=float)))
        _check_ok(result)


@FUZZ
@given(solver=st.sampled_from(sorted(SOLVERS)), a_exp=st.integers(-300, 300),
       b_exp=st.integers(-300, 300), sparse=st.booleans())
def test_extreme_scales_give_finite_least_squares_solutions(solver, a_exp, b_exp, sparse):
    a_scale, b_scale = 10.0**a_exp, 10.0**b_exp
    As = A * a_scale
    As = sp.csr_matrix(As) if sparse else As
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (RankDeficientWarning, UserWarning))
        status, result = outcome(lambda: SOLVERS[solver](As, B * b_scale, random_state=0),
                                 names=("A", "b"))
    if status == "ok":
        _check_ok(result)
        x_ref = np.linalg.lstsq(A, B, rcond=None)[0]
        size = np.abs(x_ref).max() * b_scale / a_scale
        if solver == "sketch_and_precondition" and result.rank == 4 and 1e-290 < size < 1e290:
            # the exact solution scales as b_scale / a_scale (subnormal ones lose digits)
            x = result.coef * (a_scale / b_scale)
            np.testing.assert_allclose(x, x_ref, rtol=1e-8, atol=1e-8 * np.abs(x_ref).max())


@FUZZ
@given(name=st.sampled_from(["random_state"]), value=st.sampled_from(
    [-1, 2**40, 1.5, "0", [0], object()]), solver=st.sampled_from(sorted(SOLVERS)))
def test_bad_random_state_is_named(name, value, solver):
    status, _ = outcome(lambda: SOLVERS[solver](A, B, **{name: value}), names=name)
    assert status == "error"


def test_huge_sizes_are_refused_or_harmless():
    for call, name in [(lambda: sketch_and_solve(A, B, sketch_size=10**12), "sketch_size"),
                       (lambda: GaussianSketch(10**12).apply(A), "m"),
                       (lambda: SRHT(10**12).apply(A), "m"),
                       (lambda: linf_sketch_size(10**6, 10, 1e-200), "eps")]:
        status, _ = outcome(call, names=name)
        assert status == "error"
    # generous limits cost nothing
    _check_ok(sketch_and_precondition(A, B, max_iter=10**12, n_jobs=10**6, random_state=0))
    with pytest.warns(UserWarning, match="solving the full problem exactly"):
        _check_ok(sketch_and_solve(A, B, eps=1e-200, random_state=0))
    assert linf_sketch_size(10**300, 3, 1.0) > 0


OPERATORS = [GaussianSketch, SRHT, SparseSign, CountSketch]


@FUZZ
@given(op=st.sampled_from(OPERATORS), m=BAD_INTS)
def test_operators_name_bad_sizes(op, m):
    status, _ = outcome(lambda: op(m, random_state=0).apply(A), names="m")
    assert status == "error"


@FUZZ
@given(op=st.sampled_from(OPERATORS), bad=bad_arrays((60, 4)))
def test_operators_name_bad_arrays(op, bad):
    status, result = outcome(lambda: op(10, random_state=0).apply(bad), names="A")
    if status == "ok":
        assert np.all(np.isfinite(result))


@FUZZ
@given(op=st.sampled_from(OPERATORS), exponent=st.integers(-300, 300))
def test_operators_are_linear_at_any_scale(op, exponent):
    scale = 10.0**exponent
    sketch = op(20, random_state=0)
    status, result = outcome(lambda: sketch.apply(A * scale), names="A")
    if status == "ok":
        expected = sketch.apply(A)
        finite = np.isfinite(result)
        # entries may overflow only where A's sketch times the scale cannot be represented
        assert np.all(finite | ~np.isfinite(expected * scale))
        np.testing.assert_allclose(result[finite] / scale, expected[finite], rtol=1e-12,
                                   atol=1e-12 * np.abs(expected).max())


@FUZZ
@given(name=st.sampled_from(["n", "d"]), value=BAD_INTS)
def test_size_helpers_name_bad_sizes(name, value):
    args = {"n": 1000, "d": 5, name: value}
    for call in (lambda: linf_sketch_size(args["n"], args["d"], 1.0),
                 lambda: auto_oversampling(args["n"], args["d"])):
        status, _ = outcome(call, names=name)
        assert status == "error"


@FUZZ
@given(value=BAD_REALS)
def test_eps_helpers_name_bad_eps(value):
    for call in (lambda: linf_sketch_size(1000, 5, value),
                 lambda: linf_error_bound(A, B, value)):
        status, _ = outcome(call, names="eps")
        assert status == "error"


@FUZZ
@given(value=st.sampled_from(["fourier", 3, None, object(), ["srht"]]))
def test_make_sketch_names_bad_sketch(value):
    status, _ = outcome(lambda: make_sketch(value, 10), names="sketch")
    assert status == "error"


ESTIMATOR_PARAMS = {
    "method": st.sampled_from(["exact", 1, None, True]),
    "sketch": st.sampled_from(["fourier", 3, True, object()]),
    "sketch_size": BAD_INTS.filter(lambda v: v is not None),
    "eps": BAD_REALS.filter(lambda v: v is not None),
    "fit_intercept": BAD_BOOLS,
    "tol": BAD_REALS,
    "max_iter": BAD_INTS,
    "random_state": st.sampled_from([-1, 2**40, 1.5, "0", [0]]),
    "n_jobs": BAD_INTS.filter(lambda v: v is not None),
    "verbose": st.sampled_from(["yes", -1, 1.5, None, [1]]),
}


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(ESTIMATOR_PARAMS)))
def test_regressor_names_bad_parameters(data, name):
    value = data.draw(ESTIMATOR_PARAMS[name])
    with unmodified(A, B):
        status, _ = outcome(lambda: SketchedRegression(**{name: value}).fit(A, B), names=name)
    assert status == "error", f"SketchedRegression({name}={value!r}) was accepted"


@FUZZ
@given(which=st.sampled_from(["X", "y"]), bad=st.one_of(bad_arrays((60, 4)), bad_arrays((60,))))
def test_regressor_rejects_bad_data(which, bad):
    args = {"X": A, "y": B, which: bad}
    try:
        SketchedRegression(random_state=0).fit(args["X"], args["y"])
    except (ValueError, TypeError):
        return
    assert np.all(np.isfinite(np.asarray(args["X"], dtype=float)))
    assert np.all(np.isfinite(np.asarray(args["y"], dtype=float)))


def test_sketches_larger_than_memory_are_refused_with_the_amount():
    tall = sp.csr_matrix((10**9, 3))
    for call in (lambda: GaussianSketch(10**8).apply(tall),
                 lambda: sketch_and_solve(tall, np.zeros(10**9), sketch="gaussian",
                                          sketch_size=10**8)):
        error = outcome(call, names=("m", "sketch_size"))[1]
        assert "GiB" in str(error)
