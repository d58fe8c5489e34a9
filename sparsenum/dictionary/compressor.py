"""scikit-learn-style estimator around :func:`sparsenum.dictionary.compress_layer`."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from sparsenum.base import IterativeEstimatorMixin

from ._checks import validate_named
from .cospadi import compress_layer
from .ksvd import unsettled_message

__all__ = ["CalibratedDictionaryCompressor"]


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
    >>> model = CalibratedDictionaryCompressor(0.4, max_iter=5, random_state=0).fit(W, X)
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
