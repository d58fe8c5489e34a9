"""scikit-learn regressors over sparse Bayesian learning and Turbo-VBI, in the mould of
:class:`sklearn.linear_model.ARDRegression`."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..base import IterativeEstimatorMixin
from ..utils import check_bool, check_int, check_one_of, check_scalar
from ._posterior import blas_threads_for
from ._validation import check_prior, check_support_shape, check_transition, check_verbose
from .sbl import sparse_bayesian_learning
from .turbo_vbi import TUNING as TURBO_TUNING
from .turbo_vbi import turbo_vbi

__all__ = ["SBLRegressor", "TurboVBIRegressor"]


def _posterior_covariance(X, prior_var, noise_var, support):
    """Posterior covariance of the coefficients in ``support`` (the others are 0 or frozen)."""
    Xs = X[:, support]
    gamma = prior_var[support]
    k = support.size
    if k == 0:
        return np.zeros((0, 0))
    if k <= X.shape[0]:
        precision = Xs.T @ Xs / noise_var
        precision[np.diag_indices(k)] += 1.0 / gamma
        return np.linalg.inv(precision)
    C = (Xs * gamma) @ Xs.T
    C[np.diag_indices_from(C)] += noise_var
    GX = (Xs * gamma).T
    return np.diag(gamma) - GX @ np.linalg.solve(C, GX.T)


_NO_Y = object()


def _validated(estimator, X, y=_NO_Y, **kwargs):
    """scikit-learn's ``validate_data``, with errors that say which arguments were checked."""
    try:
        if y is _NO_Y:
            return validate_data(estimator, X, dtype=np.float64, **kwargs)
        return validate_data(estimator, X, y, dtype=np.float64, y_numeric=True,
                             ensure_min_samples=2, **kwargs)
    except (ValueError, TypeError) as exc:
        what = "X" if y is _NO_Y else "X or y"
        raise type(exc)(f"invalid {what}: {exc}") from exc


class _BayesRegressor(IterativeEstimatorMixin, RegressorMixin, BaseEstimator):
    def _center(self, X, y):
        if self.fit_intercept:
            self.X_offset_ = X.mean(axis=0)
            y_offset = float(y.mean())
        else:
            self.X_offset_ = np.zeros(X.shape[1])
            y_offset = 0.0
        return X - self.X_offset_, y - y_offset, y_offset

    def _solve(self, solver, Xc, yc, **params):
        """Run ``solver``; a constant target with an intercept is no news worth a warning."""
        with warnings.catch_warnings():
            if self.fit_intercept:
                warnings.filterwarnings("ignore", message="y is all zeros", category=UserWarning)
            with blas_threads_for(*Xc.shape):
                return solver(Xc, yc, **params)

    def _finish(self, X, result, y_offset, covariance_index):
        self.coef_ = np.asarray(result.coef, dtype=float)
        self.intercept_ = float(y_offset - self.X_offset_ @ self.coef_) if self.fit_intercept \
            else 0.0
        self.noise_var_ = float(result.noise_var)
        self.prior_var_ = result.prior_var
        self.posterior_var_ = result.posterior_var
        self.support_ = result.support
        self.result_ = result
        # predictive spread: the joint posterior of the coefficients the last E-step solved,
        # plus the (independent, prior) variances of the others
        self._cov_index_ = covariance_index
        self._extra_var_ = result.prior_var.copy()
        self._extra_var_[covariance_index] = 0.0
        if result.noise_var > 0:
            self.sigma_ = _posterior_covariance(X, result.prior_var, result.noise_var,
                                                covariance_index)
        else:  # y was constant: nothing was learned
            self.sigma_ = np.zeros((0, 0))
            self._cov_index_ = np.zeros(0, np.int64)
        return self._record_convergence(result)

    def predict(self, X, return_std=False):
        """Posterior predictive mean, and its standard deviation when ``return_std``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the standard deviation of the predictive distribution (posterior
            uncertainty of the coefficients plus the noise).

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
        y_std : ndarray of shape (n_samples,)
            Only when ``return_std``.
        """
        check_is_fitted(self, "coef_")
        return_std = check_bool(return_std, "return_std")
        X = _validated(self, X, reset=False)
        y_mean = X @ self.coef_ + self.intercept_
        if not return_std:
            return y_mean
        Xc = X - self.X_offset_
        Xs = Xc[:, self._cov_index_]
        spread = np.einsum("ij,jk,ik->i", Xs, self.sigma_, Xs) + Xc**2 @ self._extra_var_
        return y_mean, np.sqrt(np.maximum(spread, 0.0) + self.noise_var_)


