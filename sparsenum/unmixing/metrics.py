"""Accuracy of an unmixing: spectral angles after matching endmembers, abundance RMSE."""

from __future__ import annotations

import numpy as np
import scipy.optimize

from sparsenum.utils import check_array

__all__ = ["abundance_rmse", "match_endmembers", "spectral_angles"]


def spectral_angles(reference, estimate):
    """Spectral angle (radians) between every reference and every estimated spectrum.

    Parameters
    ----------
    reference : array-like of shape (K, n_bands)
    estimate : array-like of shape (J, n_bands)

    Returns
    -------
    angles : ndarray of shape (K, J)
        ``arccos(<r, e> / (||r|| ||e||))``; a zero spectrum is at ``pi / 2`` from every other.

    Examples
    --------
    >>> from sparsenum.unmixing import spectral_angles
    >>> spectral_angles([[1.0, 0.0]], [[1.0, 1.0], [0.0, 2.0]]).round(4)
    array([[0.7854, 1.5708]])
    """
    R = check_array(reference, "reference", ndim=2)
    E = check_array(estimate, "estimate", ndim=2)
    if R.shape[1] != E.shape[1]:
        raise ValueError(f"reference and estimate must have the same number of bands; got "
                         f"{R.shape[1]} and {E.shape[1]}")
    nr = np.linalg.norm(R, axis=1)
    ne = np.linalg.norm(E, axis=1)
    denom = np.outer(nr, ne)
    cos = np.divide(R @ E.T, denom, out=np.zeros((R.shape[0], E.shape[0])), where=denom > 0)
    return np.arccos(np.clip(cos, -1.0, 1.0))


def match_endmembers(reference, estimate):
    """Match estimated endmembers to reference ones by least total spectral angle (Hungarian).

    Parameters
    ----------
    reference : array-like of shape (K, n_bands)
    estimate : array-like of shape (J, n_bands), J >= K

    Returns
    -------
    order : ndarray of shape (K,)
        ``estimate[order[k]]`` is matched to ``reference[k]``.
    angles : ndarray of shape (K,)
        The spectral angle (radians) of each matched pair; their mean is the usual SAD score.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.unmixing import match_endmembers
    >>> ref = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    >>> order, angles = match_endmembers(ref, ref[::-1] * 3.0)
    >>> order.tolist(), angles.round(6).tolist()
    ([1, 0], [0.0, 0.0])
    """
    angles = spectral_angles(reference, estimate)
    if angles.shape[1] < angles.shape[0]:
        raise ValueError(f"estimate must have at least as many spectra as reference "
                         f"({angles.shape[0]}); got {angles.shape[1]}")
    rows, cols = scipy.optimize.linear_sum_assignment(angles)
    order = np.empty(angles.shape[0], dtype=np.int64)
    order[rows] = cols
    return order, angles[np.arange(angles.shape[0]), order]


def abundance_rmse(reference, estimate, order=None):
    """Root mean squared error between two abundance arrays, after reordering the estimate.

    Parameters
    ----------
    reference : array-like of shape (n_pixels, K) or (height, width, K)
    estimate : array-like of the same shape
    order : array-like of shape (K,), optional
        Column ``order[k]`` of ``estimate`` is compared with column ``k`` of ``reference``
        (from :func:`match_endmembers`); default: the identity.

    Returns
    -------
    rmse : float
        ``sqrt(mean((reference - estimate[..., order])**2))`` over all pixels and endmembers.

    Examples
    --------
    >>> from sparsenum.unmixing import abundance_rmse
    >>> abundance_rmse([[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]], order=[1, 0])
    0.0
    """
    R = check_array(reference, "reference", ndim=(2, 3))
    E = check_array(estimate, "estimate", ndim=(2, 3))
    R = R.reshape(-1, R.shape[-1])
    E = E.reshape(-1, E.shape[-1])
    if order is not None:
        order = np.asarray(order)
        if order.shape != (R.shape[1],) or order.dtype.kind not in "iu" or \
                (order.size and (order.min() < 0 or order.max() >= E.shape[1])) or \
                np.unique(order).size != order.size:
            raise ValueError(f"order must hold {R.shape[1]} distinct column indices of "
                             f"estimate; got {order!r}")
        E = E[:, order]
    if R.shape != E.shape:
        raise ValueError(f"reference and estimate must have the same shape; got {R.shape} and "
                         f"{E.shape}")
    return float(np.sqrt(np.mean((R - E) ** 2)))
