"""Noise calibration: the analytic Gaussian mechanism and the Laplace mechanism.

The Gaussian mechanism adds ``N(0, sigma^2 I)`` to a function of l2 sensitivity ``Delta``. Balle
and Wang (2018, Theorem 8) give its exact privacy profile: it is ``(eps, delta)``-DP if and only if

    Phi(Delta/(2 sigma) - eps sigma/Delta) - e^eps Phi(-Delta/(2 sigma) - eps sigma/Delta) <= delta.

The left side decreases in ``sigma``, so the smallest valid ``sigma`` is a root found by bisection.
The classical ``sigma = Delta sqrt(2 ln(1.25/delta))/eps`` is valid only for ``eps < 1``, where
it is about 1.25-1.3 times too large at delta = 1e-6.
"""

from __future__ import annotations

import math

from scipy.special import log_ndtr, ndtr

from ._validation import check_bound, check_delta, check_epsilon

__all__ = ["analytic_gaussian_sigma", "gaussian_privacy_profile", "laplace_scale"]


def gaussian_privacy_profile(sigma, sensitivity, epsilon) -> float:
    """The smallest ``delta`` for which the Gaussian mechanism is ``(epsilon, delta)``-DP.

    Parameters
    ----------
    sigma : float
        Standard deviation of the noise, > 0.
    sensitivity : float
        l2 sensitivity of the released function, > 0.
    epsilon : float
        Privacy parameter, > 0.

    Returns
    -------
    delta : float

    References
    ----------
    Balle, B. and Wang, Y.-X. (2018). Improving the Gaussian mechanism for differential
    privacy: analytical calibration and optimal denoising. ICML, Theorem 8.

    Examples
    --------
    >>> from sparsenum.privacy import gaussian_privacy_profile
    >>> round(gaussian_privacy_profile(1.0, 1.0, 1.0), 4)
    0.1269
    """
    sigma = check_bound(sigma, "sigma")
    sensitivity = check_bound(sensitivity, "sensitivity")
    epsilon = check_epsilon(epsilon)
    return _profile(sigma / sensitivity, epsilon)


def _profile(s: float, epsilon: float) -> float:
    """delta(eps) for noise ``s`` times the sensitivity; the second term in logs (no overflow)."""
    a, b = 0.5 / s, epsilon * s
    first = float(ndtr(a - b))
    second = math.exp(min(epsilon + float(log_ndtr(-a - b)), 0.0))
    return max(first - second, 0.0)


def analytic_gaussian_sigma(sensitivity, epsilon, delta) -> float:
    """The smallest Gaussian noise scale that makes a release ``(epsilon, delta)``-DP.

    Solves Balle and Wang's exact privacy profile for ``sigma`` (bisection to a relative
    accuracy of 1e-12, rounded up so the returned value always satisfies the profile).

    Parameters
    ----------
    sensitivity : float
        l2 sensitivity ``Delta`` of the released function: the largest ``||f(u) - f(u')||_2``
        over pairs of inputs (in the local model: over pairs of one user's records), > 0.
    epsilon : float
        Privacy parameter, > 0 and finite.
    delta : float
        Failure probability, in (0, 1).

    Returns
    -------
    sigma : float
        Noise standard deviation, proportional to ``sensitivity``.

    Raises
    ------
    ValueError
        If an argument is outside its range.

    References
    ----------
    Balle, B. and Wang, Y.-X. (2018). Improving the Gaussian mechanism for differential
    privacy: analytical calibration and optimal denoising. ICML.

    Examples
    --------
    >>> from sparsenum.privacy import analytic_gaussian_sigma
    >>> round(analytic_gaussian_sigma(1.0, 1.0, 1e-5), 3)
    3.731
    >>> round(analytic_gaussian_sigma(2.0, 1.0, 1e-5), 3)  # proportional to the sensitivity
    7.462
    """
    sensitivity = check_bound(sensitivity, "sensitivity")
    epsilon = check_epsilon(epsilon)
    delta = check_delta(delta)
    lo, hi = 1e-3, 1.0
    while _profile(lo, epsilon) <= delta:  # the profile tends to 1 > delta as sigma -> 0
        lo *= 0.5
    while _profile(hi, epsilon) > delta:
        hi *= 2.0
    for _ in range(200):  # the profile decreases in sigma: keep _profile(hi) <= delta
        mid = 0.5 * (lo + hi)
        if _profile(mid, epsilon) > delta:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return sensitivity * hi


def laplace_scale(sensitivity_l1, epsilon) -> float:
    """Scale ``b = Delta_1 / epsilon`` of the Laplace mechanism (pure ``epsilon``-DP).

    Examples
    --------
    >>> from sparsenum.privacy import laplace_scale
    >>> laplace_scale(2.0, 0.5)
    4.0
    """
    return check_bound(sensitivity_l1, "sensitivity_l1") / check_epsilon(epsilon)
