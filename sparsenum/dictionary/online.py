"""The online orthogonal dictionary learner: an estimator that holds its state between
mini-batches, so ``partial_fit`` can continue where the last call stopped (the Frank-Wolfe step
itself is in ``_frank_wolfe.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from ..base import ConvergenceHistory, IterativeEstimatorMixin
from ..utils import check_int, check_random_state, check_scalar
from ..utils.progress import Progress, check_verbose
from ._frank_wolfe import frank_wolfe_step, stream_exponent
from ._validation import check_codes, validate_named

__all__ = ["OnlineOrthogonalDictionary"]


class OnlineOrthogonalDictionary(IterativeEstimatorMixin, TransformerMixin, BaseEstimator):
    r"""Orthogonal dictionary learned from a stream by online Frank-Wolfe (Xue & Lau, 2021).

    For signals :math:`y = D x` with an orthogonal :math:`D` and sparse :math:`x`, the
    dictionary maximises the spikiness :math:`f(D) = \mathbb{E}\,\|D^T y\|_4^4` over the
    orthogonal matrices. The constraint is relaxed to their convex hull, the spectral-norm ball
    :math:`\{\|D\|_2 \le 1\}`, whose maximisers of a convex :math:`f` are orthogonal. Each
    mini-batch :math:`Y_t` updates a running gradient estimate and takes one Frank-Wolfe step:

    .. math::
        G_t = (1-\rho_t) G_{t-1} + \rho_t \nabla f(D_{t-1}; Y_t), \quad
        S_t = U V^T \ (G_t = U\Sigma V^T), \quad
        D_t = (1-\gamma_t) D_{t-1} + \gamma_t S_t,

    with :math:`\nabla f(D; Y) = 4 Y^T (Y D)^{\circ 3} / |Y|`, :math:`\rho_t = t^{-1/2}` and
    :math:`\gamma_t = t^{-3/4}`. Every iterate is a convex combination of points of the ball,
    so it stays in the ball; no sample is stored.

    Parameters
    ----------
    n_components : int, optional
        Number of atoms, at most ``n_features`` (then ``D`` has orthonormal columns);
        default ``n_features``.
    batch_size : int, default=64
        Samples per Frank-Wolfe step in :meth:`fit`.
    max_iter : int, default=10
        Passes over the data in :meth:`fit`.
    tol : float, default=1e-3
        :meth:`fit` stops after a pass whose last Frank-Wolfe gap
        :math:`\langle G_t, S_t - D_{t-1}\rangle`, relative to
        :math:`\langle G_t, S_t\rangle`, is below ``tol``. The gap falls slowly (like the
        step :math:`\gamma_t`); at 1e-3 the atoms have typically converged to within a cosine
        of 0.998.
    random_state : None, int, RandomState or Generator
        Initial dictionary (random orthonormal) and the shuffling in :meth:`fit`.
    verbose : int or bool, default=0
        ``1``: a line when :meth:`fit` ends; ``2``: a line per pass.

    Attributes
    ----------
    dictionary_ : ndarray of shape (n_features, n_components)
        Current dictionary, atoms as columns: signals are ``x @ dictionary_.T``. Spectral
        norm at most 1.
    components_ : ndarray of shape (n_components, n_features)
        ``dictionary_.T``, atoms as rows (scikit-learn's orientation).
    n_steps_ : int
        Frank-Wolfe steps taken so far (one per mini-batch).
    n_iter_ : int
        Passes over the data in the last :meth:`fit` (as scikit-learn's
        ``MiniBatchDictionaryLearning``); :meth:`partial_fit` counts one per call.
    converged_ : bool
        Whether the last :meth:`fit` met ``tol``.
    history_ : ConvergenceHistory
        One row per Frank-Wolfe step (``iteration`` is the step number, ``n_steps_`` in the
        last row), with objective ``l4_objective`` (batch mean of :math:`\|D^Ty\|_4^4`) and
        criterion ``relative_fw_gap``.

    References
    ----------
    Y. Xue, V. Lau, "Online Orthogonal Dictionary Learning Based on Frank-Wolfe Method",
    arXiv:2103.01484, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.dictionary import OnlineOrthogonalDictionary
    >>> rng = np.random.default_rng(0)
    >>> D0, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    >>> codes = rng.standard_normal((4000, 8)) * (rng.random((4000, 8)) < 0.2)
    >>> model = OnlineOrthogonalDictionary(max_iter=5, tol=1e-2, random_state=0)
    >>> model = model.fit(codes @ D0.T)
    >>> bool(np.linalg.norm(model.dictionary_, 2) <= 1 + 1e-12)
    True
    >>> bool(np.abs(model.components_ @ D0).max(axis=1).min() > 0.9)
    True
    """

    def __init__(self, n_components=None, *, batch_size=64, max_iter=10, tol=1e-3,
                 random_state=None, verbose=0):
        self.n_components = n_components
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self, n_features):
        n = n_features if self.n_components is None else self.n_components
        check_int(n, "n_components", low=1, high=n_features)
        check_int(self.batch_size, "batch_size", low=1)
        check_int(self.max_iter, "max_iter", low=1)
        check_scalar(self.tol, "tol", low=0.0)
        check_verbose(self.verbose)
        return n

    def _initialize(self, X, rng):
        n_features = X.shape[1]
        n = self._check_params(n_features)
        # the dictionary does not depend on the scale of the data, but fourth powers of it
        # overflow (or vanish) far sooner than the data: extreme streams are divided by a
        # power of two, fixed by the first data seen (exactly)
        self._exponent = stream_exponent(X)
        Q, _ = np.linalg.qr(rng.standard_normal((n_features, n)))
        self.dictionary_ = Q
        self.components_ = Q.T
        self._gradient = np.zeros_like(Q)
        self.n_steps_ = 0
        self.history_ = ConvergenceHistory(64, criterion_name="relative_fw_gap",
                                           objective_name="l4_objective",
                                           labels={"relative_fw_gap": "relative Frank-Wolfe gap",
                                                   "l4_objective": "mean ||D^T y||_4^4"})

    def _step(self, Y):
        """One online Frank-Wolfe step on the mini-batch Y; returns the relative gap."""
        t = self.n_steps_ + 1
        step = frank_wolfe_step(self.dictionary_, self._gradient, Y, t, self._exponent)
        self._gradient = step.gradient
        self.dictionary_ = step.dictionary
        self.components_ = self.dictionary_.T
        self.n_steps_ = t
        self.history_.record(t, step.objective, step.relative_gap)
        return step.relative_gap

    def partial_fit(self, X, y=None):
        """One Frank-Wolfe step on the mini-batch ``X`` (n_samples, n_features); returns self."""
        first = not hasattr(self, "dictionary_")
        X = validate_named(self, X, dtype=np.float64, reset=first)
        if first:
            self._initialize(X, check_random_state(self.random_state))
            self.n_iter_ = 0
        self._step(X)
        self.n_iter_ += 1
        return self

    def fit(self, X, y=None):
        """Run up to ``max_iter`` shuffled passes of mini-batch steps over ``X``; returns self."""
        X = validate_named(self, X, dtype=np.float64)
        rng = check_random_state(self.random_state)
        self._initialize(X, rng)
        progress = Progress(type(self).__name__, self.verbose, None)
        batch = min(self.batch_size, X.shape[0])
        converged = False
        passes = 0
        for passes in range(1, self.max_iter + 1):
            order = rng.permutation(X.shape[0])
            for start in range(0, X.shape[0], batch):
                gap = self._step(X[order[start:start + batch]])
            if progress.verbose >= 2:
                progress.finish(f"pass {passes}, {self.n_steps_} steps, relative_fw_gap={gap:.3e}")
            if gap < self.tol:
                converged = True
                break
        progress.finish(f"{'converged' if converged else 'stopped'} after {passes} passes "
                        f"({self.n_steps_} steps), relative_fw_gap={gap:.3e}")
        if converged:
            return self._record_convergence({"converged": True, "n_iter": passes,
                                             "history": self.history_})
        self.n_iter_, self.converged_ = passes, False
        warnings.warn(f"{type(self).__name__} did not meet tol={self.tol:g} in max_iter="
                      f"{self.max_iter} passes over the data ({self.n_steps_} mini-batch "
                      f"steps of {batch} samples): the relative Frank-Wolfe gap of the last "
                      f"step is {gap:.3e}; increase max_iter or loosen tol",
                      ConvergenceWarning, stacklevel=2)
        return self

    def transform(self, X):
        """Coefficients ``X @ dictionary_`` (for an orthogonal D, the exact representation)."""
        check_is_fitted(self)
        X = validate_named(self, X, dtype=np.float64, reset=False)
        return X @ self.dictionary_

    def inverse_transform(self, X):
        """Signals ``codes @ dictionary_.T`` from codes of shape (n_samples, n_components)."""
        check_is_fitted(self)
        codes = check_codes(X, self.dictionary_.shape[1])
        return np.asarray(codes @ self.dictionary_.T)
