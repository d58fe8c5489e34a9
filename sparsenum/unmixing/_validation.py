"""Input checks of sparsenum.unmixing, built on sparsenum.utils.validation.

Reflectances: every entry must be finite. Small negative values (noise around dark bands,
over-corrected atmosphere) are used as they are: the data fits are least squares, which need no
sign, and clipping them would bias the dark bands upwards. Values below ``-NEGATIVE_LIMIT``
times the largest entry are not noise (a no-data fill value such as -9999, or data that are not
reflectances) and are rejected.
"""

from __future__ import annotations

import numpy as np

from sparsenum.utils import check_array, check_int, check_one_of, check_scalar

# negatives down to this fraction of the brightest entry are accepted as noise
NEGATIVE_LIMIT = 0.5


def check_pixels(X, name="X", *, allow_cube=True):
    """``X`` as a float64 (n_pixels, n_bands) array, and the cube's spatial shape (or None).

    A 3-D ``X`` is a cube (height, width, n_bands) and is flattened row-major.
    """
    X = check_array(X, name, ndim=(2, 3) if allow_cube else 2)
    spatial = None
    if X.ndim == 3:
        spatial = X.shape[:2]
        if 0 in X.shape:
            raise ValueError(f"{name} must be a non-empty cube (height, width, n_bands); "
                             f"got shape {X.shape}")
        X = X.reshape(-1, X.shape[2])
    n, L = X.shape
    if n < 1 or L < 1:
        raise ValueError(f"{name} must have at least one pixel and one band; got shape {X.shape}")
    top = float(X.max())
    if top <= 0:
        raise ValueError(f"Negative values in data passed to {name}: it must contain a "
                         f"positive reflectance; its largest entry is {top:.6g}")
    low = float(X.min())
    if low < -NEGATIVE_LIMIT * top:
        raise ValueError(
            f"Negative values in data passed to {name}: an entry {low:.6g} is below "
            f"-{NEGATIVE_LIMIT:g} times the largest entry ({top:.6g}); small negatives (noise) "
            "are accepted, larger ones are not reflectances: mask no-data values (e.g. -9999)")
    return X, spatial


def as_maps(values, spatial):
    """Per-pixel rows reshaped to the cube's spatial shape (unchanged when ``spatial`` is None)."""
    if spatial is None:
        return values
    return values.reshape(*spatial, *values.shape[1:])


def check_endmembers(endmembers, n_bands, name="endmembers"):
    """Endmembers (K, n_bands), finite, K >= 1, linearly independent."""
    E = check_array(endmembers, name, ndim=2, copy=True)
    if E.shape[1] != n_bands:
        raise ValueError(f"{name} must have {n_bands} bands (columns) like X; got shape "
                         f"{E.shape}")
    if E.shape[0] > n_bands:
        raise ValueError(f"{name} has {E.shape[0]} spectra but X has only {n_bands} bands: "
                         "the endmembers cannot be linearly independent")
    s = np.linalg.svd(E, compute_uv=False)
    if s[0] == 0 or s[-1] <= 1e-10 * s[0]:
        cond = np.inf if s[-1] == 0 else s[0] / s[-1]
        raise ValueError(f"{name} must be linearly independent spectra; their condition "
                         f"number is {cond:.3g}")
    return E


def check_band_weights(band_weights, n_bands, name="band_weights"):
    """None (all ones) or a positive finite vector of length n_bands, returned as given."""
    if band_weights is None:
        return np.ones(n_bands)
    w = check_array(band_weights, name, ndim=1, nonnegative=True)
    if w.shape[0] != n_bands:
        raise ValueError(f"{name} must have one weight per band ({n_bands}); got {w.shape[0]}")
    if not (w > 0).any():
        raise ValueError(f"{name} must have a positive entry")
    return w


def check_n_endmembers(n_endmembers, n_pixels, n_bands, name="n_endmembers"):
    return check_int(n_endmembers, name, low=2, high=min(n_pixels, n_bands))


def check_loss(loss):
    return check_one_of(loss, "loss", ("l2", "l21"))


def check_tol(tol):
    return check_scalar(tol, "tol", low=0.0, include_low=False)


def check_max_iter(max_iter):
    return check_int(max_iter, "max_iter", low=1)
