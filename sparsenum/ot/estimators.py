"""Scikit-learn estimators mapping source samples onto target samples by optimal transport.

The target samples are a fit parameter: ``fit(X, y=None, *, X_target=None)``. ``X`` are the
source samples; ``X_target`` defaults to ``X`` itself (the identity problem, which is what
scikit-learn's generic checks exercise). ``transform`` maps samples by barycentric projection
``x_i -> sum_j P_ij y_j / sum_j P_ij``; samples not seen in ``fit`` move by the displacement of
their nearest fitted source sample (as POT's ``ot.da`` classes do).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..base import IterativeEstimatorMixin
from ..utils import check_array, check_int, check_one_of, check_scalar
from .sinkhorn import sinkhorn
from .sns import sinkhorn_newton_sparse
from .sparse_constrained import sparsity_constrained_ot

__all__ = ["EntropicTransport", "SparseTransport"]

_METRICS = ("sqeuclidean", "euclidean", "cityblock", "cosine")


def _validate_X(estimator, X, *, reset):
    """scikit-learn's validation of ``X`` (its conventions: object arrays of numbers accepted,
    its messages kept), with the argument named in every error."""
    try:
        return validate_data(estimator, X, dtype=np.float64, reset=reset)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"invalid X: {exc}") from exc


def _distances(X, Y, metric, names):
    """``cdist(X, Y, metric)``, refusing samples whose distances overflow float64."""
    with np.errstate(over="ignore", invalid="ignore"):
        D = cdist(X, Y, metric=metric)
    if not np.all(np.isfinite(D)):
        largest = max(float(np.abs(X).max()), float(np.abs(Y).max()))
        raise ValueError(
            f"the {metric} distances between the samples of {names} overflow float64 (largest "
            f"|entry| {largest:.3g}): rescale {names}")
    return D


class _TransportBase(IterativeEstimatorMixin, TransformerMixin, BaseEstimator):
    def _solve(self, a, b, C):  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    def _check_params(self):
        """Every parameter, before any work (the solver checks them again, in its terms)."""
        check_scalar(self.reg, "reg", low=0.0, include_low=False)
        check_one_of(self.metric, "metric", _METRICS)
        check_scalar(self.tol, "tol", low=0.0, include_low=False)
        check_int(self.max_iter, "max_iter", low=1)
        self._check_own_params()

    def _check_own_params(self):  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    def fit(self, X, y=None, *, X_target=None):
        """Compute the transport plan from ``X`` (uniform weights) to ``X_target``.

        Parameters
        ----------
        X : array-like of shape (n_source, n_features)
            Source samples.
        y : None
            Ignored.
        X_target : array-like of shape (n_target, n_features), optional
            Target samples; defaults to ``X``.

        Returns
        -------
        self
        """
        self._check_params()
        X = _validate_X(self, X, reset=True)
        Xt = X if X_target is None else check_array(X_target, "X_target", ndim=2)
        if Xt.shape[1] != X.shape[1]:
            raise ValueError(f"X_target must have {X.shape[1]} features like X; "
                             f"got {Xt.shape[1]}")
        C = _distances(X, Xt, self.metric, "X" if X_target is None else "X and X_target")
        scale = C.max()
        self.cost_scale_ = float(scale) if scale > 0 else 1.0
        C = C / self.cost_scale_
        a = np.full(X.shape[0], 1.0 / X.shape[0])
        b = np.full(Xt.shape[0], 1.0 / Xt.shape[0])
        result = self._solve(a, b, C)
        self.plan_ = result.plan
        self.cost_ = result.cost * self.cost_scale_
        self.result_ = result
        self.X_source_ = X.copy()
        mass = self.plan_.sum(axis=1, keepdims=True)
        self.X_mapped_ = (self.plan_ @ Xt) / np.where(mass > 0, mass, 1.0)
        return self._record_convergence(result)

    def transform(self, X):
        """Barycentric projection of ``X`` onto the target samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "plan_")
        X = _validate_X(self, X, reset=False)
        nearest = np.argmin(_distances(X, self.X_source_, "sqeuclidean", "X"), axis=1)
        return X + (self.X_mapped_[nearest] - self.X_source_[nearest])


