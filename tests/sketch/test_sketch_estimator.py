"""SketchedRegression against scikit-learn's LinearRegression."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sparsenum.sketch import SketchedRegression


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1500, 12)) * np.logspace(0, 3, 12) + 5.0
    y = X @ rng.standard_normal(12) + 2.0 + rng.standard_normal(1500)
    w = rng.uniform(0, 3, 1500)
    return X, y, w


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sketch", ["srht", "sparse_sign"])
def test_matches_linear_regression(data, fit_intercept, sketch):
    X, y, w = data
    X0, y0 = X.copy(), y.copy()
    ours = SketchedRegression(sketch=sketch, fit_intercept=fit_intercept, random_state=0)
    ours.fit(X, y, sample_weight=w)
    ref = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    assert ours.intercept_ == pytest.approx(ref.intercept_, rel=1e-8, abs=1e-8)
    residual = np.linalg.norm(np.sqrt(w) * (ref.predict(X) - y))
    assert ours.residual_norm_ == pytest.approx(residual, rel=1e-10)
    assert ours.converged_ and ours.n_iter_ >= 1 and ours.rank_ == 12 + fit_intercept
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_sparse_input_matches_dense(data):
    X, y, _ = data
    Xs = sp.csr_matrix(np.where(np.abs(X) > 50, X, 0.0))
    ours = SketchedRegression(random_state=0).fit(Xs, y)
    ref = LinearRegression().fit(Xs.toarray(), y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.predict(Xs), ref.predict(Xs.toarray()), rtol=1e-8)


def test_solve_method_is_close(data):
    X, y, _ = data
    ours = SketchedRegression(method="solve", sketch_size=600, random_state=0).fit(X, y)
    ref = LinearRegression().fit(X, y)
    assert ours.score(X, y) == pytest.approx(ref.score(X, y), abs=0.01)
    assert ours.n_iter_ == 1


def test_wide_data_falls_back_to_minimum_norm(data):
    X, y, _ = data
    ours = SketchedRegression(fit_intercept=False).fit(X[:5], y[:5])
    np.testing.assert_allclose(ours.coef_, np.linalg.pinv(X[:5]) @ y[:5], rtol=1e-8)


def test_pipeline_and_grid_search(data):
    X, y, _ = data
    search = GridSearchCV(make_pipeline(StandardScaler(), SketchedRegression(random_state=0)),
                          {"sketchedregression__sketch": ["srht", "countsketch"]}, cv=3)
    assert search.fit(X, y).best_score_ > 0.9


@pytest.mark.parametrize(
    ("params", "fit_kwargs", "error", "match"),
    [
        ({"method": "exact"}, {}, ValueError, "method must be one of"),
        ({"sketch": "dft"}, {}, ValueError, "sketch must be one of"),
        ({"sketch_size": 0}, {}, ValueError, "sketch_size"),
        ({"sketch_size": 5}, {}, ValueError, "sketch_size must be >= the number of columns"),
        ({"eps": 0.1}, {}, ValueError, "eps applies to method='solve'"),
        ({"method": "solve", "eps": -1.0}, {}, ValueError, "eps must be"),
        ({"tol": 0.0}, {}, ValueError, "tol"),
        ({"max_iter": -2}, {}, ValueError, "max_iter"),
        ({}, {"sample_weight": -np.ones(1500)}, ValueError, "nonnegative"),
        ({}, {"sample_weight": np.ones(10)}, ValueError, "sample_weight"),
    ],
)
def test_bad_parameters(data, params, fit_kwargs, error, match):
    X, y, _ = data
    with pytest.raises(error, match=match):
        SketchedRegression(**params).fit(X, y, **fit_kwargs)
