"""scikit-learn regressor over the sketched least-squares solvers."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ..base import IterativeEstimatorMixin
from ..utils import (
    check_bool,
    check_int,
    check_n_jobs,
    check_one_of,
    check_random_state,
    check_scalar,
)
from ..utils.progress import check_verbose
from ._validation import validate_named
from .lstsq import sketch_and_precondition, sketch_and_solve, solve_wide

__all__ = ["SketchedRegression"]


class SketchedRegression(IterativeEstimatorMixin, RegressorMixin, BaseEstimator):
    """Ordinary least squares solved through a random sketch.

    ``method="precondition"`` (default) solves the least-squares problem to full accuracy with a
    sketch-based preconditioner (:func:`~sparsenum.sketch.sketch_and_precondition`): the same
    coefficients as :class:`sklearn.linear_model.LinearRegression`, faster on tall data.
    ``method="solve"`` returns the sketched solution
    (:func:`~sparsenum.sketch.sketch_and_solve`), approximate but cheaper, with the l_inf
    guarantee for dense sketches.

    Parameters
    ----------
    method : {"precondition", "solve"}, default="precondition"
    sketch : str, optional
        ``"srht"``, ``"gaussian"``, ``"sparse_sign"`` or ``"countsketch"``. Default: the
        function's default, ``"sparse_sign"`` for "precondition" (the cheapest preconditioner)
        and ``"srht"`` for "solve" (a dense sketch, with the l_inf guarantee).
    sketch_size : int, optional
        Rows of the sketch, as in the functions. Default: :func:`auto_oversampling` times the
        number of columns for "precondition", four times the number of columns for "solve"
        (capped at the number of samples), or from ``eps`` for "solve".
    eps : float, optional
        For ``method="solve"``: the l_inf accuracy that sets ``sketch_size`` (paper's formula).
    fit_intercept : bool, default=True
        Fit an intercept (as an extra column of ones, so sparse ``X`` stays sparse).
    tol : float, default=1e-14
        Tolerance of the preconditioned iteration.
    max_iter : int, default=100
        Iteration limit of the preconditioned iteration.
    random_state : None, int or RandomState
        Seeds the sketch.
    n_jobs : int, optional
        Threads for the passes over ``X`` (see :func:`~sparsenum.sketch.sketch_and_precondition`;
        ``None``: one thread for small data). The coefficients do not depend on it.
    verbose : int or bool, default=0
        ``1``: a line when the solve ends; ``2``: a line per step of "precondition".

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    residual_norm_ : float
        ``||sqrt(w) * (X coef_ + intercept_ - y)||_2`` on the training data.
    rank_ : int
        Numerical rank of the (sketched) design, intercept column included.
    n_iter_ : int
        1 + the solver's CG steps: the sketched solve (the warm start of "precondition", the
        answer of "solve") counts as the first iteration.
    stop_reason_ : str
        Why the solver stopped (see :class:`~sparsenum.sketch.LstsqResult`).
    converged_, history_
        From the solver.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When ``X`` has string feature names.

    Notes
    -----
    Sketching compresses samples, so it needs at least as many samples as columns (features,
    plus one for the intercept). A wider problem has nothing to compress: it is solved directly
    with LAPACK (``scipy.linalg.lstsq``, the minimum-norm solution), as
    :class:`~sklearn.linear_model.LinearRegression` does.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.sketch import SketchedRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((2000, 5)); y = X @ np.arange(5.0) + 3.0
    >>> reg = SketchedRegression(random_state=0).fit(X, y)
    >>> np.round(reg.coef_, 8).tolist(), round(reg.intercept_, 8)
    ([0.0, 1.0, 2.0, 3.0, 4.0], 3.0)
    """

    def __init__(self, method="precondition", sketch=None, sketch_size=None, eps=None,
                 fit_intercept=True, tol=1e-14, max_iter=100, random_state=None, n_jobs=None,
                 verbose=0):
        self.method = method
        self.sketch = sketch
        self.sketch_size = sketch_size
        self.eps = eps
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit the coefficients; returns self."""
        # every parameter is checked here, also those the chosen path does not use
        check_one_of(self.method, "method", ("precondition", "solve"))
        if self.sketch is not None and not isinstance(self.sketch, str):
            raise TypeError(f"sketch must be None or a sketch name; got {self.sketch!r}")
        check_int(self.sketch_size, "sketch_size", low=1, allow_none=True)
        check_scalar(self.eps, "eps", low=0, include_low=False, allow_none=True)
        if self.eps is not None and self.method != "solve":
            raise ValueError("eps applies to method='solve' only")
        check_bool(self.fit_intercept, "fit_intercept")
        check_scalar(self.tol, "tol", low=0, include_low=False, high=1)
        check_int(self.max_iter, "max_iter", low=0)
        check_n_jobs(self.n_jobs)
        check_verbose(self.verbose)
        if not isinstance(self.random_state, (type(None), np.random.RandomState,
                                              np.random.Generator)):
            check_random_state(self.random_state)  # names random_state; draws nothing
        X, y = validate_named(self, X, y, names=("X", "y"), accept_sparse=("csr", "csc", "coo"),
                              y_numeric=True, dtype=np.float64)
        weights = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if np.any(weights < 0):
            raise ValueError("sample_weight must be nonnegative")
        root = np.sqrt(weights)
        design = self._design(X, root)
        target = y * root
        common = {"sketch_size": self.sketch_size, "random_state": self.random_state,
                  "n_jobs": self.n_jobs}
        if self.sketch is not None:
            common["sketch"] = self.sketch
        if design.shape[0] < design.shape[1]:
            result = solve_wide(design, target)
        elif self.method == "precondition":
            result = sketch_and_precondition(design, target, tol=self.tol,
                                             max_iter=self.max_iter, verbose=self.verbose,
                                             **common)
        else:
            result = sketch_and_solve(design, target, eps=self.eps, **common)
        coef = result.coef
        d = X.shape[1]
        self.coef_ = coef[:d].copy()
        self.intercept_ = float(coef[d]) if self.fit_intercept else 0.0
        self.residual_norm_ = result.residual_norm
        self.rank_ = result.rank
        self.stop_reason_ = result.stop_reason
        # the (sketched or direct) solve counts as the first iteration, CG steps come after it
        # (scikit-learn expects n_iter_ >= 1)
        result = result.replace(n_iter=result.n_iter + 1)
        if result.converged:
            return self._record_convergence(result)
        self.n_iter_, self.converged_, self.history_ = result.n_iter, False, result.history
        warnings.warn(self._unconverged_message(result), ConvergenceWarning, stacklevel=2)
        return self

    def _unconverged_message(self, result) -> str:
        """Why the preconditioned iteration stopped short, with its true numbers."""
        if result.stop_reason == "max_iter":
            why = f"reached max_iter={self.max_iter} steps"
            advice = "increase max_iter"
        else:
            why = f"stopped after {result.n_iter - 1} steps without progress"
            advice = ("the coefficients are its best iterate; X may be too ill-conditioned for "
                      "double precision")
        return (f"SketchedRegression: the preconditioned iteration {why} at "
                f"normal_equation_residual={result.history.criterion[-1]:.3e}, above "
                f"tol={self.tol:g} and above the rounding level of this problem; {advice}")

    def _design(self, X, root):
        if sp.issparse(X):
            Xw = sp.diags(root) @ X.tocsr()
            if self.fit_intercept:
                Xw = sp.hstack([Xw, sp.csr_matrix(root[:, None])], format="csr")
            return Xw
        Xw = X * root[:, None]
        if self.fit_intercept:
            Xw = np.column_stack([Xw, root])
        return Xw

    def predict(self, X):
        """Predicted targets ``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        X = validate_named(self, X, accept_sparse=("csr", "csc", "coo"), dtype=np.float64,
                          reset=False)
        return np.asarray(X @ self.coef_).ravel() + self.intercept_
