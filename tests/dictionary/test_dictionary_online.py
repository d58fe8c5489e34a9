"""Online orthogonal dictionary learning: stays in the spectral-norm ball, finds a planted D."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sparsenum.dictionary import OnlineOrthogonalDictionary


def _planted(seed, n=10, n_samples=6000, density=0.2):
    rng = np.random.default_rng(seed)
    D, _ = np.linalg.qr(rng.standard_normal((n, n)))
    codes = rng.standard_normal((n_samples, n)) * (rng.random((n_samples, n)) < density)
    return codes @ D.T, D


def _match(model, D):
    """Smallest |cosine| between a planted atom and its best learned atom (1 = exact)."""
    return float(np.abs(model.components_ @ D).max(axis=0).min())


def test_streaming_approaches_planted_dictionary():
    Y, D = _planted(0, n_samples=15000)
    model = OnlineOrthogonalDictionary(random_state=0)
    matches = []
    for start in range(0, Y.shape[0], 50):
        model.partial_fit(Y[start:start + 50])
        if start % 3000 == 0:
            matches.append(_match(model, D))
    assert matches[-1] > 0.98
    assert matches[-1] > matches[0]
    assert model.n_steps_ == Y.shape[0] // 50


@given(seed=st.integers(0, 1000), batch=st.integers(1, 40), n_components=st.integers(1, 6))
@settings(max_examples=15)
def test_iterate_stays_in_spectral_norm_ball(seed, batch, n_components):
    Y, _ = _planted(seed, n=6, n_samples=200)
    model = OnlineOrthogonalDictionary(n_components, random_state=seed)
    for start in range(0, 200, batch):
        model.partial_fit(Y[start:start + batch])
        assert np.linalg.norm(model.dictionary_, 2) <= 1 + 1e-12
    assert model.dictionary_.shape == (6, n_components)


def test_fit_transform_inverse_and_history():
    Y, D = _planted(1, n=8, n_samples=3000)
    Y0 = Y.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = OnlineOrthogonalDictionary(batch_size=32, max_iter=4, tol=0.0,
                                           random_state=0).fit(Y)
    np.testing.assert_array_equal(Y, Y0)
    assert _match(model, D) > 0.98
    codes = model.transform(Y[:5])
    np.testing.assert_allclose(codes, Y[:5] @ model.dictionary_)
    np.testing.assert_allclose(model.inverse_transform(codes), codes @ model.dictionary_.T)
    assert model.history_.criterion_name == "relative_fw_gap"
    assert len(model.history_) == model.n_steps_


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_components": 0}, ValueError, "n_components must be an integer >= 1"),
    ({"n_components": 9}, ValueError, "<= 8"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"max_iter": 0}, ValueError, "max_iter"),
    ({"tol": -1.0}, ValueError, "tol"),
])
def test_bad_arguments(kwargs, error, match):
    Y, _ = _planted(0, n=8, n_samples=50)
    with pytest.raises(error, match=match):
        OnlineOrthogonalDictionary(**kwargs).fit(Y)


def test_bad_data():
    Y, _ = _planted(0, n=8, n_samples=50)
    model = OnlineOrthogonalDictionary(random_state=0).partial_fit(Y)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(Y[:, :5])
    Y[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        OnlineOrthogonalDictionary().fit(Y)
    with pytest.raises(ValueError, match="X must hold codes of shape"):
        model.inverse_transform(np.ones((2, 3)))
