"""Scenes shared by the unmixing tests (module scope: built once per test file)."""

import numpy as np
import pytest

from sparsenum.unmixing import load_spectra, make_scene


@pytest.fixture(scope="module")
def spectra():
    return load_spectra()[0]


@pytest.fixture(scope="module")
def ruined_scene(spectra):
    """24 x 24 pixels, five earthlib spectra at 180 bands, 30 dB, 10% ruined bands."""
    return make_scene(spectra, shape=(24, 24), snr_db=30, ruined_fraction=0.1, random_state=0)


@pytest.fixture(scope="module")
def small_problem():
    """A tiny random problem for comparisons with cvxpy: 40 pixels, 12 bands, 3 endmembers,
    one ruined band."""
    rng = np.random.default_rng(3)
    E = rng.uniform(0.1, 1.0, size=(3, 12))
    A = rng.dirichlet(np.full(3, 0.6), size=40)
    X = A @ E + 0.02 * rng.normal(size=(40, 12))
    X[:, 5] = 0.1 * X[:, 5] + np.abs(rng.normal(0.0, 0.3, size=40))
    return X, E, A
