"""Scikit-learn estimators of sparsenum.unmixing: robust unmixing and supervised FCLS.

Pixels are samples and bands are features, as in :class:`sklearn.decomposition.NMF`. Both
estimators also accept a cube (height, width, n_bands) wherever ``X`` goes and then return
maps (height, width, ...).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..base import IterativeEstimatorMixin
from ._validation import as_maps, check_endmembers, check_loss, check_pixels
from .fcls import fcls
from .rrlbs import rrlbs

__all__ = ["FCLSUnmixing", "RobustUnmixing"]


def _pixels(estimator, X, *, reset, learn=False):
    """Validate ``X`` (matrix or cube) through scikit-learn; returns pixels and the cube shape.
    ``learn``: at least two pixels and two bands (to fit endmembers)."""
    spatial = None
    if getattr(X, "ndim", None) == 3 or (isinstance(X, list) and np.ndim(X) == 3):
        X, spatial = check_pixels(X)
    try:
        X = validate_data(estimator, X, dtype=np.float64, reset=reset)
    except (TypeError, ValueError) as exc:  # scikit-learn's message, naming the argument
        raise type(exc)(f"X: {exc}") from None
    check_pixels(X)
    n, L = X.shape
    if not learn:
        return X, spatial
    if n < 2:
        raise ValueError(f"{type(estimator).__name__} needs at least 2 pixels; got "
                         f"n_samples = {n}")
    if L < 2:
        raise ValueError(f"{type(estimator).__name__} needs at least 2 bands; got "
                         f"n_features = {L}")
    return X, spatial


class RobustUnmixing(ClassNamePrefixFeaturesOutMixin, IterativeEstimatorMixin, TransformerMixin,
                     BaseEstimator):
    """Unsupervised unmixing robust to ruined bands: l2,1 fit over bands, guided l_p sparsity.

    A scikit-learn wrapper of :func:`~sparsenum.unmixing.rrlbs`: ``X ~= abundances @
    endmembers`` with nonnegative endmembers and abundances on the simplex.

    Parameters
    ----------
    n_endmembers : int, default=3
        Number of endmembers.
    p : float in (0, 1], default=0.5
        Exponent of the sparsity penalty.
    lam : "auto" or float >= 0, default="auto"
        Weight of the sparsity term (see :func:`~sparsenum.unmixing.rrlbs`).
    gamma : "auto" or float > 0, default="auto"
        Weight of the guidance map's ``||h||^2``.
    loss : {"l21", "l2"}, default="l21"
        Data fit over bands: robust l2,1 or squared (with ``guided=False``: L1/2-NMF).
    guided : bool, default=True
        Learn the guidance map.
    init : {"weighted_vca", "weighted_spa", "vca", "spa"}, default="weighted_vca"
        The start.
    max_iter : int, default=500
    tol : float, default=1e-6
        Relative decrease of the objective at which to stop.
    random_state : None, int, RandomState or Generator
    n_jobs : int, optional
        Threads over pixels.
    verbose : int, default=0

    Attributes
    ----------
    endmembers_ : ndarray of shape (n_endmembers, n_features)
    components_ : ndarray of shape (n_endmembers, n_features)
        The same array, under scikit-learn's name.
    abundances_ : ndarray of shape (n_samples, n_endmembers), or (height, width, n_endmembers)
        The learnt abundances of the training pixels (with the sparsity term).
    band_weights_ : ndarray of shape (n_features,)
        Learnt weight of each band (mean one); ruined bands get the smallest.
    guidance_ : ndarray of shape (n_samples,), or (height, width)
        The learnt guidance map.
    lam_, gamma_ : float
        The weights used.
    result_ : UnmixingResult
    n_iter_, converged_, history_
        From the solver.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.unmixing import RobustUnmixing, load_spectra, make_scene
    >>> scene = make_scene(load_spectra()[0][:3], shape=(16, 16), ruined_fraction=0.1,
    ...                    random_state=0)
    >>> model = RobustUnmixing(n_endmembers=3, random_state=0).fit(scene.X)
    >>> model.abundances_.shape, model.guidance_.shape
    ((16, 16, 3), (16, 16))
    >>> lowest = np.argsort(model.band_weights_)[:18]
    >>> bool(np.isin(scene.ruined, lowest).mean() >= 0.9)
    True
    """

    def __init__(self, n_endmembers=3, *, p=0.5, lam="auto", gamma="auto", loss="l21",
                 guided=True, init="weighted_vca", max_iter=500, tol=1e-6, random_state=None,
                 n_jobs=None, verbose=0):
        self.n_endmembers = n_endmembers
        self.p = p
        self.lam = lam
        self.gamma = gamma
        self.loss = loss
        self.guided = guided
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags

    def fit(self, X, y=None):
        """Learn endmembers, abundances, band weights and the guidance map from ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (height, width, n_features)
            Reflectances, pixels as rows.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        X, spatial = _pixels(self, X, reset=True, learn=True)
        result = rrlbs(X, self.n_endmembers, p=self.p, lam=self.lam, gamma=self.gamma,
                       loss=self.loss, guided=self.guided, init=self.init, tol=self.tol,
                       max_iter=self.max_iter, random_state=self.random_state,
                       n_jobs=self.n_jobs, verbose=self.verbose)
        self.result_ = result
        self.endmembers_ = result.endmembers
        self.components_ = result.endmembers
        self.abundances_ = as_maps(result.abundances, spatial)
        self.guidance_ = as_maps(result.guidance, spatial)
        self.band_weights_ = result.band_weights
        self.lam_ = result.lam
        self.gamma_ = result.gamma
        self._n_features_out = result.endmembers.shape[0]
        return self._record_convergence(result)

    def transform(self, X):
        """Abundances of (new) pixels with the learnt endmembers: FCLS weighted by the learnt
        band weights (exact, pixel by pixel; no sparsity term, which needs the guidance map).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (height, width, n_features)

        Returns
        -------
        abundances : ndarray of shape (n_samples, n_endmembers) or (height, width, n_endmembers)
        """
        check_is_fitted(self, "endmembers_")
        X, spatial = _pixels(self, X, reset=False)
        result = fcls(X, self.endmembers_, band_weights=self.band_weights_, n_jobs=self.n_jobs)
        return as_maps(result.abundances, spatial)

    def inverse_transform(self, X):
        """Spectra ``abundances @ endmembers_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_endmembers) or (height, width, n_endmembers)

        Returns
        -------
        spectra : ndarray of shape (n_samples, n_features) or (height, width, n_features)
        """
        check_is_fitted(self, "endmembers_")
        return _inverse(X, self.endmembers_)


