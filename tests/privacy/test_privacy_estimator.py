"""LDPSparseRegression: budget attributes, intercept, agreement with the functions, and the
scikit-learn contract (the common checks run in tests/test_common.py)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sparsenum.privacy import LDPSparseRegression, ldp_iht
from sparsenum.privacy._cases import sparse_problem


@pytest.fixture(scope="module")
def data():
    return sparse_problem(100_000, 8, k=2, seed=0)


def test_iht_defaults_recover_the_support_and_report_the_budget(data):
    X, y, theta = data
    reg = LDPSparseRegression(epsilon=2.0, n_nonzero=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(reg.support_, np.flatnonzero(theta))
    assert reg.epsilon_ == 2.0 and reg.delta_ == 0.0 and "Duchi" in reg.budget_
    assert reg.n_iter_ == reg.history_.iteration[-1] and reg.converged_
    assert reg.score(X, y) > 0.8


def test_estimator_equals_the_function_on_clipped_data(data):
    X, y, _ = data
    reg = LDPSparseRegression(epsilon=1.0, n_nonzero=2, random_state=3).fit(X, y)
    fit = ldp_iht(np.clip(X, -3, 3), np.clip(y, -3, 3), 1.0, 2, random_state=3)
    np.testing.assert_array_equal(reg.coef_, fit.coef)


def test_intercept_is_learned_privately(data):
    X, y, _ = data
    reg = LDPSparseRegression(epsilon=4.0, n_nonzero=2, fit_intercept=True,
                              random_state=0).fit(X, y + 0.5)
    assert reg.intercept_ == pytest.approx(0.5, abs=0.15)
    assert np.count_nonzero(reg.coef_) <= 2


def test_nldp_method_spends_epsilon_and_delta(data):
    X, y, _ = data
    reg = LDPSparseRegression(epsilon=2.0, method="nldp", delta=1e-5, random_state=0).fit(X, y)
    assert reg.delta_ == 1e-5 and reg.epsilon_ == 2.0 and np.count_nonzero(reg.coef_) <= 5
    with pytest.raises(ValueError, match="delta"):
        LDPSparseRegression(delta=1e-5).fit(X, y)


def test_n_jobs_and_clone_and_pipeline(data):
    X, y, _ = data
    a = LDPSparseRegression(random_state=1, n_jobs=1).fit(X, y)
    b = clone(a).set_params(n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    pipe = make_pipeline(StandardScaler(), LDPSparseRegression(random_state=1)).fit(X, y)
    assert pipe.predict(X[:3]).shape == (3,)


def test_more_nonzeros_than_features_keeps_all(data):
    X, y, _ = data
    reg = LDPSparseRegression(n_nonzero=50, random_state=0).fit(X[:2000, :3], y[:2000])
    assert reg.coef_.shape == (3,)
