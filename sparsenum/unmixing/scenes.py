"""Synthetic hyperspectral scenes from real spectra, for tests, examples and benchmarks.

Five reflectance spectra ship with sparsenum (``data/earthlib_endmembers.csv``): a PROSAIL
vegetation canopy, a measured soil, leaf litter, roof paint and char from earthlib's spectral
library (MIT licence, notice in ``data/EARTHLIB_LICENSE.txt``), each the member closest in
spectral angle to its class median, at earthlib's 180 bands (400-2450 nm without the water
vapour bands). Nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
from importlib import resources

import numpy as np

from sparsenum.utils import check_array, check_int, check_random_state, check_scalar

__all__ = ["Scene", "load_spectra", "make_scene"]


def load_spectra():
    """The five shipped earthlib spectra.

    Returns
    -------
    spectra : ndarray of shape (5, 180)
        Reflectances (vegetation canopy, soil, leaf litter, roof paint, char).
    wavelengths : ndarray of shape (180,)
        Band centres in nanometres.
    names : list of str

    Examples
    --------
    >>> from sparsenum.unmixing import load_spectra
    >>> spectra, wavelengths, names = load_spectra()
    >>> spectra.shape, names[0]
    ((5, 180), 'vegetation_canopy')
    """
    text = resources.files("sparsenum.unmixing").joinpath("data/earthlib_endmembers.csv")
    lines = [line for line in text.read_text().splitlines() if not line.startswith("#")]
    names = lines[0].split(",")[1:]
    table = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    return np.ascontiguousarray(table[:, 1:].T), table[:, 0], names


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scene:
    """A synthetic scene: the cube, its ground truth and which bands were ruined.

    Attributes
    ----------
    X : ndarray of shape (height, width, n_bands)
        Observed reflectances.
    abundances : ndarray of shape (height, width, K)
        True abundances (Dirichlet draws).
    endmembers : ndarray of shape (K, n_bands)
        True endmember spectra.
    ruined : ndarray of int
        Indices of the ruined bands.
    noise_sigma : float
        Standard deviation of the Gaussian noise on the intact bands.
    """

    X: np.ndarray
    abundances: np.ndarray
    endmembers: np.ndarray
    ruined: np.ndarray
    noise_sigma: float


def make_scene(endmembers, *, shape=(64, 64), snr_db=30.0, ruined_fraction=0.0, alpha=0.5,
               random_state=None):
    """Linear mixtures of ``endmembers`` with Gaussian noise and optionally ruined bands.

    Abundances are Dirichlet(``alpha``) per pixel (``alpha < 1``: many nearly pure pixels).
    Gaussian noise has the standard deviation giving ``snr_db`` against the mean signal power.
    A fraction of the bands, chosen at random, is replaced by ``0.1 * signal + |N(0, 0.3)|``
    (a dead or saturated detector row carries almost nothing of the scene). Reflectances are
    clipped at 0.

    Parameters
    ----------
    endmembers : array-like of shape (K, n_bands)
    shape : tuple of two ints, default=(64, 64)
    snr_db : float, default=30.0
    ruined_fraction : float in [0, 1), default=0.0
    alpha : float, default=0.5
    random_state : None, int, RandomState or Generator

    Returns
    -------
    Scene

    Examples
    --------
    >>> from sparsenum.unmixing import load_spectra, make_scene
    >>> scene = make_scene(load_spectra()[0], shape=(8, 8), ruined_fraction=0.1, random_state=0)
    >>> scene.X.shape, scene.ruined.size
    ((8, 8, 180), 18)
    """
    E = check_array(endmembers, "endmembers", ndim=2, nonnegative=True)
    if not (isinstance(shape, tuple) and len(shape) == 2):
        raise TypeError(f"shape must be a tuple (height, width); got {shape!r}")
    h = check_int(shape[0], "shape[0]", low=1)
    w = check_int(shape[1], "shape[1]", low=1)
    snr_db = check_scalar(snr_db, "snr_db")
    ruined_fraction = check_scalar(ruined_fraction, "ruined_fraction", low=0.0, high=1.0,
                                   include_high=False)
    alpha = check_scalar(alpha, "alpha", low=0.0, include_low=False)
    rng = check_random_state(random_state)
    K, L = E.shape
    A = rng.dirichlet(np.full(K, alpha), size=h * w)
    Y = A @ E
    sigma = float(np.sqrt(np.mean(Y ** 2) / 10 ** (snr_db / 10)))
    X = Y + sigma * rng.standard_normal(Y.shape)
    n_ruined = round(ruined_fraction * L)
    ruined = np.sort(rng.choice(L, size=n_ruined, replace=False)) if n_ruined else \
        np.zeros(0, dtype=np.int64)
    X[:, ruined] = 0.1 * Y[:, ruined] + np.abs(rng.normal(0.0, 0.3, size=(h * w, n_ruined)))
    np.maximum(X, 0.0, out=X)
    return Scene(X=X.reshape(h, w, L), abundances=A.reshape(h, w, K), endmembers=E.copy(),
                 ruined=ruined, noise_sigma=sigma)
