"""sparse_bayesian_learning: against scikit-learn's ARDRegression, the evidence it maximises,
pattern coupling, complex data and documented edge cases."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ARDRegression

from sparsenum.bayes import SBLResult, sparse_bayesian_learning
from sparsenum.bayes._cases import clustered_problem
from sparsenum.bayes._posterior import gaussian_posterior, negative_log_evidence

ARD_PRIORS = {"precision_prior": (1e-6, 1e-6), "noise_prior": (1e-6, 1e-6), "prune": 1e-4}


def _well_posed(seed, m=80, n=20, k=5, noise=0.01):
    """M > N, nonzeros of magnitude 1..3 and a noise level that leaves every irrelevant
    precision far above ARD's threshold: the pruning path cannot differ."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    x = np.zeros(n)
    x[rng.choice(n, k, replace=False)] = rng.choice([-1, 1], k) * rng.uniform(1, 3, k)
    return A, A @ x + noise * rng.standard_normal(m), x


@pytest.mark.parametrize("seed", range(8))
def test_mackay_update_matches_ard_regression(seed):
    A, y, _ = _well_posed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ard = ARDRegression(fit_intercept=False, tol=1e-14, max_iter=5000).fit(A, y)
    res = sparse_bayesian_learning(A, y, update="mackay", tol=1e-14, max_iter=5000,
                                   **ARD_PRIORS)
    np.testing.assert_allclose(res.coef, ard.coef_, rtol=0,
                               atol=1e-6 * np.linalg.norm(ard.coef_))
    assert res.noise_var == pytest.approx(1.0 / ard.alpha_, rel=1e-6)
    np.testing.assert_array_equal(res.support, np.flatnonzero(ard.lambda_ < 1e4))


def test_result_is_the_posterior_at_the_returned_hyperparameters():
    A, y, _, _ = clustered_problem(0, snr_db=20.0)
    res = sparse_bayesian_learning(A, y, update="mackay")
    post = gaussian_posterior(A[:, res.support], y, res.prior_var[res.support], res.noise_var)
    np.testing.assert_allclose(res.coef[res.support], post.mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.posterior_var[res.support], post.var, rtol=1e-12)
    assert res.log_evidence == pytest.approx(-negative_log_evidence(post, 40, False))
    assert res.history.objective[-1] == pytest.approx(-res.log_evidence)
    off = np.setdiff1d(np.arange(100), res.support)
    assert np.all(res.coef[off] == 0) and np.all(res.prior_var[off] == 0)


@pytest.mark.parametrize("noise_var", [None, 0.01])
def test_em_never_decreases_the_evidence(noise_var):
    """EM is a minorise-maximise scheme for the marginal likelihood (no pruning, no hyperprior):
    the negative log evidence in the history never increases."""
    A, y, _, _ = clustered_problem(1, snr_db=15.0)
    res = sparse_bayesian_learning(A, y, noise_var=noise_var, prune=0.0, max_iter=200)
    steps = np.diff(res.history.objective)
    assert np.all(steps <= 1e-9 * np.abs(res.history.objective[:-1]))


def test_pattern_coupling_recovers_clusters_better_than_independent_priors():
    errors = {0.0: [], 1.0: []}
    for seed in range(8):
        A, y, x, _ = clustered_problem(seed, snr_db=15.0)
        for beta in errors:
            coef = sparse_bayesian_learning(A, y, coupling=beta, max_iter=500).coef
            errors[beta].append(np.sum((coef - x) ** 2) / np.sum(x**2))
    assert np.mean(errors[1.0]) < 0.8 * np.mean(errors[0.0])


@pytest.mark.parametrize("update", ["em", "mackay"])
def test_complex_data(update):
    A, y, x, _ = clustered_problem(2, snr_db=25.0, complex_data=True)
    res = sparse_bayesian_learning(A, y, update=update, max_iter=2000)
    assert res.coef.dtype == np.complex128
    assert np.sum(np.abs(res.coef - x) ** 2) / np.sum(np.abs(x) ** 2) < 0.1
    assert np.all(res.posterior_var >= 0) and res.posterior_var.dtype == np.float64


