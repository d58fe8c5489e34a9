"""The scikit-learn estimators over the dictionary module's functions.

:class:`KSVD` (over :func:`~sparsenum.dictionary.ksvd` and
:func:`~sparsenum.dictionary.batch_omp`) and :class:`CalibratedDictionaryCompressor` (over
:func:`~sparsenum.dictionary.compress_layer`). The online learner, which has no function form,
is in ``online.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from ..base import IterativeEstimatorMixin
from ..utils import check_int, renamed_argument
from ._validation import check_codes, validate_named
from .cospadi import compress_layer
from .ksvd import fit_ksvd, unsettled_message
from .omp import batch_omp

__all__ = ["KSVD", "CalibratedDictionaryCompressor"]


class KSVD(IterativeEstimatorMixin, TransformerMixin, BaseEstimator):
    """K-SVD dictionary learning with Batch-OMP sparse coding (samples as rows).

    Learns ``n_components`` unit-norm atoms ``D`` such that every training sample is
    approximated by at most ``n_nonzero`` of them: min ``||X - C D||_F^2``. See :func:`ksvd`
    for the algorithm.

    Parameters
    ----------
    n_components : int, optional
        Number of atoms; default ``n_features``.
    n_nonzero : int, optional
        Nonzeros per code; default ``max(1, int(0.1 * n_features))`` as in scikit-learn's OMP.
        A value above ``min(n_components, n_features)`` is capped there with a ``UserWarning``
        (the function :func:`ksvd` raises instead).
    max_iter : int, default=10
        Maximum number of coding + update iterations.
    approximate : bool, default=True
        Approximate K-SVD (one alternating step per atom) or exact K-SVD (SVD per atom).
    tol : float, default=1e-4
        Converged when the relative squared error ``||X - C D||_F^2 / ||X||_F^2`` changes by
        less than ``tol`` over an iteration in which no atom was replaced (or the fit is exact).
    monotone : bool, default=False
        Keep a sample's previous code when re-coding would represent it worse, making the
        objective non-increasing (up to atom replacement); see :func:`ksvd`.
    random_state : None, int, RandomState or Generator
        Seeds the initial dictionary (random training samples).
    n_jobs : int, optional
        Numba threads for sparse coding (``None``: one thread for small batches). The result
        does not depend on it.
    verbose : int or bool, default=0
        ``1``: a line when the fit ends; ``2``: a line per iteration.
    n_atoms : int, optional
        Former name of ``n_components`` (deprecated, removed in the next release).

    Attributes
    ----------
    dictionary_ : ndarray of shape (n_components, n_features)
        Learned atoms, one per row. ``components_`` is the same array.
    components_ : ndarray of shape (n_components, n_features)
        Alias of ``dictionary_`` (scikit-learn's name).
    n_nonzero_ : int
        The sparsity used.
    error_ : float
        Final training objective ``||X - C D||_F^2``.
    n_iter_, converged_, history_
        Iterations, whether ``tol`` was met, and the
        :class:`~sparsenum.base.ConvergenceHistory` (objective ``squared_residual`` per
        iteration, criterion ``error_decrease``, column ``replaced``; see :func:`ksvd`).
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.dictionary import KSVD
    >>> X = np.random.default_rng(0).standard_normal((100, 6))
    >>> model = KSVD(n_components=12, n_nonzero=2, max_iter=50, random_state=0).fit(X)
    >>> codes = model.transform(X)
    >>> codes.shape, int(codes.getnnz(axis=1).max())
    ((100, 12), 2)
    >>> model.inverse_transform(codes).shape
    (100, 6)
    """

    def __init__(self, n_components=None, n_nonzero=None, *, max_iter=10, approximate=True,
                 tol=1e-4, monotone=False, random_state=None, n_jobs=None, verbose=0,
                 n_atoms=None):
        self.n_components = n_components
        self.n_nonzero = n_nonzero
        self.max_iter = max_iter
        self.approximate = approximate
        self.tol = tol
        self.monotone = monotone
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.n_atoms = n_atoms

    def fit(self, X, y=None):
        """Learn the dictionary from ``X`` of shape (n_samples, n_features); returns self."""
        X = validate_named(self, X, dtype=np.float64)
        n_features = X.shape[1]
        n_components, name = renamed_argument(self.n_components, self.n_atoms, "n_components",
                                              "n_atoms", reason="as in scikit-learn",
                                              stacklevel=3)
        n_components = n_features if n_components is None else n_components
        n_components = check_int(n_components, name, low=1)
        n_nonzero = self.n_nonzero
        limit = min(n_components, n_features)
        if n_nonzero is None:
            n_nonzero = max(1, min(int(0.1 * n_features), limit))
        elif check_int(n_nonzero, "n_nonzero", low=1) > limit:
            warnings.warn(f"n_nonzero={n_nonzero} exceeds min({name}, n_features)="
                          f"{limit}: using {limit} (more atoms would be linearly dependent)",
                          UserWarning, stacklevel=2)
            n_nonzero = limit
        result = fit_ksvd(X, n_components, n_nonzero, max_iter=self.max_iter, tol=self.tol,
                          approximate=self.approximate, monotone=self.monotone, dict_init=None,
                          random_state=self.random_state, n_jobs=self.n_jobs,
                          verbose=self.verbose, callback=None, components_name=name)
        self.dictionary_ = result.dictionary
        self.components_ = self.dictionary_
        self.n_nonzero_ = int(n_nonzero)
        self.error_ = float(result.objective)
        if result.converged:
            return self._record_convergence(result)
        self.n_iter_, self.converged_, self.history_ = result.n_iter, False, result.history
        warnings.warn(unsettled_message("KSVD", result.history, self.max_iter, self.tol,
                                        self.monotone), ConvergenceWarning, stacklevel=2)
        return self

    def transform(self, X):
        """Sparse codes of ``X`` by Batch-OMP: a CSR matrix of shape (n_samples, n_components)."""
        check_is_fitted(self)
        X = validate_named(self, X, dtype=np.float64, reset=False)
        return batch_omp(X, self.dictionary_, n_nonzero=self.n_nonzero_, n_jobs=self.n_jobs)

    def inverse_transform(self, X):
        """Signals ``codes @ dictionary_`` from codes (n_samples, n_components), sparse or not."""
        check_is_fitted(self)
        codes = check_codes(X, self.dictionary_.shape[0])
        return np.asarray(codes @ self.dictionary_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


class CalibratedDictionaryCompressor(IterativeEstimatorMixin, BaseEstimator):
    """Compress a layer's weight matrix against calibration activations (CoSpaDi or SVD).

    ``fit(W, X_calibration)`` finds ``W~ ~= W`` within the parameter budget set by
    ``compression_ratio`` that minimises ``||X W - X W~||_F`` on the calibration activations;
    ``compressed_.matmul(X)`` then evaluates the compressed layer ``X @ W~`` from its factors. See
    :func:`compress_layer` for the method and :func:`sparse_dictionary_budget` for how the
    parameters (values plus a sparsity bit mask) are counted.

    Parameters
    ----------
    compression_ratio : float, default=0.3
        Target fraction of parameters removed, in (0, 1).
    atoms_per_nonzero : float, default=2.0
        Dictionary atoms per nonzero of a code column, ``k / s`` (CoSpaDi).
    max_iter : int, default=60
        K-SVD iterations (CoSpaDi).
    tol : float, default=1e-4
        The K-SVD run converges when the relative squared error of the whitened weight changes
        by less than ``tol`` over an iteration without atom replacement (see :func:`ksvd`).
    method : {"cospadi", "svd"}, default="cospadi"
        Sparse dictionary (CoSpaDi) or the whitened truncated SVD baseline at the same budget.
    random_state : None, int, RandomState or Generator
    n_jobs : int, optional
        Numba threads for sparse coding (``None``: one thread for small layers).
    verbose : int or bool, default=0
        Progress of the K-SVD run: ``1`` a line when done, ``2`` a line per iteration.

    Attributes
    ----------
    dictionary_ : ndarray of shape (d_in, k)
        Dictionary ``D`` (CoSpaDi) or left factor ``A`` (SVD, ``k`` = rank), with unit-norm
        columns (the scale is in ``codes_``).
    codes_ : scipy.sparse.csr_matrix or ndarray of shape (k, d_out)
        Column-sparse codes ``S`` (CoSpaDi) or the dense right factor ``B`` (SVD).
    compressed_ : SparseDictionaryLayer or LowRankLayer
        The layer: ``compressed_.matmul(x)`` is ``x @ W~``; ``compressed_.n_params`` its size.
    compression_ratio_ : float
        Achieved ``1 - n_params / (d_in * d_out)``, at least the target.
    activation_error_ : float
        ``||X W - X W~||_F / ||X W||_F`` on the calibration data (weight-space relative error
        when fitted without it).
    gram_shift_ : float
        Ridge added to a singular calibration Gram matrix ``X^T X`` (0 if none was needed).
    n_features_in_ : int
        ``d_out``, the number of columns of ``W`` (scikit-learn's count for the first
        argument of ``fit``); ``compressed_.matmul`` expects inputs with ``d_in`` columns.
    n_iter_, converged_, history_
        From the K-SVD run.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.dictionary import CalibratedDictionaryCompressor
    >>> rng = np.random.default_rng(0)
    >>> W, X = rng.standard_normal((32, 40)), rng.standard_normal((300, 32))
    >>> model = CalibratedDictionaryCompressor(0.4, random_state=0).fit(W, X)
    >>> model.compressed_
    SparseDictionaryLayer(shape=(32, 40), atoms=14, nnz=280)
    >>> round(model.compression_ratio_, 3), model.compressed_.matmul(X[:2]).shape
    (0.404, (2, 40))
    """

    def __init__(self, compression_ratio=0.3, *, atoms_per_nonzero=2.0, max_iter=60, tol=1e-4,
                 method="cospadi", random_state=None, n_jobs=None, verbose=0):
        self.compression_ratio = compression_ratio
        self.atoms_per_nonzero = atoms_per_nonzero
        self.max_iter = max_iter
        self.tol = tol
        self.method = method
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, W, X_calibration=None):
        """Compress ``W`` (d_in, d_out) for inputs like ``X_calibration`` (n_tokens, d_in)."""
        W = validate_named(self, W, names=("W",), dtype=np.float64)  # sets n_features_in_ = d_out
        result = compress_layer(W, X_calibration, compression_ratio=self.compression_ratio,
                                atoms_per_nonzero=self.atoms_per_nonzero, method=self.method,
                                max_iter=self.max_iter, tol=self.tol,
                                random_state=self.random_state, n_jobs=self.n_jobs,
                                verbose=self.verbose)
        layer = result.layer
        self.compressed_ = layer
        self.dictionary_ = layer.left
        self.codes_ = layer.codes if self.method == "cospadi" else layer.right
        self.compression_ratio_ = result.compression_ratio
        self.activation_error_ = result.activation_error
        self.gram_shift_ = result.gram_shift
        if result.converged:
            return self._record_convergence(result)
        self.n_iter_, self.converged_, self.history_ = result.n_iter, False, result.history
        warnings.warn(unsettled_message(f"{type(self).__name__} (K-SVD)", result.history,
                                        self.max_iter, self.tol, False),
                      ConvergenceWarning, stacklevel=2)
        return self
