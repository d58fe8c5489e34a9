"""Non-interactive protocol: clipping bounds the sensitivity, sums equal per-user messages,
noise-free server equals cvxpy, Laplace messages are epsilon-LDP empirically."""

import math

import numpy as np
import pytest

from sparsenum.privacy import NLDPReports, nldp_regression, nldp_reports
from sparsenum.privacy._cases import sparse_problem
from sparsenum.privacy._hooks import noise_switched_off


@pytest.fixture(scope="module")
def small():
    return sparse_problem(2000, 6, seed=1)


@pytest.mark.parametrize("mechanism", ["gaussian", "laplace"])
def test_clipping_bounds_every_messages_sensitivity(mechanism):
    rng = np.random.default_rng(0)
    d = 5
    records = np.vstack([rng.normal(size=(20, d)) * 100,  # far outside the bounds
                         np.full((1, d), 3.0), np.full((1, d), -3.0),
                         3.0 * np.where(np.arange(d) % 2, 1.0, -1.0)[None, :],
                         np.zeros((1, d)), rng.uniform(-3, 3, size=(20, d))])
    targets = np.r_[rng.normal(size=20) * 100, 3.0, -3.0, 3.0, 0.0, rng.uniform(-3, 3, 20)]
    with noise_switched_off():
        r = nldp_reports(records, targets, 1.0, mechanism=mechanism, aggregate=False)
    def spread(messages):  # largest l2 (Gaussian) or l1 (Laplace) distance between two users
        diff = messages[:, None, :] - messages[None, :, :]
        return (np.linalg.norm(diff, axis=-1) if mechanism == "gaussian"
                else np.abs(diff).sum(-1)).max()

    cov_spread, xy_spread = spread(r.cov), spread(r.xy)
    assert cov_spread <= r.sensitivity_cov * (1 + 1e-12)
    assert xy_spread <= r.sensitivity_xy * (1 + 1e-12)
    assert xy_spread == pytest.approx(r.sensitivity_xy)  # attained by (3, 3) against (-3, 3)
    if mechanism == "gaussian":  # attained up to sqrt(1 + 1/(2d)) and the parity of d
        assert cov_spread >= 0.9 * r.sensitivity_cov


