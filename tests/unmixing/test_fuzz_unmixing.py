"""Hostile inputs for every public function and estimator of sparsenum.unmixing: each call ends
in a clean ValueError/TypeError naming the argument, or in a finite, honest result; inputs come
back unmodified."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparsenum.unmixing import (
    FCLSUnmixing,
    RobustUnmixing,
    abundance_rmse,
    estimate_band_noise,
    extract_endmembers,
    fcls,
    make_scene,
    match_endmembers,
    rrlbs,
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

_RNG = np.random.default_rng(0)
E = _RNG.uniform(0.1, 1.0, size=(3, 8))
X = _RNG.dirichlet(np.ones(3), size=30) @ E + 0.01 * _RNG.normal(size=(30, 8))
X = np.abs(X)


@pytest.mark.timeout(120)
@given(bad=bad_arrays((30, 8)))
def test_bad_pixels_everywhere(bad):
    calls = [lambda: fcls(bad, E), lambda: rrlbs(bad, 3, max_iter=3),
             lambda: estimate_band_noise(bad), lambda: extract_endmembers(bad, 3)]
    # scikit-learn's check_dtype_object requires estimators to accept numbers stored in an
    # object array, so only the functions must refuse that one
    if not (isinstance(bad, np.ndarray) and bad.dtype == object):
        calls += [lambda: RobustUnmixing(max_iter=3).fit(bad),
                  lambda: FCLSUnmixing(E).fit_transform(bad)]
    for call in calls:
        expect_clean_failure(call, names=("X", "n_samples", "features", "Negative", "array",
                                          "Expected", "dimension", "could not convert",
                                          "complex", "empty", "NaN", "infinity"))


@pytest.mark.timeout(120)
@given(bad=bad_arrays((3, 8)))
def test_bad_endmembers(bad):
    expect_clean_failure(lambda: fcls(X, bad), names="endmembers")


@pytest.mark.timeout(120)
@given(value=BAD_REALS, which=st.sampled_from(["p", "lam", "gamma", "tol"]))
def test_bad_reals(value, which):
    if which in ("lam", "gamma") and isinstance(value, str):
        value = "autox"
    expect_clean_failure(lambda: rrlbs(X, 3, max_iter=3, **{which: value}), names=which)


@pytest.mark.timeout(120)
@given(value=BAD_INTS, which=st.sampled_from(["n_endmembers", "max_iter", "verbose"]))
def test_bad_ints(value, which):
    kwargs = {"n_endmembers": 3, "max_iter": 3, which: value}
    k = kwargs.pop("n_endmembers")
    expect_clean_failure(lambda: rrlbs(X, k, **kwargs), names=which)


@pytest.mark.timeout(120)
@given(value=BAD_BOOLS)
def test_bad_bools(value):
    expect_clean_failure(lambda: rrlbs(X, 3, guided=value), names="guided")


@pytest.mark.timeout(300)
@given(seed=st.integers(0, 2**16), k=st.integers(2, 4), snr=st.floats(5.0, 60.0),
       ruined=st.sampled_from([0.0, 0.1, 0.3]),
       loss=st.sampled_from(["l2", "l21"]), guided=st.booleans())
def test_random_scenes_give_honest_results(seed, k, snr, ruined, loss, guided):
    rng = np.random.default_rng(seed)
    spectra = rng.uniform(0.02, 1.0, size=(k, 10))
    scene = make_scene(spectra, shape=(6, 6), snr_db=snr, ruined_fraction=ruined,
                       random_state=seed)
    with unmodified(scene.X):
        kind, res = outcome(lambda: rrlbs(scene.X, k, loss=loss, guided=guided, max_iter=20,
                                          random_state=seed), names=("X",))
    if kind == "error":  # e.g. a ruined scene whose pixels span fewer than k spectra
        return
    A = res.abundances.reshape(-1, k)
    assert np.isfinite(A).all() and np.isfinite(res.endmembers).all()
    assert A.min() >= 0 and np.allclose(A.sum(axis=1), 1.0)
    F = res.history.objective
    assert np.all(F[1:] <= F[:-1] * (1 + 1e-9))
    with unmodified(scene.X, spectra):
        ab = fcls(scene.X, spectra, loss=loss).abundances.reshape(-1, k)
    assert np.isfinite(ab).all() and np.allclose(ab.sum(axis=1), 1.0)


@pytest.mark.timeout(60)
@given(order=st.sampled_from([[0, 0, 1], [0, 1], [0, 1, 7], "abc", None]))
def test_metrics_bad_order(order):
    A = np.full((4, 3), 1 / 3)
    if order is None:
        assert abundance_rmse(A, A) == 0.0
        return
    expect_clean_failure(lambda: abundance_rmse(A, A, order=np.asarray(order)), names="order")


@pytest.mark.timeout(60)
@given(bad=bad_arrays((3, 8)))
def test_metrics_bad_arrays(bad):
    expect_clean_failure(lambda: match_endmembers(bad, E), names=("reference", "estimate"))


@pytest.mark.timeout(120)
@given(data=st.data(), which=st.sampled_from(["tol", "max_iter", "verbose", "n_jobs", "loss",
                                              "callback"]))
def test_fcls_bad_options(data, which):
    bad = {"tol": BAD_REALS, "loss": st.one_of(BAD_REALS, st.sampled_from(["L2", "l1", ""])),
           "callback": st.sampled_from([3, "print", [print]])}.get(which, BAD_INTS)
    value = data.draw(bad.filter(lambda v: not (which == "n_jobs" and v is None)))
    expect_clean_failure(lambda: fcls(X, E, loss="l21", **{which: value}), names=which)


@pytest.mark.timeout(120)
@given(bad=st.one_of(bad_arrays((8,)), st.sampled_from(
    [-np.ones(8), np.zeros(8), np.ones(7), np.ones((8, 1))])))
def test_bad_band_weights(bad):
    if bad is None:
        return  # the default: all ones
    for call in (lambda: fcls(X, E, band_weights=bad),
                 lambda: extract_endmembers(X, 3, band_weights=bad)):
        expect_clean_failure(call, names="band_weights")


@pytest.mark.timeout(120)
@given(value=st.one_of(BAD_INTS, st.sampled_from([1, 0, -2, 31, 9])),
       method=st.sampled_from(["vca", "spa"]))
def test_extract_bad_counts(value, method):
    expect_clean_failure(lambda: extract_endmembers(X, value, method=method),
                         names="n_endmembers")


@pytest.mark.timeout(120)
@given(value=st.one_of(BAD_REALS, BAD_INTS, st.sampled_from(["VCA", "nfindr", ""])),
       which=st.sampled_from(["method", "random_state"]))
def test_extract_bad_options(value, which):
    if which == "random_state" and value is None:
        return  # None is a valid random_state
    expect_clean_failure(lambda: extract_endmembers(X, 3, **{which: value}), names=which)


@pytest.mark.timeout(300)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@given(data=st.data(), which=st.sampled_from(
    ["n_endmembers", "p", "lam", "gamma", "loss", "guided", "init", "max_iter", "tol",
     "verbose", "n_jobs"]))
def test_robust_unmixing_bad_params(data, which):
    """Errors surface in fit (scikit-learn's rule), naming the parameter."""
    words = st.sampled_from(["L21", "auto ", "", "vca2"])
    bad = {"p": BAD_REALS, "lam": BAD_REALS, "gamma": BAD_REALS, "tol": BAD_REALS,
           "guided": BAD_BOOLS, "loss": st.one_of(BAD_REALS, words),
           "init": st.one_of(BAD_REALS, words)}.get(which, BAD_INTS)
    value = data.draw(bad.filter(lambda v: not (which == "n_jobs" and v is None)))
    if which in ("lam", "gamma") and isinstance(value, str):
        value = "autox"
    model = RobustUnmixing(**{"n_endmembers": 3, "max_iter": 3, which: value})
    expect_clean_failure(lambda: model.fit(X), names=which)