class SBLRegressor(_BayesRegressor):
    """Sparse Bayesian linear regression: classical SBL (ARD) or pattern-coupled SBL.

    The same model as :class:`sklearn.linear_model.ARDRegression` (a Gaussian prior with a
    learned variance per coefficient, a learned noise variance), solved by
    :func:`~sparsenum.bayes.sparse_bayesian_learning`; with ``coupling > 0``, neighbouring
    features (in column order) share evidence, which favours clustered supports.

    Parameters
    ----------
    coupling : float, default=0.0
        Pattern coupling between features ``j - 1, j, j + 1`` (0: classical SBL).
    update : {"mackay", "em"}, default="mackay"
        Variance update (``coupling > 0`` needs ``"em"``); MacKay's is ``ARDRegression``'s.
    fit_intercept : bool, default=True
        Centre ``X`` and ``y`` and fit an intercept.
    noise_var : float, optional
        Fixed noise variance; learned when ``None``.
    precision_prior, noise_prior : (float, float), default=(1e-6, 1e-6)
        Gamma hyperpriors (shape, rate) on the coefficient and noise precisions, as
        ``ARDRegression``'s ``lambda_1, lambda_2`` and ``alpha_1, alpha_2``.
    prune : float, default=1e-4
        Prior variance below which a coefficient is dropped (``ARDRegression``'s
        ``threshold_lambda=1e4`` is ``1e-4``); ``None``: below 1e-8 times the largest.
    tol : float, default=1e-6
        Relative change of the coefficients at which to stop.
    max_iter : int, default=300
    verbose : int or bool, default=0

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Posterior mean of the coefficients.
    intercept_ : float
    noise_var_ : float
        Learned (or given) noise variance.
    prior_var_, posterior_var_ : ndarray of shape (n_features,)
        Prior and posterior variances of the coefficients (0 for dropped ones).
    support_ : ndarray of int
        Features kept.
    sigma_ : ndarray of shape (n_kept, n_kept)
        Posterior covariance of the kept coefficients (used by ``predict(return_std=True)``).
    result_ : SBLResult
    n_iter_, converged_, history_
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bayes import SBLRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 20))
    >>> y = 3.0 * X[:, 2] - 2.0 * X[:, 7] + 1.0 + 0.1 * rng.standard_normal(100)
    >>> reg = SBLRegressor().fit(X, y)
    >>> np.round(reg.coef_[[2, 7]], 2).tolist(), round(reg.intercept_, 2)
    ([3.0, -2.0], 1.0)
    >>> from sklearn.linear_model import ARDRegression  # the same model and updates
    >>> ard = ARDRegression().fit(X, y)
    >>> bool(np.allclose(reg.coef_, ard.coef_, atol=1e-4))
    True
    >>> mean, std = reg.predict(X[:2], return_std=True)
    >>> bool(np.all(std > 0.09))
    True
    """

    def __init__(self, coupling=0.0, update="mackay", fit_intercept=True, noise_var=None,
                 precision_prior=(1e-6, 1e-6), noise_prior=(1e-6, 1e-6), prune=1e-4, tol=1e-6,
                 max_iter=300, verbose=0):
        self.coupling = coupling
        self.update = update
        self.fit_intercept = fit_intercept
        self.noise_var = noise_var
        self.precision_prior = precision_prior
        self.noise_prior = noise_prior
        self.prune = prune
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def fit(self, X, y):
        """Fit the posterior of the coefficients; returns self."""
        check_scalar(self.coupling, "coupling", low=0.0)
        check_one_of(self.update, "update", ("mackay", "em"))
        check_bool(self.fit_intercept, "fit_intercept")
        check_scalar(self.noise_var, "noise_var", low=0.0, include_low=False, allow_none=True)
        check_prior(self.precision_prior, "precision_prior")
        check_prior(self.noise_prior, "noise_prior")
        check_scalar(self.prune, "prune", low=0.0, allow_none=True)
        check_scalar(self.tol, "tol", low=0.0)
        check_int(self.max_iter, "max_iter", low=1)
        check_verbose(self.verbose)
        X, y = _validated(self, X, y)
        Xc, yc, y_offset = self._center(X, y)
        result = self._solve(sparse_bayesian_learning, Xc, yc, coupling=self.coupling,
                             update=self.update, noise_var=self.noise_var,
                             precision_prior=self.precision_prior,
                             noise_prior=self.noise_prior, prune=self.prune, tol=self.tol,
                             max_iter=self.max_iter, verbose=self.verbose)
        return self._finish(Xc, result, y_offset, result.support)


