"""Fuzz tests of sparsenum.dictionary: bad values, dtypes, shapes and extreme scales.

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
from sklearn.exceptions import ConvergenceWarning

from sparsenum.dictionary import (
    KSVD,
    CalibratedDictionaryCompressor,
    LowRankLayer,
    OnlineOrthogonalDictionary,
    SparseDictionaryLayer,
    batch_omp,
    compress_layer,
    ksvd,
    sparse_dictionary_budget,
)
from tests._fuzz import BAD_BOOLS, BAD_INTS, BAD_REALS, bad_arrays, outcome, unmodified

# a quick profile by default; SPARSENUM_FUZZ_EXAMPLES=500 for a thorough run
FUZZ = settings(max_examples=int(os.environ.get("SPARSENUM_FUZZ_EXAMPLES", "25")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
pytestmark = pytest.mark.timeout(300)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((40, 6))
D = RNG.standard_normal((9, 6))
W = RNG.standard_normal((8, 12))
XC = RNG.standard_normal((50, 8))
NONE_OK = {None}


def _quiet(call):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (ConvergenceWarning, RuntimeWarning))
            return call()
    return run


def _finite(value):
    if sp.issparse(value):
        return bool(np.all(np.isfinite(value.data)))
    return bool(np.all(np.isfinite(value)))


# function -> parameter -> (strategy of bad values, values that are legitimately accepted)
FUNCTION_PARAMS = {
    "batch_omp": (lambda **kw: batch_omp(X, D, **kw), {
        "n_nonzero": (BAD_INTS, NONE_OK), "tol": (BAD_REALS, NONE_OK),
        "n_jobs": (BAD_INTS, NONE_OK)}),
    "ksvd": (lambda **kw: ksvd(X, **{"max_iter": 2, **kw}), {
        "n_components": (BAD_INTS, NONE_OK), "n_nonzero": (BAD_INTS, NONE_OK),
        "max_iter": (BAD_INTS, set()), "tol": (BAD_REALS, NONE_OK),
        "approximate": (BAD_BOOLS, set()), "monotone": (BAD_BOOLS, set()),
        "random_state": (st.sampled_from([-1, 2**40, 1.5, "0", [0]]), set()),
        "n_jobs": (BAD_INTS, NONE_OK), "verbose": (st.sampled_from(["yes", -1, 1.5, None]),
                                                   set()),
        "callback": (st.sampled_from([1, "f", [print]]), set())}),
    "compress_layer": (lambda **kw: compress_layer(W, XC, **{"max_iter": 2, **kw}), {
        "compression_ratio": (BAD_REALS, set()), "atoms_per_nonzero": (BAD_REALS, set()),
        "method": (st.sampled_from(["pca", None, 1, True]), set()),
        "max_iter": (BAD_INTS, set()), "tol": (BAD_REALS, NONE_OK),
        "random_state": (st.sampled_from([-1, 2**40, 1.5, "0"]), set()),
        "n_jobs": (BAD_INTS, NONE_OK), "verbose": (st.sampled_from(["yes", -1, None]), set())}),
    "sparse_dictionary_budget": (lambda **kw: sparse_dictionary_budget(
        **{"shape": (64, 64), "compression_ratio": 0.3, **kw}), {
        "shape": (st.sampled_from([(64.7, 64.2), "ab", (0, 3), (3,), None, (True, 4)]), set()),
        "compression_ratio": (BAD_REALS, set()), "atoms_per_nonzero": (BAD_REALS, set())}),
}


@FUZZ
@given(data=st.data(), function=st.sampled_from(sorted(FUNCTION_PARAMS)))
def test_bad_parameters_are_named(data, function):
    call, params = FUNCTION_PARAMS[function]
    name = data.draw(st.sampled_from(sorted(params)))
    strategy, allowed = params[name]
    value = data.draw(strategy)
    with unmodified(X, D, W, XC):
        status, _result = outcome(_quiet(lambda: call(**{name: value})), names=name)
    if status == "ok":
        assert any(value is v for v in allowed), f"{function}({name}={value!r}) was accepted"


ARRAY_CALLS = {
    "batch_omp X": (lambda bad: batch_omp(bad, D, n_nonzero=2), "X", (40, 6)),
    "batch_omp D": (lambda bad: batch_omp(X, bad, n_nonzero=2), "D", (9, 6)),
    "ksvd X": (lambda bad: ksvd(bad, 8, 2, max_iter=2), "X", (40, 6)),
    "ksvd dict_init": (lambda bad: ksvd(X, 9, 2, max_iter=2, dict_init=bad), "dict_init",
                       (9, 6)),
    "compress_layer W": (lambda bad: compress_layer(bad, XC, max_iter=2), "W", (8, 12)),
    "compress_layer X_calibration": (lambda bad: compress_layer(W, bad, max_iter=2),
                                     "X_calibration", (50, 8)),
    "SparseDictionaryLayer dictionary": (lambda bad: SparseDictionaryLayer(
        bad, sp.eye(9, 6, format="csr")), "dictionary", (8, 9)),
    "LowRankLayer right": (lambda bad: LowRankLayer(np.ones((3, 2)), bad), "right", (2, 4)),
    "layer matmul x": (lambda bad: LowRankLayer(np.ones((6, 2)), np.ones((2, 3))).matmul(bad),
                       "x", (5, 6)),
}


@FUZZ
@given(data=st.data(), which=st.sampled_from(sorted(ARRAY_CALLS)))
def test_bad_arrays_are_named(data, which):
    call, name, shape = ARRAY_CALLS[which]
    bad = data.draw(bad_arrays(shape))
    status, _result = outcome(_quiet(lambda: call(bad)), names=name)
    if status == "ok":  # a different but valid shape (or an optional None) may pass
        assert (bad is None and name in ("X_calibration", "dict_init")) or np.all(np.isfinite(
            np.asarray(bad, dtype=float)))


@FUZZ
@given(exponent=st.integers(-300, 300), which=st.sampled_from(["X", "D"]))
def test_batch_omp_at_any_scale(exponent, which):
    scale = 10.0**exponent
    reference = batch_omp(X, D, n_nonzero=3)
    Xs, Ds = (X * scale, D) if which == "X" else (X, D * scale)
    status, codes = outcome(_quiet(lambda: batch_omp(Xs, Ds, n_nonzero=3)), names=("X", "D"))
    if status == "ok":
        assert _finite(codes)
        if which == "X" or 1e-290 < scale < 1e290:
            expected = reference.data * (scale if which == "X" else 1 / scale)
            if np.all(np.abs(expected) > 1e-290):
                np.testing.assert_array_equal(codes.indices, reference.indices)
                np.testing.assert_allclose(codes.data, expected, rtol=1e-10)


@FUZZ
@given(exponent=st.integers(-300, 300))
def test_ksvd_and_estimators_at_any_scale(exponent):
    scale = 10.0**exponent
    Xs = X * scale
    for call in (lambda: ksvd(Xs, 8, 2, max_iter=3, random_state=0),
                 lambda: KSVD(8, 2, max_iter=3, random_state=0).fit(Xs).transform(Xs),
                 lambda: OnlineOrthogonalDictionary(max_iter=2, random_state=0).fit(Xs)
                 .transform(Xs)):
        status, result = outcome(_quiet(call), names="X")
        if status == "ok":
            value = getattr(result, "dictionary", result)
            assert _finite(value)
        else:
            assert "too large" in str(result)


@FUZZ
@given(w_exp=st.integers(-300, 300), x_exp=st.integers(-300, 300),
       method=st.sampled_from(["cospadi", "svd"]))
def test_compress_layer_at_any_scale(w_exp, x_exp, method):
    status, result = outcome(_quiet(lambda: compress_layer(
        W * 10.0**w_exp, XC * 10.0**x_exp, method=method, max_iter=3, random_state=0)),
        names=("W", "X_calibration"))
    if status == "ok":
        assert np.isfinite(result.activation_error) and 0 <= result.activation_error <= 1.5
        assert _finite(result.layer.left)


ESTIMATORS = {
    "KSVD": (lambda **kw: KSVD(**{"max_iter": 2, **kw}).fit(X), {
        "n_components": BAD_INTS.filter(lambda v: v is not None),
        "n_nonzero": BAD_INTS.filter(lambda v: v is not None),
        "max_iter": BAD_INTS, "tol": BAD_REALS.filter(lambda v: v is not None),
        "approximate": BAD_BOOLS, "monotone": BAD_BOOLS,
        "random_state": st.sampled_from([-1, 2**40, 1.5, "0"]),
        "n_jobs": BAD_INTS.filter(lambda v: v is not None),
        "verbose": st.sampled_from(["yes", -1, None])}),
    "OnlineOrthogonalDictionary": (lambda **kw: OnlineOrthogonalDictionary(
        **{"max_iter": 2, **kw}).fit(X), {
        "n_components": BAD_INTS.filter(lambda v: v is not None),
        "batch_size": BAD_INTS, "max_iter": BAD_INTS, "tol": BAD_REALS,
        "random_state": st.sampled_from([-1, 2**40, 1.5, "0"]),
        "verbose": st.sampled_from(["yes", -1, None])}),
    "CalibratedDictionaryCompressor": (lambda **kw: CalibratedDictionaryCompressor(
        **{"max_iter": 2, **kw}).fit(W, XC), {
        "compression_ratio": BAD_REALS, "atoms_per_nonzero": BAD_REALS,
        "max_iter": BAD_INTS, "tol": BAD_REALS.filter(lambda v: v is not None),
        "method": st.sampled_from(["pca", None, 1]),
        "random_state": st.sampled_from([-1, 2**40, 1.5, "0"]),
        "n_jobs": BAD_INTS.filter(lambda v: v is not None),
        "verbose": st.sampled_from(["yes", -1, None])}),
}


@FUZZ
@given(data=st.data(), estimator=st.sampled_from(sorted(ESTIMATORS)))
def test_estimators_name_bad_parameters(data, estimator):
    fit, params = ESTIMATORS[estimator]
    name = data.draw(st.sampled_from(sorted(params)))
    value = data.draw(params[name])
    with unmodified(X, W, XC):
        status, _ = outcome(_quiet(lambda: fit(**{name: value})), names=name)
    assert status == "error", f"{estimator}({name}={value!r}) was accepted"


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {"KSVD": KSVD(max_iter=2, random_state=0).fit(X),
                "OnlineOrthogonalDictionary": OnlineOrthogonalDictionary(
                    max_iter=2, random_state=0).fit(X)}


@FUZZ
@given(name=st.sampled_from(["KSVD", "OnlineOrthogonalDictionary"]),
       method=st.sampled_from(["transform", "inverse_transform"]), bad=bad_arrays((5, 6)))
def test_fitted_estimators_reject_bad_data(fitted, name, method, bad):
    status, result = outcome(lambda: getattr(fitted[name], method)(bad), names="X")
    if status == "ok":
        assert _finite(result)


def test_huge_sizes_are_refused_with_the_memory_they_need():
    for call, name in [(lambda: ksvd(X, 10**9, 2), "n_components"),
                       (lambda: KSVD(n_components=10**9).fit(X), "n_components")]:
        error = outcome(call, names=name)[1]
        assert "GiB" in str(error)
    with warnings.catch_warnings():  # generous limits cost nothing
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert OnlineOrthogonalDictionary(batch_size=10**12, max_iter=1).fit(X).n_steps_ == 1
        assert KSVD(8, 2, max_iter=10**12, tol=0.5, random_state=0).fit(X).n_iter_ >= 1
