"""A scikit-learn k-neighbours transformer backed by the HNSW index."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils import check_int, check_one_of
from ..utils.validation import check_n_jobs
from ._validation import check_metric, check_verbose
from .hnsw import HNSWIndex

__all__ = ["HNSWTransformer"]

# "l2" meant Euclidean distances (not squared) here, and squared ones in HNSWIndex
_LEGACY_METRICS = {"l2": "euclidean"}


class HNSWTransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Approximate k-nearest-neighbours graph, a drop-in for ``KNeighborsTransformer``.

    ``fit(X)`` builds an :class:`HNSWIndex` over ``X``; ``transform(X)`` returns the sparse
    graph of each row's neighbours among the fitted samples, with the conventions of
    :class:`sklearn.neighbors.KNeighborsTransformer`: in ``mode="distance"`` each row holds
    ``n_neighbors + 1`` entries, since every sample is considered its own neighbour (the
    self-distance 0 is stored explicitly); in ``mode="connectivity"`` each row holds
    ``n_neighbors`` ones, the sample itself included. Rows are sorted by distance, so
    estimators taking ``metric="precomputed"`` (TSNE, Isomap, DBSCAN, SpectralEmbedding with
    ``affinity="precomputed_nearest_neighbors"``) accept the graph as is.

    Parameters
    ----------
    n_neighbors : int, default=5
        Neighbours per sample (plus one in ``mode="distance"``, see above).
    mode : {"distance", "connectivity"}, default="distance"
        Graph values: distances, or ones.
    metric : {"euclidean", "sqeuclidean", "cosine", "ip"}, default="euclidean"
        As in :class:`HNSWIndex`; ``"ip"`` is ``1 - <x, y>`` and can be negative. ``"l2"`` is a
        deprecated spelling of ``"euclidean"``.
    M : int, default=16
        Links per element of the HNSW graph (see :class:`HNSWIndex`).
    ef_construction : int, default=200
        Candidate list size while building.
    ef : int, default=50
        Candidate list size of the queries (``max(ef, n_neighbors + 1)`` is used); given to
        ``index_`` in ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds the index's random levels.
    n_jobs : int, optional
        Threads for the queries (``-1``: all cores; ``None``: numba's setting, except that a
        small batch runs on one thread).
    verbose : int, default=0
        Print the progress of the index build in ``fit``.

    Attributes
    ----------
    index_ : HNSWIndex
        The index over the fitted samples (ids are row numbers).
    n_samples_fit_ : int
        Number of fitted samples (columns of the graph).
    n_features_in_ : int
        Number of features.
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` has string column names.

    See Also
    --------
    sklearn.neighbors.KNeighborsTransformer : the exact version.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.neighbors import HNSWTransformer
    >>> X = np.random.default_rng(0).normal(size=(100, 5))
    >>> graph = HNSWTransformer(n_neighbors=3, random_state=0).fit_transform(X)
    >>> graph.shape, graph.nnz
    ((100, 100), 400)
    >>> bool((graph.diagonal() == 0).all())
    True
    """

    def __init__(self, n_neighbors=5, *, mode="distance", metric="euclidean", M=16,
                 ef_construction=200, ef=50, random_state=None, n_jobs=None, verbose=0):
        self.n_neighbors = n_neighbors
        self.mode = mode
        self.metric = metric
        self.M = M
        self.ef_construction = ef_construction
        self.ef = ef
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_params(self) -> str:
        """Validates the parameters; returns the metric in the current vocabulary."""
        check_int(self.n_neighbors, "n_neighbors", low=1)
        check_one_of(self.mode, "mode", ("distance", "connectivity"))
        metric = check_metric(self.metric, legacy=_LEGACY_METRICS, stacklevel=4)
        check_int(self.ef, "ef", low=1)
        check_n_jobs(self.n_jobs)
        check_verbose(self.verbose)
        return metric

    def _validate(self, X, reset: bool):
        """scikit-learn's validation, with messages that name ``X`` (its own say "array")."""
        try:
            return validate_data(self, X, dtype=[np.float64, np.float32], reset=reset)
        except (TypeError, ValueError) as exc:
            if "X" in str(exc):
                raise
            raise type(exc)(f"X is not a valid input: {exc}") from None

    def fit(self, X, y=None):
        """Build the index over ``X`` (array-like of shape (n_samples, n_features))."""
        metric = self._check_params()
        X = self._validate(X, reset=True)
        index = HNSWIndex(X.shape[1], metric=metric, M=self.M,
                          ef_construction=self.ef_construction, random_state=self.random_state,
                          n_jobs=self.n_jobs)
        index.add(X, verbose=self.verbose)
        index.ef = self.ef
        self.index_ = index
        self.n_samples_fit_ = X.shape[0]
        self._n_features_out = self.n_samples_fit_
        return self

    def transform(self, X):
        """Sparse graph of shape ``(n_queries, n_samples_fit_)``, rows sorted by distance."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        k = self.n_neighbors + (self.mode == "distance")
        if k > self.n_samples_fit_:
            raise ValueError(f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
                             f"n_samples_fit = {self.n_samples_fit_}, n_samples = {X.shape[0]}"
                             + (" (mode='distance' adds the sample itself)"
                                if self.mode == "distance" else ""))
        ids, dist = self.index_._query(X, k, None, None, "X")  # ef: the index's, set in fit
        n_queries = X.shape[0]
        if self.mode == "connectivity":
            values = np.ones(n_queries * k)
        else:
            values = dist.astype(np.float64).ravel()
        indptr = np.arange(0, n_queries * k + 1, k)
        return sp.csr_matrix((values, ids.ravel(), indptr),
                             shape=(n_queries, self.n_samples_fit_))

    def fit_transform(self, X, y=None):
        """``fit(X).transform(X)``: each sample's neighbours among the samples, itself included."""
        return self.fit(X, y).transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # the graph is float64 whatever the input
        return tags