class TurboVBIRegressor(_BayesRegressor):
    """Sparse linear regression whose support is clustered along the features (Turbo-VBI).

    The coefficients follow a spike-and-slab prior whose support is a Markov chain over the
    features in column order (``support="chain"``), a Markov random field on a grid of
    features (``"mrf"`` with ``shape=(H, W)``), or independent (``"iid"``); fitted by
    :func:`~sparsenum.bayes.turbo_vbi`.

    Parameters
    ----------
    support : {"chain", "mrf", "iid"}, default="chain"
    shape : (int, int), optional
        Grid of the features for ``support="mrf"`` (C order).
    fit_intercept : bool, default=True
        Centre ``X`` and ``y`` and fit an intercept.
    transition : (float, float), optional
        ``(p01, p10)`` of the support; learned when ``None``.
    noise_var : float, optional
        Fixed noise variance; learned when ``None``.
    tol : float, default=1e-6
    max_iter : int, default=200
    random_state : None, int or numpy.random.Generator
    verbose : int or bool, default=0

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Posterior mean of the coefficients.
    intercept_ : float
    noise_var_ : float
    support_proba_ : ndarray of shape (n_features,)
        Posterior probability that each coefficient is active.
    support_ : ndarray of int
        Features with ``support_proba_ > 0.5``.
    transition_ : ndarray of shape (2,)
        Learned (or given) ``(p01, p10)``.
    prior_var_, posterior_var_ : ndarray of shape (n_features,)
    sigma_ : ndarray
        Posterior covariance of the coefficients solved in the last E-step.
    result_ : TurboVBIResult
    n_iter_, converged_, history_
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bayes import TurboVBIRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 100))
    >>> coef = np.zeros(100); coef[40:46] = [1.0, -1.5, 2.0, 1.0, -0.5, 1.2]
    >>> y = X @ coef + 0.05 * rng.standard_normal(60)
    >>> reg = TurboVBIRegressor(fit_intercept=False, random_state=0).fit(X, y)
    >>> reg.support_.tolist()
    [40, 41, 42, 43, 44, 45]
    >>> bool(np.abs(reg.coef_ - coef).max() < 0.05)
    True
    """

    def __init__(self, support="chain", shape=None, fit_intercept=True, transition=None,
                 noise_var=None, tol=1e-6, max_iter=200, random_state=None, verbose=0):
        self.support = support
        self.shape = shape
        self.fit_intercept = fit_intercept
        self.transition = transition
        self.noise_var = noise_var
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y):
        """Fit the posterior of the coefficients and of their support; returns self."""
        check_one_of(self.support, "support", ("chain", "mrf", "iid"))
        check_bool(self.fit_intercept, "fit_intercept")
        check_transition(self.transition)
        check_scalar(self.noise_var, "noise_var", low=0.0, include_low=False, allow_none=True)
        check_scalar(self.tol, "tol", low=0.0)
        check_int(self.max_iter, "max_iter", low=1)
        check_verbose(self.verbose)
        X, y = _validated(self, X, y)
        check_support_shape(self.support, self.shape, X.shape[1])
        Xc, yc, y_offset = self._center(X, y)
        result = self._solve(turbo_vbi, Xc, yc, support=self.support, shape=self.shape,
                             transition=self.transition, noise_var=self.noise_var,
                             tol=self.tol, max_iter=self.max_iter,
                             random_state=self.random_state, verbose=self.verbose)
        self.support_proba_ = result.support_proba
        self.transition_ = result.transition
        # the coefficients the last E-step solved (see turbo_vbi's Notes)
        solved = np.flatnonzero(result.prior_var * np.sum(Xc**2, axis=0)
                                >= TURBO_TUNING.freeze * result.noise_var)
        return self._finish(Xc, result, y_offset, solved)
