"""The imputer and the ratings regressor, including the scikit-learn machinery the common checks
cannot exercise on id inputs (clone, pickle, grid search, cross-validation, pipelines)."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sparsenum.completion import AltMinImputer, AltMinRatingsRegressor, altmin_complete
from sparsenum.completion._cases import low_rank, ratings


@pytest.fixture(scope="module")
def matrix():
    return low_rank(90, 12, 3, 0.7, seed=20)


@pytest.fixture(scope="module")
def table():
    return ratings(60, 40, 1500, rank=3, seed=21)


def test_imputer_recovers_missing_entries_and_keeps_observed(matrix):
    X, M = matrix
    imputer = AltMinImputer(rank=3, reg=0.0, biases=False, tol=1e-10, n_sweeps=200,
                            random_state=0)
    filled = imputer.fit_transform(M)
    observed = ~np.isnan(M)
    np.testing.assert_array_equal(filled[observed], M[observed])
    assert np.abs(filled - X).max() < 1e-6
    assert imputer.components_.shape == (12, 3) and imputer.rank_ == 3
    assert imputer.converged_ and imputer.n_iter_ == len(imputer.history_)


def test_imputer_rows_are_independent(matrix):
    _, M = matrix
    imputer = AltMinImputer(rank=3, random_state=0).fit(M)
    whole = imputer.transform(M)
    np.testing.assert_allclose(imputer.transform(M[10:20]), whole[10:20], rtol=1e-12)
    np.testing.assert_allclose(imputer.transform(M[::-1]), whole[::-1], rtol=1e-12)


def test_imputer_sparse_input_and_empty_rows(matrix):
    _, M = matrix
    rows, cols = np.nonzero(~np.isnan(M))
    S = sp.csr_matrix((M[rows, cols], (rows, cols)), shape=M.shape)
    dense_fit = AltMinImputer(rank=2, reg=0.05, bias_reg=1.0, random_state=0).fit(M)
    sparse_fit = AltMinImputer(rank=2, reg=0.05, bias_reg=1.0, random_state=0).fit(S)
    np.testing.assert_allclose(dense_fit.components_, sparse_fit.components_, rtol=1e-10,
                               atol=1e-12)
    blank = np.full((1, 12), np.nan)
    np.testing.assert_allclose(dense_fit.transform(blank)[0],
                               dense_fit.global_mean_ + dense_fit.col_bias_)


def test_imputer_caps_rank_and_checks_width(matrix):
    _, M = matrix
    imputer = AltMinImputer(rank=50, reg=0.1, bias_reg=1.0, n_sweeps=3, random_state=0)
    with pytest.warns(Warning):
        imputer.fit(M[:, :4])
    assert imputer.rank_ == 3
    with pytest.raises(ValueError, match="features"):
        imputer.transform(M)


def test_imputer_in_a_pipeline(matrix):
    X, M = matrix
    y = X[:, 0] + 0.1
    pipe = make_pipeline(AltMinImputer(rank=3, random_state=0), Ridge(alpha=1e-3))
    assert pipe.fit(M, y).score(M, y) > 0.9


def test_regressor_fits_and_falls_back_on_unseen_ids(table):
    ids, values = table
    model = AltMinRatingsRegressor(random_state=0).fit(ids, values)
    assert model.score(ids, values) > 0.9
    assert model.shape_ == (60, 40) and model.n_features_in_ == 2
    pred = model.predict(np.array([[100, 3], [4, 200], [100, 200]]))
    np.testing.assert_allclose(pred, [model.global_mean_ + model.col_bias_[3],
                                      model.global_mean_ + model.row_bias_[4],
                                      model.global_mean_])


def test_regressor_matches_the_function(table):
    ids, values = table
    model = AltMinRatingsRegressor(rank=3, reg=0.05, bias_reg=2.0, random_state=0)
    model.fit(ids, values)
    M = sp.coo_matrix((values, (ids[:, 0], ids[:, 1])), shape=(60, 40))
    result = altmin_complete(M, 3, reg=0.05, bias_reg=2.0, random_state=0)
    np.testing.assert_allclose(model.predict(ids), result.predict(ids[:, 0], ids[:, 1]),
                               rtol=1e-12)


def test_regressor_accepts_whole_float_ids_and_rejects_repeats(table):
    ids, values = table
    a = AltMinRatingsRegressor(rank=2, random_state=0).fit(ids, values)
    b = AltMinRatingsRegressor(rank=2, random_state=0).fit(ids.astype(float), values)
    np.testing.assert_array_equal(a.predict(ids), b.predict(ids))
    with pytest.raises(ValueError, match="repeat"):
        AltMinRatingsRegressor().fit(np.vstack([ids, ids[:1]]), np.append(values, 1.0))


def test_regressor_clone_pickle_params(table):
    ids, values = table
    model = AltMinRatingsRegressor(rank=3, reg=0.1, random_state=0)
    assert clone(model).get_params() == model.get_params()
    model.fit(ids, values)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(ids), model.predict(ids))
    model.set_params(rank=2)
    assert model.rank == 2


def test_regressor_grid_search_and_cross_validation(table):
    ids, values = table
    search = GridSearchCV(AltMinRatingsRegressor(n_sweeps=10, random_state=0),
                          {"rank": [1, 3]}, cv=KFold(3, shuffle=True, random_state=0),
                          scoring="neg_root_mean_squared_error")
    search.fit(ids, values)
    assert search.best_params_["rank"] in (1, 3)
    scores = cross_val_score(AltMinRatingsRegressor(rank=3, n_sweeps=10, random_state=0),
                             ids, values, cv=KFold(3, shuffle=True, random_state=0))
    assert np.all(scores > 0.5)


def test_convergence_warning_names_n_sweeps():
    """The estimators cap their work with n_sweeps: the warning tells the user to raise that."""
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2)) @ rng.standard_normal((2, 8))
    X[rng.random(X.shape) < 0.3] = np.nan
    with pytest.warns(ConvergenceWarning, match=r"increase n_sweeps or loosen tol"):
        AltMinImputer(rank=2, reg=0.1, n_sweeps=1, tol=1e-12, random_state=0).fit(X)
