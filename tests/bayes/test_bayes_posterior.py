"""The Gaussian E-step against dense formulas (numpy.linalg) and a convex solver (cvxpy)."""

import numpy as np
import pytest

from sparsenum.bayes._posterior import gaussian_posterior, negative_log_evidence


def _problem(m, n, complex_data, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    y = rng.standard_normal(m)
    if complex_data:
        A = A + 1j * rng.standard_normal((m, n))
        y = y + 1j * rng.standard_normal(m)
    gamma = rng.uniform(0.05, 2.0, n)
    return A, y, gamma


def _dense(A, y, gamma, noise_var, complex_data):
    m = A.shape[0]
    sigma = np.linalg.inv(A.conj().T @ A / noise_var + np.diag(1.0 / gamma))
    mean = sigma @ A.conj().T @ y / noise_var
    C = noise_var * np.eye(m) + (A * gamma) @ A.conj().T
    logdet = np.linalg.slogdet(C)[1]
    quad = float(np.real(y.conj() @ np.linalg.solve(C, y)))
    if complex_data:
        nle = m * np.log(np.pi) + logdet + quad
    else:
        nle = 0.5 * (m * np.log(2 * np.pi) + logdet + quad)
    return mean, np.real(np.diag(sigma)), nle, sigma


@pytest.mark.parametrize("complex_data", [False, True])
@pytest.mark.parametrize("shape", [(20, 50), (50, 20), (30, 30), (1, 5), (5, 1)])
def test_estep_equals_dense_formulas(shape, complex_data):
    A, y, gamma = _problem(*shape, complex_data)
    noise_var = 0.3
    post = gaussian_posterior(A, y, gamma, noise_var)
    mean, var, nle, sigma = _dense(A, y, gamma, noise_var, complex_data)
    scale = np.abs(mean).max()
    np.testing.assert_allclose(post.mean, mean, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(post.var, var, rtol=1e-10, atol=1e-13)
    assert negative_log_evidence(post, shape[0], complex_data) == pytest.approx(nle, rel=1e-10)
    # tr(A Sigma A^H) / sigma^2 = sum(1 - Sigma_nn / gamma_n)
    trace = np.real(np.trace(A @ sigma @ A.conj().T)) / noise_var
    assert post.dof == pytest.approx(trace, rel=1e-10)
    residual = y - A @ mean
    assert post.residual_sq == pytest.approx(np.real(np.vdot(residual, residual)), rel=1e-10)


def test_estep_with_tiny_noise_and_wide_variances():
    """sigma^2 twelve orders below the signal: the direct branch stays exact (K >= I) and the
    Woodbury branch still factors."""
    A, y, gamma = _problem(30, 10, False)
    gamma = np.logspace(-6, 3, 10)
    post = gaussian_posterior(A, y, gamma, 1e-12)
    mean, var, _, _ = _dense(A, y, gamma, 1e-12, False)
    np.testing.assert_allclose(post.mean, mean, rtol=1e-6)
    np.testing.assert_allclose(post.var, var, rtol=1e-6, atol=1e-20)
    A, y, gamma = _problem(10, 30, False)
    post = gaussian_posterior(A, y, gamma, 1e-12)
    assert np.all(np.isfinite(post.mean)) and np.all(post.var >= 0)
    np.testing.assert_allclose(A @ post.mean, y, atol=1e-8)  # interpolates at sigma -> 0


@pytest.mark.parametrize("shape", [(15, 40), (40, 15)])
def test_posterior_mean_solves_the_weighted_ridge_problem(shape):
    """mu = argmin ||y - A x||^2 / sigma^2 + sum x_n^2 / gamma_n, checked with cvxpy."""
    cp = pytest.importorskip("cvxpy")
    A, y, gamma = _problem(*shape, False, seed=3)
    noise_var = 0.2
    x = cp.Variable(shape[1])
    objective = cp.sum_squares(y - A @ x) / noise_var + cp.sum(cp.multiply(1.0 / gamma,
                                                                            cp.square(x)))
    cp.Problem(cp.Minimize(objective)).solve(solver=cp.CLARABEL, tol_gap_abs=1e-12,
                                             tol_gap_rel=1e-12, tol_feas=1e-12)
    post = gaussian_posterior(A, y, gamma, noise_var)
    np.testing.assert_allclose(post.mean, x.value, rtol=0, atol=1e-6 * np.abs(x.value).max())


def test_no_columns_is_the_noise_only_model():
    y = np.array([1.0, -2.0, 0.5])
    post = gaussian_posterior(np.zeros((3, 0)), y, np.zeros(0), 0.5)
    assert post.mean.shape == (0,)
    expected = 0.5 * (3 * np.log(2 * np.pi) + 3 * np.log(0.5) + (y @ y) / 0.5)
    assert negative_log_evidence(post, 3, False) == pytest.approx(expected)
