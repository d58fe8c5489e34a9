"""LDP-IHT: noise-free it is plain iterative hard thresholding on the same batches; with noise
its error falls with n at about the 1/sqrt(n) rate and it recovers the support at scale."""

import math

import numpy as np
import pytest

from sparsenum.privacy import ldp_iht
from sparsenum.privacy._cases import sparse_problem
from sparsenum.privacy._hooks import noise_switched_off
from sparsenum.utils import random_seed


def _plain_iht(X, y, k, T, step, radius, coef_bound, k_wide, random_state):
    """IHT on disjoint batches with clipped gradients, written from the algorithm's statement
    (the batches are drawn as ldp_iht documents: a permutation from the seed, split in T)."""
    rng = np.random.default_rng(random_seed(random_state))
    batches = np.array_split(rng.permutation(X.shape[0]), T)
    theta = np.zeros(X.shape[1])
    for t, users in enumerate(batches, start=1):
        G = X[users] * (X[users] @ theta - y[users])[:, None]
        norms = np.linalg.norm(G, axis=1, keepdims=True)
        G = G * np.minimum(1.0, radius / np.maximum(norms, 1e-300))
        z = theta - step * G.mean(axis=0)
        keep = np.argsort(-np.abs(z), kind="stable")[: (k if t == T else k_wide)]
        theta = np.zeros_like(z)
        theta[keep] = z[keep]
        norm = np.linalg.norm(theta)
        if norm > coef_bound:
            theta *= coef_bound / norm
    return theta


@pytest.mark.parametrize("step, radius", [(0.5, 2.0), (0.9, 10.0)])
def test_noise_free_equals_plain_iht(step, radius):
    X, y, _ = sparse_problem(3000, 12, k=3, seed=2)
    X[:, 4] += 0.5 * X[:, 0]
    with noise_switched_off():
        fit = ldp_iht(X, y, 1.0, 3, n_rounds=7, step=step, grad_bound=radius, coef_bound=1.0,
                      expansion=2, random_state=5)
    expected = _plain_iht(X, y, 3, 7, step, radius, 1.0, 6, 5)
    np.testing.assert_allclose(fit.coef, expected, rtol=0, atol=1e-12)
    assert np.count_nonzero(fit.coef) <= 3


def test_same_result_for_any_n_jobs_and_history_agrees():
    X, y, _ = sparse_problem(20_000, 10, seed=3)
    a = ldp_iht(X, y, 1.0, 2, random_state=1, n_jobs=1)
    b = ldp_iht(X, y, 1.0, 2, random_state=1, n_jobs=2)
    np.testing.assert_array_equal(a.coef, b.coef)
    np.testing.assert_array_equal(a.coef_path, b.coef_path)
    assert a.n_iter == round(math.log(20_000)) == len(a.history) - 1
    changes = np.linalg.norm(np.diff(a.coef_path, axis=0), axis=1)
    np.testing.assert_allclose(a.history.criterion[1:], changes)
    assert np.all((a.history["sim_clipped_fraction"][1:] >= 0)
                  & (a.history["sim_clipped_fraction"][1:] <= 1))
    assert a.delta == 0.0 and a.epsilon == 1.0 and a.n_users == 20_000
    assert np.count_nonzero(a.coef) <= 2 and np.linalg.norm(a.coef) <= 1.0 + 1e-12


def test_error_falls_with_n_at_about_the_root_n_rate():
    """Mean l2 error over 6 seeds at n = 1e4 .. 6.4e5 (d = 10, k = 2, eps = 1): the fitted
    log-log slope lies in [-0.7, -0.3] (the rate is n^-1/2; the seed-to-seed spread of the mean
    error moves the fitted slope by about +-0.05 here)."""
    sizes = [10_000, 40_000, 160_000, 640_000]
    X, y, theta = sparse_problem(sizes[-1], 10, seed=7)
    errors = []
    for n in sizes:
        # one thread: 24 short runs of ~10 rounds each gain nothing from a second one
        errors.append(np.mean([np.linalg.norm(ldp_iht(X[:n], y[:n], 1.0, 2, random_state=s,
                                                      n_jobs=1).coef - theta)
                               for s in range(6)]))
    slope = np.polyfit(np.log(sizes), np.log(errors), 1)[0]
    assert -0.7 <= slope <= -0.3, (slope, errors)


@pytest.mark.slow
def test_support_recovered_at_a_million_users():
    rng = np.random.default_rng(0)
    n, d = 1_000_000, 50
    X = rng.standard_normal((n, d))
    theta = np.zeros(d)
    support = np.sort(rng.choice(d, 5, replace=False))
    theta[support] = rng.choice([-1.0, 1.0], 5) / np.sqrt(5)
    y = X @ theta + 0.1 * rng.standard_normal(n)
    fit = ldp_iht(X, y, 4.0, 5, random_state=0)
    np.testing.assert_array_equal(fit.support, support)


def test_callback_and_verbose(capsys):
    X, y, _ = sparse_problem(2000, 5, seed=1)
    seen = []
    ldp_iht(X, y, 1.0, 2, n_rounds=3, random_state=0, verbose=2,
            callback=lambda t, theta: seen.append((t, theta.shape)))
    assert seen == [(1, (5,)), (2, (5,)), (3, (5,))]
    assert capsys.readouterr().out.count("ldp_iht round") == 3


@pytest.mark.parametrize("kwargs, name", [
    ({"epsilon": 0.0}, "epsilon"), ({"epsilon": math.inf}, "epsilon"),
    ({"n_nonzero": 6}, "n_nonzero"), ({"n_nonzero": 0}, "n_nonzero"),
    ({"n_nonzero": 2.0}, "n_nonzero"), ({"n_rounds": 101}, "n_rounds"),
    ({"step": 0.0}, "step"), ({"grad_bound": -1.0}, "grad_bound"),
    ({"coef_bound": 0.0}, "coef_bound"), ({"expansion": 0}, "expansion"),
    ({"callback": 3}, "callback"), ({"verbose": True}, "verbose"),
])
def test_bad_arguments(kwargs, name):
    X, y, _ = sparse_problem(100, 5)
    args = {"epsilon": 1.0, "n_nonzero": 2, **kwargs}
    with pytest.raises((ValueError, TypeError), match=name):
        ldp_iht(X, y, **args)


def test_bad_arrays():
    X, y, _ = sparse_problem(100, 5)
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="X"):
        ldp_iht(X, y, 1.0, 2)
    with pytest.raises(ValueError, match="inconsistent"):
        ldp_iht(np.nan_to_num(X)[:50], y, 1.0, 2)