class FCLSUnmixing(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Abundances of fixed endmembers (supervised unmixing), a stateless transformer.

    Like scikit-learn's :class:`~sklearn.decomposition.SparseCoder`: the endmembers are a
    parameter, ``fit`` only validates, ``transform`` runs :func:`~sparsenum.unmixing.fcls`.

    Parameters
    ----------
    endmembers : array-like of shape (n_endmembers, n_features)
        Linearly independent endmember spectra.
    loss : {"l2", "l21"}, default="l2"
        ``"l21"`` fits the pixels passed to ``transform`` jointly (robust to ruined bands);
        ``"l2"`` solves every pixel on its own.
    n_jobs : int, optional
        Threads over pixels.

    Attributes
    ----------
    n_features_in_ : int
    n_components_ : int
        Number of endmembers.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.unmixing import FCLSUnmixing
    >>> E = np.array([[1.0, 0.2, 0.1], [0.1, 0.9, 0.3]])
    >>> FCLSUnmixing(E).fit_transform([[0.55, 0.55, 0.2]]).round(3)
    array([[0.5, 0.5]])
    """

    def __init__(self, endmembers, *, loss="l2", n_jobs=None):
        self.endmembers = endmembers
        self.loss = loss
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.positive_only = True
        return tags

    def _endmembers(self, n_features):
        check_loss(self.loss)
        return check_endmembers(self.endmembers, n_features)

    def fit(self, X, y=None):
        """Validate the parameters and ``X``; nothing is learnt.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (height, width, n_features)
        y : None
            Ignored.

        Returns
        -------
        self
        """
        X, _ = _pixels(self, X, reset=True)
        self._endmembers(X.shape[1])
        return self

    @property
    def n_components_(self):
        return np.asarray(self.endmembers).shape[0]

    @property
    def _n_features_out(self):
        return self.n_components_

    def transform(self, X):
        """Abundances of the pixels of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (height, width, n_features)

        Returns
        -------
        abundances : ndarray of shape (n_samples, n_endmembers) or (height, width, n_endmembers)
        """
        X, spatial = _pixels(self, X, reset=False)
        E = self._endmembers(X.shape[1])
        result = fcls(X, E, loss=self.loss, n_jobs=self.n_jobs)
        return as_maps(result.abundances, spatial)

    def inverse_transform(self, X):
        """Spectra ``abundances @ endmembers``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_endmembers) or (height, width, n_endmembers)

        Returns
        -------
        spectra : ndarray of shape (n_samples, n_features) or (height, width, n_features)
        """
        E = np.asarray(self.endmembers, dtype=np.float64)
        return _inverse(X, E)


def _inverse(A, E):
    from sparsenum.utils import check_array

    A = check_array(A, "X", ndim=(2, 3))
    if A.shape[-1] != E.shape[0]:
        raise ValueError(f"X must have one column per endmember ({E.shape[0]}); got shape "
                         f"{A.shape}")
    return A @ E