@pytest.mark.parametrize("mechanism", ["gaussian", "laplace"])
def test_aggregate_equals_sum_of_per_user_messages_for_any_n_jobs(small, mechanism):
    X, y, _ = small
    per_user = nldp_reports(X, y, 2.0, mechanism=mechanism, aggregate=False, random_state=3,
                            n_jobs=1)
    summed = nldp_reports(X, y, 2.0, mechanism=mechanism, random_state=3, n_jobs=2)
    summed_1 = nldp_reports(X, y, 2.0, mechanism=mechanism, random_state=3, n_jobs=1)
    np.testing.assert_array_equal(summed.cov, summed_1.cov)
    np.testing.assert_array_equal(summed.xy, summed_1.xy)
    again = per_user.sums()
    scale = np.abs(again.cov).max()
    np.testing.assert_allclose(again.cov, summed.cov, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(again.xy, summed.xy, rtol=0, atol=1e-10 * np.abs(again.xy).max())
    per_user_2 = nldp_reports(X, y, 2.0, mechanism=mechanism, aggregate=False, random_state=3,
                              n_jobs=2)
    np.testing.assert_array_equal(per_user.cov, per_user_2.cov)


def test_reports_of_two_groups_add_up(small):
    X, y, _ = small
    a = nldp_reports(X[:700], y[:700], 1.0, random_state=1)
    b = nldp_reports(X[700:], y[700:], 1.0, random_state=2, aggregate=False)
    total = a + b
    assert isinstance(total, NLDPReports) and total.n_users == 2000 and total.aggregated
    np.testing.assert_allclose(total.xy, a.xy + b.xy.sum(0))
    with pytest.raises(ValueError, match="same settings"):
        a + nldp_reports(X[:10], y[:10], 2.0, random_state=1)


def test_noise_shortcut_has_the_right_spread(small):
    X, y, _ = small
    with noise_switched_off():
        clean = nldp_reports(X, y, 1.0)
    draws = np.array([nldp_reports(X, y, 1.0, sum_noise_shortcut=True, random_state=s).xy
                      for s in range(300)]) - clean.xy
    expected = clean.xy_noise_scale * math.sqrt(2000)
    # the sample sd of 300 * 6 normal draws is within 5 * sd / sqrt(2 * 1800) of the truth
    assert abs(draws.std() - expected) < 5 * expected / math.sqrt(2 * draws.size)


def _cvxpy_solution(S, c, alpha):
    cp = pytest.importorskip("cvxpy")
    t = cp.Variable(c.shape[0])
    objective = 0.5 * cp.quad_form(t, cp.psd_wrap(S)) - c @ t + alpha * cp.norm1(t)
    cp.Problem(cp.Minimize(objective)).solve(solver=cp.CLARABEL, tol_gap_abs=1e-12,
                                             tol_gap_rel=1e-12, tol_feas=1e-12)
    return t.value


@pytest.mark.parametrize("alpha", [0.01, 0.2])
def test_noise_free_server_equals_cvxpy(small, alpha):
    X, y, _ = small
    X = X.copy()
    X[:, 1] += 0.8 * X[:, 0]  # correlated features
    with noise_switched_off():
        reports = nldp_reports(X, y, 1.0, aggregate=False)
    fit = nldp_regression(reports, alpha=alpha, eigen_floor=1e-12)
    Xc, yc = np.clip(X, -3, 3), np.clip(y, -3, 3)
    S, c = Xc.T @ Xc / len(X), Xc.T @ yc / len(X)
    reference = _cvxpy_solution(S, c, alpha)
    np.testing.assert_allclose(fit.coef, reference, atol=1e-6)
    assert fit.converged and fit.n_iter == 1


def test_noise_free_top_k_is_the_refitted_least_squares(small):
    X, y, theta = small
    with noise_switched_off():
        reports = nldp_reports(X, y, 1.0)
    fit = nldp_regression(reports, n_nonzero=2, eigen_floor=1e-12)
    support = np.flatnonzero(theta)
    ls = np.linalg.lstsq(np.clip(X, -3, 3)[:, support], np.clip(y, -3, 3), rcond=None)[0]
    np.testing.assert_array_equal(fit.support, support)
    np.testing.assert_allclose(fit.coef[support], ls, rtol=1e-9)


def test_laplace_messages_pass_the_ratio_test():
    """d = 1, split = 0: the x y message of (3, 3) against (3, -3) differs by the l1
    sensitivity 2 * 3 * 3, so P(m > 9 | (3, 3)) / P(m > 9 | (3, -3)) = e^eps exactly."""
    n, epsilon = 200_000, 1.0
    X = np.full((n, 1), 3.0)
    msgs = [nldp_reports(X, np.full(n, s), epsilon, mechanism="laplace", split=0.0,
                         aggregate=False, random_state=seed).xy[:, 0]
            for s, seed in ((3.0, 1), (-3.0, 2))]
    a = np.count_nonzero(msgs[0] > 9.0)
    b = np.count_nonzero(msgs[1] > 9.0)
    pa, pb = a / n, b / n
    se = math.sqrt((1 - pa) / (pa * n) + (1 - pb) / (pb * n))
    assert abs(math.log(pa / pb) - epsilon) < 4.5 * se


def test_public_covariance_estimate(small):
    X, y, theta = sparse_problem(100_000, 6, seed=4)
    reports = nldp_reports(X, y, 4.0, split=0.0, random_state=0)
    fit = nldp_regression(reports, n_nonzero=2, public_X=X[:1000])
    assert fit.method == "nldp_public_covariance"
    np.testing.assert_array_equal(fit.support, np.flatnonzero(theta))
    with pytest.raises(ValueError, match="public_X"):
        nldp_regression(reports, n_nonzero=2)
    with pytest.raises(ValueError, match="public_X must have 6 columns"):
        nldp_regression(reports, public_X=X[:10, :3])


@pytest.mark.parametrize("kwargs, name", [
    ({"epsilon": 0.0}, "epsilon"), ({"epsilon": np.inf}, "epsilon"), ({"delta": 1.0}, "delta"),
    ({"delta": 0.0}, "delta"), ({"mechanism": "laplace", "delta": 1e-6}, "delta"),
    ({"feature_bound": 0.0}, "feature_bound"), ({"target_bound": -1.0}, "target_bound"),
    ({"split": 1.0}, "split"), ({"aggregate": 1}, "aggregate"),
    ({"mechanism": "laplace", "sum_noise_shortcut": True}, "sum_noise_shortcut"),
    ({"mechanism": "exponential"}, "mechanism"),
])
def test_bad_client_arguments(small, kwargs, name):
    X, y, _ = small
    args = {"epsilon": 1.0, **kwargs}
    with pytest.raises((ValueError, TypeError), match=name):
        nldp_reports(X, y, **args)


def test_bad_server_arguments(small):
    X, y, _ = small
    reports = nldp_reports(X, y, 1.0, random_state=0)
    with pytest.raises(ValueError, match="n_nonzero"):
        nldp_regression(reports, n_nonzero=7)
    with pytest.raises(ValueError, match="not both"):
        nldp_regression(reports, n_nonzero=2, alpha=0.1)
    with pytest.raises(TypeError, match="reports"):
        nldp_regression({"xy": 1})
    with pytest.raises(ValueError, match="eigen_floor"):
        nldp_regression(reports, eigen_floor=0.0)


def test_per_user_messages_that_would_not_fit_are_refused():
    X = np.zeros((200_000, 300))  # 200,000 users x 45,450 entries: 68 GiB of messages
    with pytest.raises(ValueError, match="aggregate=False would store"):
        nldp_reports(X, np.zeros(200_000), 1.0, aggregate=False)
