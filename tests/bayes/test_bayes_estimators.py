"""SBLRegressor and TurboVBIRegressor: against ARDRegression, predictive uncertainty, and use
in scikit-learn pipelines."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ARDRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sparsenum.bayes import SBLRegressor, TurboVBIRegressor
from sparsenum.bayes._cases import clustered_problem, grid_problem


@pytest.fixture(scope="module")
def regression_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 15))
    coef = np.zeros(15)
    coef[[1, 4, 9]] = [2.0, -1.5, 3.0]
    return X, X @ coef + 4.0 + 0.01 * rng.standard_normal(120)


def test_sbl_regressor_matches_ard_regression(regression_data):
    X, y = regression_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ard = ARDRegression(tol=1e-14, max_iter=3000).fit(X, y)
    reg = SBLRegressor(tol=1e-14, max_iter=3000).fit(X, y)
    np.testing.assert_allclose(reg.coef_, ard.coef_, rtol=0, atol=1e-6)
    assert reg.intercept_ == pytest.approx(ard.intercept_, abs=1e-6)
    assert reg.noise_var_ == pytest.approx(1.0 / ard.alpha_, rel=1e-5)
    mean, std = reg.predict(X[:10], return_std=True)
    ard_mean, ard_std = ard.predict(X[:10], return_std=True)
    np.testing.assert_allclose(mean, ard_mean, atol=1e-6)
    np.testing.assert_allclose(std, ard_std, rtol=1e-4)


def test_predictive_std_includes_the_noise(regression_data):
    X, y = regression_data
    for reg in (SBLRegressor(), TurboVBIRegressor(random_state=0)):
        reg.fit(X, y)
        mean, std = reg.predict(X, return_std=True)
        np.testing.assert_allclose(mean, reg.predict(X))
        assert np.all(std >= np.sqrt(reg.noise_var_) * (1 - 1e-12))
        assert np.all(std < 10 * np.sqrt(reg.noise_var_) + 1e-9)


def test_turbo_regressor_on_clustered_features():
    A, y, x, _ = clustered_problem(0, snr_db=25.0)
    reg = TurboVBIRegressor(fit_intercept=False, random_state=0).fit(A, y)
    assert set(reg.support_) <= set(np.flatnonzero(x))  # two true entries are below 0.1
    assert reg.support_proba_.shape == (100,) and reg.transition_.shape == (2,)
    assert np.sum((reg.coef_ - x) ** 2) < 0.01 * np.sum(x**2)
    reg2 = TurboVBIRegressor(random_state=0).fit(A, y + 5.0)
    assert reg2.intercept_ == pytest.approx(5.0, abs=0.1)


def test_turbo_regressor_with_a_grid_of_features():
    A, y, x, _ = grid_problem(1, shape=(10, 10), m=60, size=(3, 4), snr_db=25.0)
    reg = TurboVBIRegressor(support="mrf", shape=(10, 10), fit_intercept=False,
                            random_state=0).fit(A, y)
    assert np.sum((reg.coef_ - x) ** 2) < 0.05 * np.sum(x**2)
    with pytest.raises(ValueError, match="shape"):
        TurboVBIRegressor(support="mrf").fit(A, y)
    with pytest.raises(ValueError, match="cells"):
        TurboVBIRegressor(support="mrf", shape=(9, 10)).fit(A, y)


def test_pattern_coupled_regressor():
    A, y, x, _ = clustered_problem(1, snr_db=20.0)
    reg = SBLRegressor(coupling=1.0, update="em", fit_intercept=False, max_iter=1000).fit(A, y)
    assert np.sum((reg.coef_ - x) ** 2) < 0.2 * np.sum(x**2)
    with pytest.raises(ValueError, match="update='em'"):
        SBLRegressor(coupling=1.0).fit(A, y)


def test_constant_target_is_the_intercept():
    X = np.random.default_rng(0).standard_normal((30, 5))
    for reg in (SBLRegressor(), TurboVBIRegressor()):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            reg.fit(X, np.full(30, 2.5))
        assert np.all(reg.coef_ == 0) and reg.intercept_ == 2.5
        np.testing.assert_allclose(reg.predict(X), 2.5)
        _mean, std = reg.predict(X, return_std=True)
        assert np.all(np.isfinite(std))


def test_pipeline_and_grid_search(regression_data):
    X, y = regression_data
    search = GridSearchCV(make_pipeline(StandardScaler(), SBLRegressor()),
                          {"sblregressor__update": ["mackay", "em"]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.99


def test_return_std_must_be_a_flag(regression_data):
    X, y = regression_data
    reg = SBLRegressor().fit(X, y)
    with pytest.raises(TypeError, match="return_std"):
        reg.predict(X, return_std="yes")
