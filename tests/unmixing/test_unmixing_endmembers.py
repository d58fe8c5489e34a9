"""VCA and SPA on separable data, band-noise estimation, metrics."""

import numpy as np
import pytest

from sparsenum.unmixing import (
    abundance_rmse,
    estimate_band_noise,
    extract_endmembers,
    match_endmembers,
    spectral_angles,
)


@pytest.fixture(scope="module")
def separable(spectra):
    rng = np.random.default_rng(0)
    A = rng.dirichlet(np.full(5, 0.7), size=600)
    pure = np.array([17, 111, 250, 404, 590])
    A[pure] = np.eye(5)
    return A @ spectra, pure


@pytest.mark.parametrize("method", ["vca", "spa"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_picks_the_planted_pure_pixels(separable, spectra, method, seed):
    X, pure = separable
    res = extract_endmembers(X, 5, method=method, random_state=seed)
    assert sorted(res.indices.tolist()) == sorted(pure.tolist())
    _order, angles = match_endmembers(spectra, res.endmembers)
    np.testing.assert_allclose(angles, 0.0, atol=1e-7)
    assert res.history.iteration[-1] == res.n_iter == 5


@pytest.mark.parametrize("method", ["vca", "spa"])
def test_band_weights_rescue_the_picks(ruined_scene, spectra, method):
    X = ruined_scene.X.reshape(-1, 180)
    intact = np.setdiff1d(np.arange(180), ruined_scene.ruined)
    w = 1.0 / estimate_band_noise(X) ** 2
    weighted = extract_endmembers(X, 5, method=method, band_weights=w, random_state=0)
    plain = extract_endmembers(X, 5, method=method, random_state=0)
    sad_w = match_endmembers(spectra[:, intact], weighted.endmembers[:, intact])[1].mean()
    sad_p = match_endmembers(spectra[:, intact], plain.endmembers[:, intact])[1].mean()
    assert sad_w < 0.06 and sad_p > 2 * sad_w


def test_noise_estimate_within_ten_percent_and_ruined_first(spectra):
    rng = np.random.default_rng(0)
    A = rng.dirichlet(np.full(5, 0.5), size=3000)
    Y = A @ spectra
    sigma = rng.uniform(0.004, 0.012, size=180)  # a factor 3 between bands, like sensors
    ruined = np.array([3, 50, 120])
    sigma[ruined] = 0.05
    X = Y + rng.normal(size=Y.shape) * sigma
    est = estimate_band_noise(X)
    np.testing.assert_array_less(np.abs(est / sigma - 1.0), 0.1)
    assert set(np.argsort(est)[-3:]) == set(ruined)


def test_noise_estimate_of_the_ruined_scene_ranks_ruined_bands_first(ruined_scene):
    est = estimate_band_noise(ruined_scene.X)
    top = np.argsort(est)[-ruined_scene.ruined.size:]
    assert set(top) == set(ruined_scene.ruined)


def test_noise_estimate_bad_inputs():
    with pytest.raises(ValueError, match="more pixels than bands"):
        estimate_band_noise(np.random.default_rng(0).random((5, 10)))
    X = np.random.default_rng(0).random((50, 10))
    X[:, 2] = 0.3
    with pytest.raises(ValueError, match="constant band"):
        estimate_band_noise(X)


def test_extract_bad_inputs(separable):
    X, _ = separable
    for kwargs, match in [({"method": "nfindr"}, "method"), ({"band_weights": [1.0]}, "band"),
                          ({"random_state": "a"}, "random_state")]:
        with pytest.raises((ValueError, TypeError), match=match):
            extract_endmembers(X, 5, **kwargs)
    with pytest.raises(ValueError, match="n_endmembers"):
        extract_endmembers(X, 1)


def test_metrics():
    R = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    est = np.array([[0.0, 2.0, 0.1], [3.0, 0.0, 0.0]])
    order, angles = match_endmembers(R, est)
    assert order.tolist() == [1, 0]
    assert angles[0] == 0.0 and angles[1] == pytest.approx(np.arctan(0.05))
    np.testing.assert_allclose(spectral_angles(R, R), [[0, np.pi / 2], [np.pi / 2, 0]])
    A = np.array([[0.2, 0.8], [1.0, 0.0]])
    assert abundance_rmse(A, A[:, ::-1], order=[1, 0]) == 0.0
    with pytest.raises(ValueError, match="order"):
        abundance_rmse(A, A, order=[0, 5])
    with pytest.raises(ValueError, match="at least as many"):
        match_endmembers(R, est[:1])