class EntropicTransport(_TransportBase):
    """Entropic OT map from source to target samples (Sinkhorn or Sinkhorn-Newton-Sparse).

    Parameters
    ----------
    reg : float, default=0.05
        Entropic regularisation, relative to the largest pairwise cost (costs are divided by
        their maximum, stored as ``cost_scale_``).
    solver : {"sns", "sinkhorn"}, default="sns"
        :func:`~sparsenum.ot.sinkhorn_newton_sparse` or :func:`~sparsenum.ot.sinkhorn`.
    metric : {"sqeuclidean", "euclidean", "cityblock", "cosine"}, default="sqeuclidean"
        Ground cost between samples (``scipy.spatial.distance.cdist``).
    tol : float, default=1e-9
        Marginal violation at which the solver stops.
    max_iter : int, default=10_000
        Maximum solver iterations.

    Attributes
    ----------
    plan_ : ndarray of shape (n_source, n_target)
    cost_ : float
        Transport cost ``<C, plan_>`` in the units of ``metric``.
    cost_scale_ : float
    X_mapped_ : ndarray of shape (n_source, n_features)
        Barycentric images of the fitted source samples.
    result_ : TransportResult
    n_iter_, converged_, history_
        From the solver.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.ot import EntropicTransport
    >>> rng = np.random.default_rng(0)
    >>> Xs, Xt = rng.normal(size=(30, 2)), rng.normal(size=(40, 2)) + 5.0
    >>> model = EntropicTransport(reg=0.01).fit(Xs, X_target=Xt)
    >>> model.plan_.shape, bool(np.abs(model.transform(Xs).mean(0) - Xt.mean(0)).max() < 1e-6)
    ((30, 40), True)
    """

    def __init__(self, reg=0.05, *, solver="sns", metric="sqeuclidean", tol=1e-9,
                 max_iter=10_000):
        self.reg = reg
        self.solver = solver
        self.metric = metric
        self.tol = tol
        self.max_iter = max_iter

    def _check_own_params(self):
        check_one_of(self.solver, "solver", ("sns", "sinkhorn"))

    def _solve(self, a, b, C):
        fn = sinkhorn_newton_sparse if self.solver == "sns" else sinkhorn
        return fn(a, b, C, self.reg, tol=self.tol, max_iter=self.max_iter)


class SparseTransport(_TransportBase):
    """Sparsity-constrained OT map: every target sample receives from at most ``max_nz`` sources.

    Parameters
    ----------
    reg : float, default=0.1
        Quadratic regularisation, relative to the largest pairwise cost.
    max_nz : int, default=5
        Maximum nonzeros per column of the plan (capped at the number of source samples).
    formulation : {"semi_dual", "dual"}, default="semi_dual"
    metric : {"sqeuclidean", "euclidean", "cityblock", "cosine"}, default="sqeuclidean"
    tol : float, default=1e-9
    max_iter : int, default=1000

    Attributes
    ----------
    plan_, cost_, cost_scale_, X_mapped_, result_, n_iter_, converged_, history_,
    n_features_in_
        As in :class:`EntropicTransport`.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.ot import SparseTransport
    >>> rng = np.random.default_rng(0)
    >>> Xs, Xt = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    >>> model = SparseTransport(reg=0.5, max_nz=3).fit(Xs, X_target=Xt)
    >>> int((model.plan_ > 0).sum(axis=0).max()) <= 3
    True
    """

    def __init__(self, reg=0.1, max_nz=5, *, formulation="semi_dual", metric="sqeuclidean",
                 tol=1e-9, max_iter=1000):
        self.reg = reg
        self.max_nz = max_nz
        self.formulation = formulation
        self.metric = metric
        self.tol = tol
        self.max_iter = max_iter

    def _check_own_params(self):
        check_int(self.max_nz, "max_nz", low=1)
        check_one_of(self.formulation, "formulation", ("semi_dual", "dual"))

    def _solve(self, a, b, C):
        k = check_int(self.max_nz, "max_nz", low=1)
        return sparsity_constrained_ot(a, b, C, self.reg, min(k, a.shape[0]),
                                       formulation=self.formulation, tol=self.tol,
                                       max_iter=self.max_iter)
