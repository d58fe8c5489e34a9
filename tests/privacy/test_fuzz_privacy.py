"""Hypothesis over every public function and the estimator of sparsenum.privacy with bad values,
dtypes and shapes: each call ends in a clean ValueError/TypeError naming the argument, or in a
finite, honest result; inputs come back unmodified."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparsenum.privacy import (
    LDPSparseRegression,
    analytic_gaussian_sigma,
    duchi_randomizer,
    duchi_sphere_radius,
    gaussian_privacy_profile,
    laplace_scale,
    ldp_iht,
    nldp_regression,
    nldp_reports,
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

RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 4))
Y = X[:, 0] + 0.1 * RNG.standard_normal(60)


@pytest.mark.timeout(120)
@given(bad=BAD_REALS, which=st.sampled_from(["epsilon", "radius"]))
def test_duchi_bad_scalars(bad, which):
    args = {"epsilon": 1.0, "radius": 1.0, which: bad}
    expect_clean_failure(lambda: duchi_randomizer(X, **args), names=which)


@pytest.mark.timeout(120)
@given(bad=bad_arrays((60, 4)))
def test_duchi_bad_arrays(bad):
    expect_clean_failure(lambda: duchi_randomizer(bad, 1.0, 1.0), names="G")


@pytest.mark.timeout(120)
@given(scale=st.floats(1e-6, 1e6), epsilon=st.floats(0.01, 20), radius=st.floats(1e-3, 1e3))
def test_duchi_any_finite_input_gives_finite_messages_of_norm_B(scale, epsilon, radius):
    G = X * scale
    with unmodified(G):
        Z = duchi_randomizer(G, epsilon, radius, random_state=0)
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), duchi_sphere_radius(4, epsilon, radius),
                               rtol=1e-10)


@pytest.mark.timeout(120)
@given(bad=BAD_REALS, which=st.sampled_from(["sensitivity", "epsilon", "delta"]))
def test_calibration_bad_scalars(bad, which):
    args = {"sensitivity": 1.0, "epsilon": 1.0, "delta": 1e-5, which: bad}
    expect_clean_failure(lambda: analytic_gaussian_sigma(**args), names=which)


@pytest.mark.timeout(120)
@given(epsilon=st.floats(1e-3, 50), delta=st.floats(1e-15, 0.99))
def test_calibration_any_valid_input_is_finite_and_valid(epsilon, delta):
    sigma = analytic_gaussian_sigma(1.0, epsilon, delta)
    assert np.isfinite(sigma) and sigma > 0
    assert gaussian_privacy_profile(sigma, 1.0, epsilon) <= delta * (1 + 1e-9)


@pytest.mark.timeout(60)
@given(bad=BAD_REALS)
def test_laplace_scale_bad(bad):
    expect_clean_failure(lambda: laplace_scale(bad, 1.0), names="sensitivity_l1")


@pytest.mark.timeout(120)
@given(bad=BAD_REALS.filter(lambda v: v is not None),
       which=st.sampled_from(["epsilon", "delta", "feature_bound", "target_bound", "split"]))
def test_nldp_reports_bad_parameters(bad, which):
    args = {"epsilon": 1.0, which: bad}
    expect_clean_failure(lambda: nldp_reports(X, Y, **args), names=which)


@pytest.mark.timeout(120)
@given(bad=BAD_BOOLS, which=st.sampled_from(["aggregate", "sum_noise_shortcut"]))
def test_nldp_reports_bad_flags(bad, which):
    expect_clean_failure(lambda: nldp_reports(X, Y, 1.0, **{which: bad}), names=which)


@pytest.mark.timeout(120)
@given(bad=bad_arrays((60, 4)), which=st.sampled_from(["X", "y"]))
def test_nldp_reports_bad_arrays(bad, which):
    if which == "X":
        call = lambda: nldp_reports(bad, Y, 1.0)  # noqa: E731
    else:
        call = lambda: nldp_reports(X, np.asarray(bad, dtype=object).ravel()  # noqa: E731
                                    if isinstance(bad, np.ndarray) and bad.ndim == 2 else bad,
                                    1.0)
    expect_clean_failure(call, names=(which, "inconsistent"))


@pytest.mark.timeout(120)
@given(bad=BAD_INTS.filter(lambda v: v is not None))
def test_nldp_regression_bad_n_nonzero(bad):
    reports = nldp_reports(X, Y, 1.0, random_state=0)
    expect_clean_failure(lambda: nldp_regression(reports, n_nonzero=bad), names="n_nonzero")


@pytest.mark.timeout(120)
@given(bad=bad_arrays((30, 4)).filter(lambda v: v is not None))
def test_nldp_regression_bad_public_X(bad):
    reports = nldp_reports(X, Y, 1.0, random_state=0)
    expect_clean_failure(lambda: nldp_regression(reports, public_X=bad), names="public_X")


@pytest.mark.timeout(120)
@given(epsilon=st.floats(0.01, 50), split=st.floats(0.01, 0.99),
       mechanism=st.sampled_from(["gaussian", "laplace"]), scale=st.floats(1e-3, 1e6))
def test_nldp_any_valid_input_is_finite(epsilon, split, mechanism, scale):
    Xs = X * scale
    with unmodified(Xs, Y):
        reports = nldp_reports(Xs, Y, epsilon, mechanism=mechanism, split=split,
                               random_state=0)
    fit = nldp_regression(reports, n_nonzero=2)
    assert np.all(np.isfinite(fit.coef)) and np.count_nonzero(fit.coef) <= 2


@pytest.mark.timeout(120)
@given(bad=BAD_INTS, which=st.sampled_from(["n_nonzero", "n_rounds", "expansion"]))
def test_ldp_iht_bad_ints(bad, which):
    if bad is None and which == "n_rounds":  # None is the default
        return
    args = {"n_nonzero": 2, which: bad}
    expect_clean_failure(lambda: ldp_iht(X, Y, 1.0, **args), names=which)


@pytest.mark.timeout(120)
@given(bad=BAD_REALS, which=st.sampled_from(["epsilon", "step", "grad_bound", "coef_bound"]))
def test_ldp_iht_bad_reals(bad, which):
    if bad is None and which in ("step", "grad_bound"):  # None is the default
        return
    args = {"epsilon": 1.0, "n_nonzero": 2, which: bad}
    expect_clean_failure(lambda: ldp_iht(X, Y, **args), names=which)


@pytest.mark.timeout(120)
@given(bad=bad_arrays((60, 4)))
def test_ldp_iht_bad_X(bad):
    expect_clean_failure(lambda: ldp_iht(bad, Y, 1.0, 2), names=("X", "inconsistent"))


@pytest.mark.timeout(120)
@given(epsilon=st.floats(0.01, 50), scale=st.floats(1e-3, 1e6), k=st.integers(1, 4),
       rounds=st.integers(1, 60))
def test_ldp_iht_any_valid_input_is_finite_and_sparse(epsilon, scale, k, rounds):
    Xs = X * scale
    with unmodified(Xs, Y):
        fit = ldp_iht(Xs, Y, epsilon, k, n_rounds=rounds, random_state=0)
    assert np.all(np.isfinite(fit.coef)) and np.count_nonzero(fit.coef) <= k
    assert np.linalg.norm(fit.coef) <= 1.0 + 1e-12


@pytest.mark.timeout(300)
@given(which=st.sampled_from(["epsilon", "n_nonzero", "method", "delta", "feature_bound",
                              "target_bound", "coef_bound", "fit_intercept", "n_jobs",
                              "random_state"]),
       bad=st.sampled_from(["abc", None, -1, 0, 1.5, True, np.nan, np.inf, [1]]))
def test_estimator_bad_parameters(which, bad):
    est = LDPSparseRegression(**{which: bad})
    kind, _ = outcome(lambda: est.fit(X, Y), names=which)
    valid = [("epsilon", 1.5), ("feature_bound", 1.5), ("target_bound", 1.5),
             ("coef_bound", 1.5), ("random_state", None), ("random_state", 0),
             ("n_jobs", None), ("n_jobs", -1), ("delta", None), ("fit_intercept", True)]
    is_valid = any(which == w and type(bad) is type(v) and bad == v for w, v in valid)
    assert (kind == "ok") == is_valid, (which, bad, kind)
