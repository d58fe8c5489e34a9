"""scikit-learn regressor over the LDP sparse regression protocols."""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..base import IterativeEstimatorMixin
from ..utils import check_bool, check_int, check_n_jobs, check_one_of, check_random_state
from ._validation import check_bound, check_delta, check_epsilon
from .iht import DEFAULTS, default_rounds, run_iht
from .nldp import nldp_reports, run_nldp

__all__ = ["LDPSparseRegression"]


class LDPSparseRegression(IterativeEstimatorMixin, RegressorMixin, BaseEstimator):
    """Sparse linear regression in which every training sample is a user protected by LDP.

    Each row of ``X`` (with its target) is one user's record; ``fit`` simulates a protocol in
    which users only release randomised messages, and every user's messages together are
    ``(epsilon, delta)``-locally differentially private. Features are clipped to
    ``[-feature_bound, feature_bound]`` and targets to ``[-target_bound, target_bound]`` by the
    users themselves (the defaults suit standardised data: standardise with public knowledge,
    since estimating the scales from the private data would spend budget). Hyper-parameters
    must come from public knowledge: tuning them on the private data (e.g. by cross-validation)
    spends privacy, so the defaults are meant to work untuned.

    Parameters
    ----------
    epsilon : float, default=1.0
        Each user's privacy budget, > 0.
    n_nonzero : int, default=5
        Nonzero coefficients at most (all features when there are fewer).
    method : {"iht", "nldp"}, default="iht"
        ``"iht"``: the sequentially interactive LDP-IHT (:func:`~sparsenum.privacy.ldp_iht`),
        pure epsilon-LDP, accurate from about 10^5 users. ``"nldp"``: one message per user
        (:func:`~sparsenum.privacy.nldp_reports`, Gaussian mechanism), needs far more users.
    delta : float, optional
        For ``"nldp"``: each user's delta, in (0, 1); default 1e-6. Must be None for ``"iht"``.
    feature_bound, target_bound : float, default=3.0
        Public clipping bounds of the features and of the target.
    coef_bound : float, default=1.0
        Public bound on the l2 norm of the coefficients (``"iht"`` projects onto it).
    fit_intercept : bool, default=False
        Learn an intercept privately, as the coefficient of a constant feature that is never
        thresholded (no extra budget: it rides in the same messages).
    random_state : None, int or RandomState
        Seeds the batches and the users' random streams.
    n_jobs : int, optional
        Threads; results do not depend on it.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    support_ : ndarray of int
        Indices of the nonzero coefficients.
    epsilon_, delta_ : float
        The per-user budget spent (``delta_ = 0`` for ``"iht"``).
    budget_ : str
        How it was spent.
    n_iter_ : int
        Rounds of the protocol.
    converged_, history_
        From the solver.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When ``X`` has string feature names.

    References
    ----------
    Zhu, L., Ding, M., Aggarwal, V., Xu, J. and Wang, D. (2024). Improved analysis of sparse
    linear regression in local differential privacy model. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.privacy import LDPSparseRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200_000, 10)); y = X @ np.r_[0.8, -0.6, np.zeros(8)]
    >>> reg = LDPSparseRegression(epsilon=4.0, n_nonzero=2, random_state=0).fit(X, y)
    >>> reg.support_, reg.epsilon_, reg.delta_
    (array([0, 1]), 4.0, 0.0)
    >>> round(reg.score(X, y), 1)
    1.0
    """

    def __init__(self, epsilon=1.0, n_nonzero=5, *, method="iht", delta=None, feature_bound=3.0,
                 target_bound=3.0, coef_bound=1.0, fit_intercept=False, random_state=None,
                 n_jobs=None):
        self.epsilon = epsilon
        self.n_nonzero = n_nonzero
        self.method = method
        self.delta = delta
        self.feature_bound = feature_bound
        self.target_bound = target_bound
        self.coef_bound = coef_bound
        self.fit_intercept = fit_intercept
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # local privacy noise dominates on the small samples of the common checks
        tags.regressor_tags.poor_score = True
        return tags

    def fit(self, X, y):
        """Simulate the protocol on the users' records ``(X, y)``; returns self."""
        epsilon = check_epsilon(self.epsilon)
        k = check_int(self.n_nonzero, "n_nonzero", low=1)
        method = check_one_of(self.method, "method", ("iht", "nldp"))
        if method == "iht" and self.delta is not None:
            raise ValueError(f"delta must be None for method='iht' (pure epsilon-LDP); got "
                             f"{self.delta!r}")
        delta = check_delta(self.delta) if self.delta is not None else None
        feature_bound = check_bound(self.feature_bound, "feature_bound")
        target_bound = check_bound(self.target_bound, "target_bound")
        coef_bound = check_bound(self.coef_bound, "coef_bound")
        fit_intercept = check_bool(self.fit_intercept, "fit_intercept")
        check_n_jobs(self.n_jobs)
        check_random_state(self.random_state)  # validates; draws nothing from it
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        n, d = X.shape
        k = min(k, d)
        design = np.clip(X, -feature_bound, feature_bound)
        target = np.clip(y, -target_bound, target_bound)
        n_free = 1 if fit_intercept else 0
        if fit_intercept:
            design = np.column_stack([design, np.ones(n)])
        if method == "iht":
            width = design.shape[1]
            result = run_iht(design, target, epsilon, k, default_rounds(n), DEFAULTS.step,
                             DEFAULTS.grad_scale * math.sqrt(width), coef_bound,
                             min(8 * k, d), self.random_state, self.n_jobs, None, 0,
                             n_free=n_free)
        else:
            reports = nldp_reports(design, target, epsilon, delta=delta,
                                   feature_bound=feature_bound, target_bound=target_bound,
                                   random_state=self.random_state, n_jobs=self.n_jobs)
            result = run_nldp(reports, k, None, None, None, 1, 1e-10, n_free=n_free)
        self.coef_ = result.coef[:d].copy()
        self.intercept_ = float(result.coef[d]) if fit_intercept else 0.0
        self.support_ = result.support
        self.epsilon_ = result.epsilon
        self.delta_ = result.delta
        self.budget_ = result.budget
        return self._record_convergence(result)

    def predict(self, X):
        """``clip(X, feature_bound) @ coef_ + intercept_`` (features clipped as in training)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        bound = check_bound(self.feature_bound, "feature_bound")
        return np.clip(X, -bound, bound) @ self.coef_ + self.intercept_
