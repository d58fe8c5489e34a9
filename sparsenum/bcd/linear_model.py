"""scikit-learn estimators: BCDLasso and BCDLogisticRegression."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from sparsenum.base import IterativeEstimatorMixin
from sparsenum.utils import check_bool, check_int, check_one_of, check_random_state, check_scalar

from ._validation import check_squares_finite, check_tol, check_verbose, validate_xy
from .lasso import solve_lasso
from .logistic import solve_l1_logistic
from .partitions import PARTITIONS
from .problems import BinaryLogistic, MultinomialLogistic, squared_column_norms
from .selection import SELECTIONS
from .solver import block_coordinate_descent
from .updates import UPDATES

__all__ = ["BCDLasso", "BCDLogisticRegression"]


class BCDLasso(IterativeEstimatorMixin, RegressorMixin, BaseEstimator):
    """Lasso by greedy working-set block coordinate descent with active-set Newton steps.

    Minimises scikit-learn's objective ``1/(2n) ||y - Xw - b||^2 + alpha ||w||_1`` with
    :func:`~sparsenum.bcd.solve_lasso`.

    Parameters
    ----------
    alpha : float, default=1.0
        L1 penalty strength (``>= 0``).
    fit_intercept : bool, default=True
    positive : bool, default=False
        Constrain the coefficients to be nonnegative.
    tol : float, default=1e-6
        Stop when the duality gap is at most ``tol * ||y - mean(y)||^2 / n`` (as scikit-learn).
        ``tol=0`` asks for machine precision (the solve ends when the gap stops decreasing).
    max_iter : int, default=100
        Maximum number of working-set (outer) iterations.
    warm_start : bool, default=False
        Start from the previous ``coef_`` (``X`` must then have the same features).
    verbose : int or bool, default=0
        ``1``: a summary line per fit; ``2``: a line per outer iteration.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    dual_gap_ : float
    n_iter_, converged_, history_ :
        Outer iterations, convergence flag, per-iteration history (duality gap).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import BCDLasso
    >>> X = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    >>> reg = BCDLasso(alpha=0.1).fit(X, [0.0, 1.0, 2.0])
    >>> np.round(reg.coef_, 4), round(reg.intercept_, 4)
    (array([0.85, 0.  ]), 0.15)
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, positive=False, tol=1e-6,
                 max_iter=100, warm_start=False, verbose=0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.verbose = verbose

    def fit(self, X, y):
        """Fit on ``X`` (dense or sparse) and targets ``y``; returns self."""
        alpha = check_scalar(self.alpha, "alpha", low=0.0)
        fit_intercept = check_bool(self.fit_intercept, "fit_intercept")
        positive = check_bool(self.positive, "positive")
        tol = check_tol(self.tol)
        max_iter = check_int(self.max_iter, "max_iter", low=1)
        warm_start = check_bool(self.warm_start, "warm_start")
        verbose = check_verbose(self.verbose)
        previous = getattr(self, "coef_", None) if warm_start else None
        X, y = validate_xy(self, X, y, accept_sparse="csc", y_numeric=True, dtype=np.float64)
        if previous is not None and previous.shape[0] != X.shape[1]:
            raise ValueError(
                f"warm_start=True starts from the coefficients of the previous fit, which had "
                f"{previous.shape[0]} features; X now has {X.shape[1]}. Fit data with the same "
                f"features, or set warm_start=False to start afresh")
        result = solve_lasso(X, y, alpha, fit_intercept=fit_intercept, positive=positive,
                             tol=tol, max_iter=max_iter, coef_init=previous, verbose=verbose)
        self.coef_ = result.coef
        self.intercept_ = result.intercept if fit_intercept else 0.0
        self.dual_gap_ = result.duality_gap
        return self._record_convergence(result)

    def predict(self, X):
        """Linear predictions ``X coef_ + intercept_``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False, dtype=np.float64)
        return np.asarray(X @ self.coef_).ravel() + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class BCDLogisticRegression(IterativeEstimatorMixin, LinearClassifierMixin, BaseEstimator):
    """Logistic regression (binary or multinomial) by block coordinate descent.

    Minimises ``C sum_i loss_i + 1/2 ||w||^2`` (``penalty="l2"``) or ``C sum_i loss_i + ||w||_1``
    (``penalty="l1"``); more than two classes use the softmax (multinomial) loss. The intercept is
    a constant feature of value ``intercept_scaling`` and is penalised like the weights (as in
    liblinear); raise ``intercept_scaling`` to weaken that.

    Parameters
    ----------
    penalty : {"l2", "l1"}, default="l2"
    C : float, default=1.0
        Inverse regularisation strength (> 0).
    fit_intercept : bool, default=True
    intercept_scaling : float, default=1.0
    tol : float, default=1e-6
        Stop when the optimality measure falls below ``tol`` times its value at zero.
        ``tol=0`` asks for machine precision (the solver ends when progress stalls).
    max_iter : int, default=5000
        Maximum block updates (outer working-set iterations for the working-set solver).
    solver : {"auto", "bcd"}, default="auto"
        ``"auto"`` solves binary L1 problems with :func:`~sparsenum.bcd.solve_l1_logistic`
        (working sets and proximal Newton steps, stopping at a duality gap of ``tol`` times
        the objective at zero) and everything else with the generic block coordinate descent;
        ``"bcd"`` always uses the latter.
    partition, selection, update, block_size :
        The block coordinate descent choices (see :func:`block_coordinate_descent`), used by
        the generic solver; the default, greedy GSL variable blocks of 32 coordinates with
        (proximal) Newton steps, is robust.
    random_state : int, RandomState or None
        Seeds the random partitions and samplings of the generic solver (the default choices
        use none).
    verbose : int or bool, default=0
        ``1``: a summary line per fit; ``2``: a line per iteration.

    Attributes
    ----------
    classes_ : ndarray
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sparsenum.bcd import BCDLogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BCDLogisticRegression(C=1.0).fit(X, y)
    >>> clf.coef_.shape, clf.score(X, y) > 0.9
    ((3, 4), True)
    """

    def __init__(self, penalty="l2", *, C=1.0, fit_intercept=True, intercept_scaling=1.0,
                 tol=1e-6, max_iter=5000, solver="auto", partition="variable",
                 selection="gsl", update="newton", block_size=32, random_state=None,
                 verbose=0):
        self.penalty = penalty
        self.C = C
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.tol = tol
        self.max_iter = max_iter
        self.solver = solver
        self.partition = partition
        self.selection = selection
        self.update = update
        self.block_size = block_size
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y):
        """Fit on ``X`` (dense or sparse) and class labels ``y``; returns self."""
        check_one_of(self.penalty, "penalty", ("l1", "l2"))
        check_one_of(self.solver, "solver", ("auto", "bcd"))
        C = check_scalar(self.C, "C", low=0.0, include_low=False)
        fit_intercept = check_bool(self.fit_intercept, "fit_intercept")
        scaling = check_scalar(self.intercept_scaling, "intercept_scaling", low=0.0,
                               include_low=False)
        tol = check_tol(self.tol)
        max_iter = check_int(self.max_iter, "max_iter", low=1)
        check_one_of(self.partition, "partition", PARTITIONS)
        check_one_of(self.selection, "selection", SELECTIONS)
        check_one_of(self.update, "update", UPDATES)
        check_int(self.block_size, "block_size", low=1)
        check_random_state(self.random_state)
        verbose = check_verbose(self.verbose)
        X, y = validate_xy(self, X, y, accept_sparse="csc", dtype=np.float64)
        check_classification_targets(y)
        check_squares_finite(squared_column_norms(X), "X", "squared column norms")
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        k = self.classes_.shape[0]
        if k < 2:
            raise ValueError(f"y must hold at least two classes; got one class: "
                             f"{self.classes_[0]!r}")
        if fit_intercept:
            ones = np.full((X.shape[0], 1), scaling)
            X = sp.hstack([X, sp.csc_matrix(ones)], format="csc") if sp.issparse(X) else \
                np.hstack([X, ones])
        if self.solver == "auto" and self.penalty == "l1" and k == 2:
            result = solve_l1_logistic(X, 2.0 * y_idx - 1.0, 1.0 / C, tol=tol,
                                       max_iter=max_iter, verbose=verbose)
            return self._store(result.coef[None, :], scaling, result, fit_intercept)
        pen = {"l1": 1.0 / C, "l2": 0.0} if self.penalty == "l1" else {"l1": 0.0, "l2": 1.0 / C}
        if k == 2:
            problem = BinaryLogistic(X, 2.0 * y_idx - 1.0, **pen)
        else:
            problem = MultinomialLogistic(X, y_idx, n_classes=k, **pen)
        tol = tol * max(problem.optimality(problem.start()), 1e-300)
        result = block_coordinate_descent(
            problem, partition=self.partition, selection=self.selection, update=self.update,
            block_size=self.block_size, tol=tol, max_iter=max_iter,
            random_state=self.random_state, verbose=verbose)
        return self._store(result.x.reshape(X.shape[1], -1).T, scaling, result, fit_intercept)

    def _store(self, W, scaling, result, fit_intercept):
        """Split ``W`` (1 or k, n_features [+ 1]) into coef_ and intercept_."""
        if fit_intercept:
            self.coef_, self.intercept_ = W[:, :-1].copy(), W[:, -1] * scaling
        else:
            self.coef_, self.intercept_ = W.copy(), np.zeros(W.shape[0])
        return self._record_convergence(result)

    def predict_proba(self, X):
        """Class probabilities (sigmoid for two classes, softmax otherwise)."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
