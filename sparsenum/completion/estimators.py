"""scikit-learn estimators over :func:`~sparsenum.completion.altmin_complete`: an imputer for
NaN-masked matrices and a regressor for ``(row id, column id) -> value`` ratings."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from sparsenum.base import IterativeEstimatorMixin
from sparsenum.utils import check_random_state, spawn_seeds

from ._observed import Observed
from ._validation import check_ids, check_implicit, check_matrix
from .altmin import _check_arguments, fit
from .row_solvers import run_side

__all__ = ["AltMinImputer", "AltMinRatingsRegressor"]


class _AltMinParams:
    """The shared constructor arguments and the call of the solver."""

    def __init__(self, rank=10, reg="auto", bias_reg="auto", biases=True, implicit="auto",
                 solver="auto", n_sweeps=30, tol=1e-6, random_state=None, n_jobs=None,
                 verbose=0):
        self.rank = rank
        self.reg = reg
        self.bias_reg = bias_reg
        self.biases = biases
        self.implicit = implicit
        self.solver = solver
        self.n_sweeps = n_sweeps
        self.tol = tol
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _complete(self, data):
        """Fit on validated observations; the rank is capped at ``min(m, n) - 1`` (a matrix
        with a single row or column gets biases only)."""
        rank, settings = _check_arguments(self.rank, self.reg, self.bias_reg, self.biases,
                                          self.solver, self.n_sweeps, self.tol, "svd",
                                          self.n_jobs, self.verbose, None)
        if rank < 1:
            raise ValueError(f"rank must be an integer >= 1; got {rank}")
        settings["implicit"] = check_implicit(self.implicit)
        self.rank_ = int(min(rank, min(data.shape) - 1))
        seeds = spawn_seeds(check_random_state(self.random_state), 4)
        result = fit(data, self.rank_, seeds=seeds, **settings)
        self.result_ = result
        self.reg_ = result.reg
        self.bias_reg_ = result.bias_reg
        self.implicit_reg_ = result.implicit_reg
        self.global_mean_ = result.global_mean
        self.train_rmse_ = result.train_rmse
        return self._record_convergence(
            result, what=f"{type(self).__name__} (n_sweeps={self.n_sweeps})", limit="n_sweeps")


class AltMinImputer(_AltMinParams, IterativeEstimatorMixin, TransformerMixin, BaseEstimator):
    """Fill missing entries with a low-rank completion (alternating minimisation).

    ``fit`` completes the training matrix with :func:`~sparsenum.completion.altmin_complete`
    and keeps its column factors (``components_``) and column biases. ``transform`` solves each
    row of the given matrix against them (a ridge least-squares problem over the row's observed
    entries) and fills its missing entries from the row's factors; observed entries are kept.
    Rows are independent, so a new row is imputed the same whichever rows come with it.

    Parameters
    ----------
    rank : int, default=10
        Rank of the completion; capped at ``min(n_samples, n_features) - 1`` (``rank_``).
    reg, bias_reg, biases, implicit, solver, n_sweeps, tol
        See :func:`~sparsenum.completion.altmin_complete`.
    random_state : None, int or RandomState, default=None
        Seeds the validation split of the penalty search, the start and the sketches.
    n_jobs : int, optional
        Threads of the row solves.
    verbose : int, default=0
        Progress messages of the fit.

    Attributes
    ----------
    components_ : ndarray of shape (n_features, k)
        Column factors ``V``, ``k`` the rank used.
    col_bias_ : ndarray of shape (n_features,)
    global_mean_ : float
    rank_ : int
    reg_ : float
        Factor penalty used (chosen on a validation split when ``"auto"``).
    bias_reg_ : tuple of two floats
        Row and column bias penalties used.
    implicit_reg_ : float or None
        Penalty of the implicit prior used (None: no prior; see ``implicit``).
    implicit_factors_ : ndarray of shape (n_features, k)
        ``Y`` of the implicit prior: a row's factor is pulled toward ``Y^T x``, ``x`` the
        indicator of its observed entries over the square root of their number.
    train_rmse_ : float
        RMSE of the fit on the observed training entries.
    result_ : CompletionResult
    n_iter_ : int
        Sweeps of the final fit.
    converged_ : bool
        Whether it met ``tol``.
    history_ : ConvergenceHistory
        Its history.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.completion import AltMinImputer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 2)) @ rng.standard_normal((2, 6))
    >>> X_missing = np.where(rng.random(X.shape) < 0.2, np.nan, X)
    >>> imputer = AltMinImputer(rank=2, reg=0.0, biases=False, random_state=0)
    >>> X_filled = imputer.fit_transform(X_missing)
    >>> bool(np.isnan(X_filled).any()), float(np.abs(X_filled - X).max()) < 1e-4
    (False, True)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y=None):
        """Complete ``X`` (NaN or, for sparse ``X``, unstored entries are missing).

        Parameters
        ----------
        X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        X = validate_data(self, X, accept_sparse=("csr", "csc", "coo"),
                          ensure_all_finite="allow-nan", dtype=np.float64)
        return self._complete(Observed(check_matrix(X, "X")))

    def _fitted(self):
        result = self.result_
        self.components_ = result.col_factors
        self.col_bias_ = result.col_bias
        self.implicit_factors_ = result.implicit_factors
        return self

    def _complete(self, data):
        super()._complete(data)
        return self._fitted()

    def transform(self, X):
        """Fill the missing entries of ``X`` from its rows' factors.

        Parameters
        ----------
        X : ndarray or scipy.sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features)
            Observed entries unchanged, missing ones completed. A row with no observed entry
            gets ``global_mean_ + col_bias_``. With the implicit prior, each row's factor is
            pulled toward ``implicit_factors_^T x`` (its prior mean from the columns it
            observed) instead of zero.
        """
        check_is_fitted(self, "components_")
        X = validate_data(self, X, accept_sparse=("csr", "csc", "coo"),
                          ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        obs = Observed(check_matrix(X, "X", allow_empty=True))
        m = obs.shape[0]
        k = self.components_.shape[1]
        U, a = np.zeros((m, k)), np.zeros(m)
        biases = bool(self.biases)
        side, prior = obs.rows, None
        if self.implicit_reg_ is not None:
            # the penalty centred at the prior mean q_i: solve for u_i - q_i against the
            # values minus q_i . v_j
            counts = np.maximum(obs.row_counts, 1).astype(np.float64)
            prior = (obs.pattern_matmat(self.implicit_factors_, self.n_jobs)
                     / np.sqrt(counts)[:, None])
            shift = np.einsum("ij,ij->i", prior[obs.row_of], self.components_[side.idx])
            side = side._replace(vals=side.vals - shift)
        run_side(side, obs.row_counts, self.components_, self.col_bias_, U, a,
                 offset=self.global_mean_, fit_bias=biases,
                 pen_factor=self.reg_ * obs.row_counts.astype(np.float64),
                 pen_bias=np.full(m, self.bias_reg_[0]), solvers=np.zeros(m, np.int8),
                 tol=1e-10, sketch_seed=0, n_jobs=self.n_jobs)
        if prior is not None:
            U += prior
        filled = self.global_mean_ + a[:, None] + self.col_bias_[None, :] + U @ self.components_.T
        filled[obs.row_of, obs.rows.idx] = obs.rows.vals
        return filled


class AltMinRatingsRegressor(_AltMinParams, IterativeEstimatorMixin, RegressorMixin,
                             BaseEstimator):
    """Predict ratings from ``(row id, column id)`` pairs with a biased low-rank model.

    The ``(row, column, value)`` triples of ``fit`` are the observed entries of a matrix with
    ``max(row id) + 1`` rows and ``max(column id) + 1`` columns, completed by
    :func:`~sparsenum.completion.altmin_complete`; ``predict`` reads the completion. Ids never
    seen in training (beyond the fitted shape, or inside it without any rating) fall back to
    the biases and the global mean: ``mu + c_j`` for an unseen row, ``mu + a_i`` for an unseen
    column, ``mu`` for both.

    Parameters
    ----------
    rank : int, default=10
        Rank of the completion; capped at ``min(n_rows, n_cols) - 1`` (``rank_``).
    reg, bias_reg, biases, implicit, solver, n_sweeps, tol
        See :func:`~sparsenum.completion.altmin_complete`.
    random_state : None, int or RandomState, default=None
    n_jobs : int, optional
    verbose : int, default=0

    Attributes
    ----------
    row_factors_ : ndarray of shape (n_rows, k)
    col_factors_ : ndarray of shape (n_cols, k)
    row_bias_ : ndarray of shape (n_rows,)
    col_bias_ : ndarray of shape (n_cols,)
    global_mean_ : float
    shape_ : tuple of int
        Rows and columns of the fitted matrix.
    rank_ : int
    reg_ : float
    bias_reg_ : tuple of two floats
    implicit_reg_ : float or None
    train_rmse_ : float
    result_ : CompletionResult
        See :class:`AltMinImputer`.
    n_iter_ : int
    converged_ : bool
    history_ : ConvergenceHistory
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.completion import AltMinRatingsRegressor
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 2], [2, 1], [2, 2]])
    >>> y = np.array([5.0, 3.0, 4.0, 1.0, 2.0, 1.0])
    >>> model = AltMinRatingsRegressor(rank=1, random_state=0).fit(X, y)
    >>> model.predict(np.array([[0, 2], [7, 0]])).shape  # row 7 is unseen: biases only
    (2,)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True  # ids are nonnegative integers
        return tags

    def fit(self, X, y):
        """Fit on ratings ``y[t]`` of row ``X[t, 0]`` and column ``X[t, 1]``.

        Parameters
        ----------
        X : array-like of shape (n_ratings, 2)
            Nonnegative integer ids (integer dtype, or floats holding whole numbers).
        y : array-like of shape (n_ratings,)
            Finite values. A repeated ``(row, column)`` pair is an error.

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=None, y_numeric=True)
        rows, cols = self._ids(X)
        shape = (int(rows.max()) + 1, int(cols.max()) + 1)
        obs = Observed(_triplets(shape, rows, cols, y))
        self.shape_ = shape
        self._complete(obs)
        result = self.result_
        self.row_factors_, self.col_factors_ = result.row_factors, result.col_factors
        self.row_bias_, self.col_bias_ = result.row_bias, result.col_bias
        return self

    @staticmethod
    def _ids(X):
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"X must have two columns (row id, column id); got shape {X.shape}")
        return check_ids(X[:, 0], "X[:, 0] (row ids)"), check_ids(X[:, 1], "X[:, 1] (column ids)")

    def predict(self, X):
        """Predicted values of the ``(row id, column id)`` pairs in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_pairs, 2)

        Returns
        -------
        y_pred : ndarray of shape (n_pairs,)
        """
        check_is_fitted(self, "row_factors_")
        X = validate_data(self, X, dtype=None, reset=False)
        rows, cols = self._ids(X)
        m, n = self.shape_
        seen_row, seen_col = rows < m, cols < n
        r, c = np.where(seen_row, rows, 0), np.where(seen_col, cols, 0)
        out = np.full(rows.shape[0], self.global_mean_)
        out += np.where(seen_row, self.row_bias_[r], 0.0)
        out += np.where(seen_col, self.col_bias_[c], 0.0)
        both = seen_row & seen_col
        out[both] += np.einsum("ij,ij->i", self.row_factors_[r[both]],
                               self.col_factors_[c[both]])
        return out


def _triplets(shape, rows, cols, y):
    from sparsenum.utils import check_array

    y = check_array(y, "y", ndim=1)
    return check_matrix(sp.coo_matrix((y, (rows, cols)), shape=shape), "X")