def test_complex_y_with_real_design_is_a_complex_problem():
    A, _y, _, _ = clustered_problem(3, snr_db=20.0)
    rng = np.random.default_rng(0)
    x = np.zeros(100, complex)
    x[[10, 11, 12]] = [1 + 1j, -1j, 2.0]
    yc = A @ x + 0.01 * (rng.standard_normal(40) + 1j * rng.standard_normal(40))
    res = sparse_bayesian_learning(A, yc, update="mackay")
    assert res.coef.dtype == np.complex128
    np.testing.assert_allclose(res.coef[[10, 11, 12]], x[[10, 11, 12]], atol=0.05)


def test_fixed_noise_is_kept():
    A, y, _, sigma2 = clustered_problem(4, snr_db=20.0)
    res = sparse_bayesian_learning(A, y, noise_var=sigma2, update="mackay")
    assert res.noise_var == sigma2
    assert np.all(res.history["noise_var"] == sigma2)


def test_all_zero_y_returns_zeros_and_says_so():
    A, _, _, _ = clustered_problem(0)
    with pytest.warns(UserWarning, match="y is all zeros"):
        res = sparse_bayesian_learning(A, np.zeros(40))
    assert isinstance(res, SBLResult) and res.converged and res.n_iter == 0
    assert np.all(res.coef == 0) and res.support.size == 0 and len(res.history) == 1


def test_zero_columns_are_left_out():
    A, y, _, _ = clustered_problem(0, snr_db=20.0)
    A = A.copy()
    A[:, [3, 50]] = 0.0
    res = sparse_bayesian_learning(A, y, update="mackay")
    assert 3 not in res.support and 50 not in res.support
    assert res.coef[3] == 0 and res.coef[50] == 0


def test_scaling_y_scales_the_solution():
    """Priors and starting values are set from the data, so units do not matter."""
    A, y, _, _ = clustered_problem(5, snr_db=20.0)
    a = sparse_bayesian_learning(A, y, update="mackay")
    b = sparse_bayesian_learning(A, 1e4 * y, update="mackay")
    np.testing.assert_allclose(b.coef, 1e4 * a.coef, rtol=1e-6, atol=1e-9 * np.abs(b.coef).max())
    assert b.noise_var == pytest.approx(1e8 * a.noise_var, rel=1e-6)


def test_noiseless_exactly_sparse_data():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 60))
    x = np.zeros(60)
    x[[4, 17, 33]] = [1.0, -2.0, 0.5]
    res = sparse_bayesian_learning(A, A @ x, update="mackay", max_iter=2000)
    np.testing.assert_allclose(res.coef, x, atol=1e-5)
    assert np.isfinite(res.log_evidence)


def test_coupling_needs_the_em_update():
    A, y, _, _ = clustered_problem(0)
    with pytest.raises(ValueError, match="update='em'"):
        sparse_bayesian_learning(A, y, coupling=1.0, update="mackay")


def test_callback_and_verbose(capsys):
    A, y, _, _ = clustered_problem(0, snr_db=20.0)
    seen = []
    res = sparse_bayesian_learning(A, y, update="mackay", verbose=2,
                                   callback=lambda it, state: seen.append((it, state["criterion"])))
    out = capsys.readouterr().out
    assert out.count("SBL iteration") == res.n_iter and "converged" in out
    assert [it for it, _ in seen] == list(range(1, res.n_iter + 1))
    np.testing.assert_allclose([c for _, c in seen], res.history.criterion)


def test_max_iter_stops_with_the_current_iterate():
    A, y, _, _ = clustered_problem(0, snr_db=20.0)
    full = sparse_bayesian_learning(A, y, max_iter=50)
    short = sparse_bayesian_learning(A, y, max_iter=10)
    assert not short.converged and short.n_iter == 10
    np.testing.assert_array_equal(short.history.criterion, full.history.criterion[:10])
