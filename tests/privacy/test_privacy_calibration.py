"""Analytic Gaussian calibration against Balle and Wang's privacy profile, evaluated here by
numerical integration of the privacy-loss distribution (an independent route to the same
quantity): for the Gaussian mechanism the loss L = log(p(o)/p'(o)) of a worst pair is
N(eta, 2 eta) with eta = Delta^2 / (2 sigma^2), and delta(eps) = E[(1 - e^(eps - L))_+]."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from sparsenum.privacy import analytic_gaussian_sigma, gaussian_privacy_profile


def _profile_by_integration(sigma, sensitivity, epsilon):
    eta = sensitivity**2 / (2 * sigma**2)
    sd = math.sqrt(2 * eta)
    density = stats.norm(eta, sd).pdf
    upper = eta + 40 * sd
    value, _ = integrate.quad(lambda l: (1 - math.exp(epsilon - l)) * density(l), epsilon,
                              max(upper, epsilon + 1), limit=400, epsabs=1e-16, epsrel=1e-10)
    return value


@pytest.mark.parametrize("epsilon", [0.1, 0.5, 1.0, 2.0, 4.0, 8.0])
@pytest.mark.parametrize("delta", [1e-3, 1e-6, 1e-9])
def test_sigma_meets_the_profile_and_is_within_one_percent_of_the_smallest(epsilon, delta):
    sensitivity = 2.5
    sigma = analytic_gaussian_sigma(sensitivity, epsilon, delta)
    assert _profile_by_integration(sigma, sensitivity, epsilon) <= delta * (1 + 1e-6)
    assert _profile_by_integration(0.99 * sigma, sensitivity, epsilon) > delta


def test_profile_function_agrees_with_integration():
    for sigma, eps in [(0.5, 1.0), (3.0, 0.2), (1.0, 6.0)]:
        assert gaussian_privacy_profile(sigma, 1.0, eps) == pytest.approx(
            _profile_by_integration(sigma, 1.0, eps), rel=1e-6, abs=1e-15)


def test_tighter_than_the_classical_calibration():
    for eps in (0.1, 0.5, 0.9):
        classical = math.sqrt(2 * math.log(1.25 / 1e-5)) / eps
        assert analytic_gaussian_sigma(1.0, eps, 1e-5) < classical


@pytest.mark.parametrize("bad, name", [
    ({"sensitivity": 0.0}, "sensitivity"), ({"epsilon": 0.0}, "epsilon"),
    ({"epsilon": np.inf}, "epsilon"), ({"delta": 0.0}, "delta"), ({"delta": 1.0}, "delta"),
    ({"delta": True}, "delta"),
])
def test_bad_arguments(bad, name):
    args = {"sensitivity": 1.0, "epsilon": 1.0, "delta": 1e-5, **bad}
    with pytest.raises((ValueError, TypeError), match=name):
        analytic_gaussian_sigma(**args)
