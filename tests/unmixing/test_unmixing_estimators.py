"""RobustUnmixing and FCLSUnmixing: cubes in, maps out, attributes, pipelines, pickling."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from sparsenum.unmixing import FCLSUnmixing, RobustUnmixing, fcls, rrlbs


@pytest.fixture(scope="module")
def model(ruined_scene):
    return RobustUnmixing(n_endmembers=5, random_state=0).fit(ruined_scene.X)


def test_cube_in_maps_out(ruined_scene, model):
    assert model.abundances_.shape == (24, 24, 5)
    assert model.guidance_.shape == (24, 24)
    assert model.endmembers_.shape == (5, 180)
    assert model.components_ is model.endmembers_
    assert model.n_features_in_ == 180
    maps = model.transform(ruined_scene.X)
    assert maps.shape == (24, 24, 5)
    flat = model.transform(ruined_scene.X.reshape(-1, 180))
    np.testing.assert_array_equal(maps.reshape(-1, 5), flat)
    assert model.inverse_transform(maps).shape == (24, 24, 180)


def test_fit_equals_the_function(ruined_scene, model):
    res = rrlbs(ruined_scene.X, 5, random_state=0)
    np.testing.assert_array_equal(model.endmembers_, res.endmembers)
    np.testing.assert_array_equal(model.abundances_, res.abundances)
    assert model.n_iter_ == res.n_iter and model.converged_
    assert model.lam_ == res.lam


def test_transform_is_weighted_fcls(ruined_scene, model):
    X = ruined_scene.X.reshape(-1, 180)[:50]
    expected = fcls(X, model.endmembers_, band_weights=model.band_weights_).abundances
    np.testing.assert_array_equal(model.transform(X), expected)
    assert np.abs(model.transform(X) - model.abundances_.reshape(-1, 5)[:50]).max() < 0.1


def test_band_weights_attribute_flags_ruined_bands(ruined_scene, model):
    lowest = np.argsort(model.band_weights_)[:ruined_scene.ruined.size]
    assert np.isin(ruined_scene.ruined, lowest).mean() >= 0.9


def test_pickle_clone_pipeline(ruined_scene, model):
    X = ruined_scene.X.reshape(-1, 180)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.transform(X[:10]), model.transform(X[:10]))
    assert clone(model).get_params() == model.get_params()
    pipe = make_pipeline(RobustUnmixing(n_endmembers=5, max_iter=5, random_state=0))
    with pytest.warns(Warning):
        pipe.fit(X)
    assert pipe.transform(X[:3]).shape == (3, 5)
    assert list(model.get_feature_names_out())[:2] == ["robustunmixing0", "robustunmixing1"]


def test_fcls_unmixing(ruined_scene, spectra):
    est = FCLSUnmixing(spectra, loss="l21")
    maps = est.fit_transform(ruined_scene.X)
    assert maps.shape == (24, 24, 5)
    np.testing.assert_array_equal(maps, fcls(ruined_scene.X, spectra, loss="l21").abundances)
    assert est.n_components_ == 5
    np.testing.assert_allclose(est.inverse_transform(maps[:1, :1]), maps[:1, :1] @ spectra)
    assert FCLSUnmixing(spectra).transform(ruined_scene.X[0, :2]).shape == (2, 5)


@pytest.mark.parametrize("params, match", [
    ({"n_endmembers": 1}, "n_endmembers"),
    ({"p": 2.0}, "p must"),
    ({"loss": "huber"}, "loss"),
    ({"guided": 1}, "guided"),
    ({"lam": -0.1}, "lam"),
    ({"max_iter": 0}, "max_iter"),
])
def test_robust_unmixing_bad_params(ruined_scene, params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        RobustUnmixing(**params).fit(ruined_scene.X)


def test_wrong_cube_and_feature_counts(ruined_scene, model, spectra):
    with pytest.raises(ValueError, match="features"):
        model.transform(ruined_scene.X[..., :100])
    with pytest.raises(ValueError, match="bands"):
        FCLSUnmixing(spectra).transform(ruined_scene.X[..., :100])
    with pytest.raises(ValueError, match="one column per endmember"):
        model.inverse_transform(np.ones((3, 4)))
