"""Duchi et al.'s randomiser: unbiasedness, norm, and epsilon-LDP checked empirically.

Every test uses a fixed seed. Tolerances come from the sampling error: a mean of N i.i.d.
messages has standard error sd/sqrt(N) per coordinate (estimated from the draws), and an
empirical probability p_hat has standard error sqrt(p_hat (1 - p_hat) / N). The log of a ratio
of two independent estimated probabilities has standard error sqrt(se_1^2/p_1^2 + se_2^2/p_2^2)
(delta method). With 4.5 standard errors a correct randomiser fails a given check with
probability below 1e-5.
"""

import math

import numpy as np
import pytest

from sparsenum.privacy import duchi_randomizer, duchi_sphere_radius
from sparsenum.privacy._hooks import noise_switched_off

N = 200_000
D = 5


def _messages(v, epsilon, radius=1.0, seed=0, n=N):
    return duchi_randomizer(np.tile(v, (n, 1)), epsilon, radius, random_state=seed)


@pytest.mark.parametrize("norm", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("epsilon", [0.5, 2.0])
def test_unbiased_for_zero_inside_and_on_the_sphere(norm, epsilon):
    v = np.zeros(D)
    v[:2] = norm / np.sqrt(2.0)
    Z = _messages(v, epsilon, seed=int(10 * norm + epsilon))
    se = Z.std(axis=0) / np.sqrt(N)
    assert np.all(np.abs(Z.mean(axis=0) - v) < 4.5 * se), (Z.mean(axis=0), v, se)


def test_messages_have_norm_B_and_B_matches_the_formula():
    Z = _messages(np.full(D, 0.1), 1.0, radius=2.0, n=1000)
    big = duchi_sphere_radius(D, 1.0, 2.0)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), big, rtol=1e-12)
    # B = r (e^eps+1)/(e^eps-1) sqrt(pi) Gamma((d+1)/2)/Gamma(d/2), here with scipy's gamma
    from scipy.special import gamma

    expected = 2.0 * (math.e + 1) / (math.e - 1) * math.sqrt(math.pi) * gamma(3.0) / gamma(2.5)
    assert big == pytest.approx(expected, rel=1e-12)


def test_longer_rows_are_clipped_to_the_radius():
    v = np.zeros(D)
    v[0] = 5.0  # norm 5, radius 1: the message is unbiased for e_1
    Z = _messages(v, 2.0, seed=3)
    se = Z.std(axis=0) / np.sqrt(N)
    target = np.eye(D)[0]
    assert np.all(np.abs(Z.mean(axis=0) - target) < 4.5 * se)


def _log_ratio_and_se(hits_a, hits_b, n):
    pa, pb = hits_a / n, hits_b / n
    se = math.sqrt((1 - pa) / (pa * n) + (1 - pb) / (pb * n))
    return math.log(pa / pb), se


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 3.0])
def test_privacy_ratio_is_tight_for_opposite_points_of_the_sphere(epsilon):
    """P(<Z, v> > 0 | v) / P(<Z, v> > 0 | -v) = e^eps exactly: the worst case of eps-LDP."""
    v = np.ones(D) / np.sqrt(D)
    hits_v = np.count_nonzero(_messages(v, epsilon, seed=11) @ v > 0)
    hits_minus = np.count_nonzero(_messages(-v, epsilon, seed=12) @ v > 0)
    log_ratio, se = _log_ratio_and_se(hits_v, hits_minus, N)
    assert abs(log_ratio - epsilon) < 4.5 * se, (log_ratio, epsilon, se)


@pytest.mark.parametrize("epsilon", [0.5, 2.0])
def test_no_half_space_separates_random_inputs_beyond_e_eps(epsilon):
    rng = np.random.default_rng(5)
    for trial in range(4):
        u, w = rng.normal(size=(2, D))
        u *= rng.uniform(0, 1) / np.linalg.norm(u)
        w *= rng.uniform(0, 1) / np.linalg.norm(w)
        Zu = _messages(u, epsilon, seed=100 + trial, n=100_000)
        Zw = _messages(w, epsilon, seed=200 + trial, n=100_000)
        for direction in (u - w, rng.normal(size=D)):
            for offset in (0.0, 0.5):
                a = np.count_nonzero(Zu @ direction > offset * np.linalg.norm(direction))
                b = np.count_nonzero(Zw @ direction > offset * np.linalg.norm(direction))
                for first, second in ((a, b), (b, a)):
                    if min(first, second) < 100:
                        continue
                    log_ratio, se = _log_ratio_and_se(first, second, 100_000)
                    assert log_ratio < epsilon + 4.0 * se, (trial, log_ratio, epsilon, se)


def test_same_messages_for_any_n_jobs_and_reproducible():
    G = np.random.default_rng(0).normal(size=(5000, 7))
    Z1 = duchi_randomizer(G, 1.0, 2.0, random_state=42, n_jobs=1)
    Z2 = duchi_randomizer(G, 1.0, 2.0, random_state=42, n_jobs=2)
    np.testing.assert_array_equal(Z1, Z2)
    # a user's message depends on its row index, not on the other rows
    Z3 = duchi_randomizer(G[:100], 1.0, 2.0, random_state=42)
    np.testing.assert_array_equal(Z1[:100], Z3)


def test_noise_off_returns_the_clipped_rows():
    G = np.random.default_rng(0).normal(size=(50, 3)) * 3
    with noise_switched_off():
        Z = duchi_randomizer(G, 1.0, 2.0, random_state=0)
    norms = np.linalg.norm(G, axis=1, keepdims=True)
    np.testing.assert_allclose(Z, G * np.minimum(1.0, 2.0 / norms), rtol=1e-12)


def test_one_dimension_is_randomised_response():
    Z = _messages(np.array([0.3]), 1.0, seed=9, n=N)
    B = duchi_sphere_radius(1, 1.0, 1.0)
    np.testing.assert_allclose(np.abs(Z), B, rtol=1e-14)
    se = Z.std() / np.sqrt(N)
    assert abs(Z.mean() - 0.3) < 4.5 * se
