"""scikit-learn estimator: BCDLabelPropagation (harmonic label propagation by BCD)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from sparsenum.base import IterativeEstimatorMixin
from sparsenum.utils import check_int, check_one_of, check_scalar

from ._validation import (
    affinity_from_graph,
    check_squares_finite,
    check_tol,
    check_verbose,
    is_graph,
    validate_xy,
)
from .quadratic import LabelPropagation
from .solver import block_coordinate_descent

_UPDATES = ("gradient", "adaptive", "matrix", "newton", "exact", "message_passing")

__all__ = ["BCDLabelPropagation"]


class BCDLabelPropagation(IterativeEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Semi-supervised harmonic label propagation solved by block coordinate descent.

    For each class, the scores ``u`` of the unlabelled nodes minimise
    ``1/2 sum_edges w_ij (u_i - u_j)^2 + reg/2 ||u||^2`` with labelled nodes clamped to their
    one-hot labels — the sparse positive definite system ``(L_UU + reg I) u = W_UL t_L``. By default
    greedy GSL blocks of ``block_size`` nodes are minimised exactly; ``update="message_passing"``
    instead grows forest-structured blocks and solves them in linear time (Nutini et al. 2022,
    Section 5) — cheaper per step, but on k-NN graphs, whose forests leave many edges out, it
    needed more iterations than dense blocks in our benchmark.

    Labels: ``-1`` marks an unlabelled sample (scikit-learn's semi-supervised convention);
    class labels may be numbers or strings. A string that reads as ``-1`` (``"-1"``,
    ``"-1.0"``) is refused: NumPy turns a list mixing ``-1`` and strings into strings, so it
    is almost surely a lost unlabelled marker (mark such samples with the integer ``-1`` in an
    object array instead).

    Graphs: with ``kernel="precomputed"``, ``X`` may be a networkx graph (undirected; the edge
    attribute ``"weight"`` is the affinity, 1 where absent), with nodes of any hashable kind.
    ``y`` is then an array in the order of ``list(X.nodes)``, or a mapping ``{node: label}``
    of the labelled nodes only; ``nodes_`` records the order.

    Parameters
    ----------
    kernel : {"knn", "rbf", "precomputed"}, default="knn"
        Graph from ``X``: symmetrised k-NN connectivity, a dense RBF affinity, or ``X`` itself as
        an affinity matrix (n_samples x n_samples, dense or sparse) or a networkx graph.
    gamma : float, default=20
        RBF parameter.
    n_neighbors : int, default=7
        k of the k-NN graph.
    reg : float, default=0
        Ridge term; 0 requires every connected component to hold a labelled node.
    update : {"auto", "message_passing", "exact", "gradient", ...}, default="auto"
        ``"auto"`` is ``"exact"`` (exact minimisation of variable greedy blocks).
    block_size : int, default=256
    tol : float, default=1e-8
        Relative to the initial gradient norm; ``0`` asks for machine precision (the solver
        ends when progress stalls).
    max_iter : int, default=10000
        Block updates per class.
    verbose : int or bool, default=0
        ``1``: a summary line per class; ``2``: a line per block update.

    Attributes
    ----------
    classes_ : ndarray
    label_distributions_ : ndarray of shape (n_samples, n_classes)
    transduction_ : ndarray of shape (n_samples,)
        Labels assigned to the training nodes.
    nodes_ : list or None
        The graph's nodes in the order of the rows above, when ``X`` was a networkx graph.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_moons
    >>> from sparsenum.bcd import BCDLabelPropagation
    >>> X, y = make_moons(200, noise=0.05, random_state=0)
    >>> partial = np.full(200, -1); partial[:10] = y[:10]
    >>> model = BCDLabelPropagation(n_neighbors=7).fit(X, partial)
    >>> float((model.transduction_ == y).mean()) > 0.95
    True
    """

    def __init__(self, kernel="knn", *, gamma=20.0, n_neighbors=7, reg=0.0, update="auto",
                 block_size=256, tol=1e-8, max_iter=10000, verbose=0):
        self.kernel = kernel
        self.gamma = gamma
        self.n_neighbors = n_neighbors
        self.reg = reg
        self.update = update
        self.block_size = block_size
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def _graph(self, X, gamma):
        if self.kernel == "precomputed":
            if X.shape[0] != X.shape[1]:
                raise ValueError(f"with kernel='precomputed' X must be a square affinity matrix; "
                                 f"got shape {X.shape}")
            W = sp.csr_matrix(X)
            if W.nnz and W.data.min() < 0:
                raise ValueError(f"with kernel='precomputed' X holds affinities, which must be "
                                 f"nonnegative; got min {W.data.min():.6g}")
            return 0.5 * (W + W.T)
        # squared distances (or gamma times them) must be representable
        check_squares_finite(4.0 * np.einsum("ij,ij->i", X, X), "X", "squared distances")
        if self.kernel == "rbf":
            return sp.csr_matrix(rbf_kernel(X, X, gamma=gamma))
        k = min(check_int(self.n_neighbors, "n_neighbors", low=1), X.shape[0] - 1)
        self._nn = NearestNeighbors(n_neighbors=max(k, 1)).fit(X)
        W = self._nn.kneighbors_graph(X, k, mode="connectivity") if k >= 1 else \
            sp.csr_matrix((X.shape[0], X.shape[0]))
        return W.maximum(W.T).tocsr()

    def fit(self, X, y):
        """Fit on features (or an affinity, or a networkx graph) ``X`` and labels ``y``
        (-1 = unlabelled)."""
        check_one_of(self.kernel, "kernel", ("knn", "rbf", "precomputed"))
        gamma = check_scalar(self.gamma, "gamma", low=0.0, include_low=False)
        reg = check_scalar(self.reg, "reg", low=0.0)
        update = check_one_of(self.update, "update", ("auto", *_UPDATES))
        block_size = check_int(self.block_size, "block_size", low=1)
        tol = check_tol(self.tol)
        max_iter = check_int(self.max_iter, "max_iter", low=1)
        verbose = check_verbose(self.verbose)
        if self.kernel == "knn":
            check_int(self.n_neighbors, "n_neighbors", low=1)
        self.nodes_ = None
        if is_graph(X):
            if self.kernel != "precomputed":
                raise ValueError(f"X is a networkx graph: use kernel='precomputed' (its edge "
                                 f"weights are the affinities); got kernel={self.kernel!r}")
            X, self.nodes_ = affinity_from_graph(X, "X")
            if isinstance(y, Mapping):
                y = _labels_from_mapping(y, self.nodes_)
        elif isinstance(y, Mapping):
            raise TypeError("y may be a mapping {node: label} only when X is a networkx graph; "
                            "otherwise give an array with -1 for unlabelled samples")
        X, y = validate_xy(self, X, y, accept_sparse="csr" if self.kernel == "precomputed"
                           else False, dtype=np.float64)
        labelled = ~_unlabelled(y)
        check_classification_targets(y[labelled])
        _refuse_lost_markers(y[labelled])
        self.classes_ = np.unique(y[labelled])
        if self.classes_.shape[0] < 2:
            raise ValueError(f"the labelled samples of y must hold at least two classes; got "
                             f"{self.classes_.shape[0]} class(es): {self.classes_.tolist()}")
        self._X_fit = X
        n, k = X.shape[0], self.classes_.shape[0]
        dist = np.zeros((n, k))
        dist[labelled, np.searchsorted(self.classes_, y[labelled])] = 1.0
        results = []
        if not labelled.all():
            W = self._graph(X, gamma)
            update = "exact" if update == "auto" else update
            partition = "forest" if update == "message_passing" else "variable"
            for c in range(k):
                problem = _problem(W, dist[:, c], labelled, reg, self.kernel)
                tol_c = tol * max(problem.optimality(problem.start()), 1e-300)
                res = block_coordinate_descent(problem, partition=partition, selection="gsl",
                                               update=update, block_size=block_size,
                                               tol=tol_c, max_iter=max_iter, verbose=verbose)
                dist[problem.unlabelled, c] = res.x
                results.append(res)
        dist = np.clip(dist, 0.0, None)
        total = dist.sum(axis=1, keepdims=True)
        dist = np.where(total > 0, dist / np.where(total > 0, total, 1.0), 1.0 / k)
        self.label_distributions_ = dist
        self.transduction_ = self.classes_[np.argmax(dist, axis=1)]
        if results:
            worst = max(results, key=lambda r: (not r.converged, r.n_iter))
            return self._record_convergence(worst)
        self.n_iter_, self.converged_, self.history_ = 0, True, None
        return self

    def predict_proba(self, X):
        """Class probabilities of new points: affinity-weighted label distributions.

        With ``kernel="precomputed"``, ``X`` holds the affinities of the new points to the
        training samples (shape ``(n_new, n_train)``)."""
        check_is_fitted(self)
        if is_graph(X):
            raise TypeError("X is a networkx graph: predictions take the affinities of new "
                            "points to the training nodes, an array of shape (n_new, "
                            f"{self._X_fit.shape[0]}); the training nodes' labels are in "
                            "transduction_")
        X = validate_data(self, X, reset=False, dtype=np.float64,
                          accept_sparse="csr" if self.kernel == "precomputed" else False)
        if self.kernel == "precomputed":
            K = sp.csr_matrix(X)
        elif self.kernel == "rbf":
            K = sp.csr_matrix(rbf_kernel(X, self._X_fit, gamma=self.gamma))
        else:
            nn = NearestNeighbors(n_neighbors=min(self.n_neighbors, self._X_fit.shape[0]))
            K = nn.fit(self._X_fit).kneighbors_graph(X, mode="connectivity")
        P = np.asarray(K @ self.label_distributions_)
        total = P.sum(axis=1, keepdims=True)
        empty = total[:, 0] <= 0
        if empty.any():  # no affinity to any training node: use the nearest one
            nearest = NearestNeighbors(n_neighbors=1).fit(self._X_fit) if \
                self.kernel != "precomputed" else None
            if nearest is not None:
                idx = nearest.kneighbors(X[empty], return_distance=False)[:, 0]
                P[empty] = self.label_distributions_[idx]
            else:
                P[empty] = 1.0
            total = P.sum(axis=1, keepdims=True)
        return P / total

    def predict(self, X):
        """Most probable class of each new point."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _problem(W, targets, labelled, reg, kernel):
    """The class's label-propagation problem; errors speak of X and y, as the user passed."""
    try:
        return LabelPropagation(W, targets, labelled, reg=reg)
    except ValueError as exc:
        if "without a labelled node" not in str(exc):
            raise
        hint = {"knn": "a larger n_neighbors connects more samples",
                "rbf": "a smaller gamma connects more samples",
                "precomputed": "X's affinities leave some samples unconnected"}[kernel]
        raise ValueError(f"X, y: {exc}; the labelled samples are those of y other than -1, "
                         f"and {hint}") from None


def _unlabelled(y):
    """The samples marked -1: numeric labels equal to -1, or the integer -1 in an object
    array (a string never marks a sample as unlabelled)."""
    if y.dtype.kind in "biuf":
        return y == -1
    if y.dtype.kind == "O":
        return np.array([not isinstance(v, (str, bytes)) and v == -1 for v in y], dtype=bool)
    return np.zeros(y.shape[0], dtype=bool)


def _refuse_lost_markers(labels):
    """Refuse string class labels that read as the unlabelled marker -1."""
    if labels.dtype.kind not in "OUS":
        return
    for value in np.unique(labels.astype(str)):
        try:
            lost = float(value) == -1.0
        except ValueError:
            continue
        if lost:
            raise ValueError(
                f"y holds the string label {value!r}, which reads as the unlabelled marker -1: "
                f"NumPy turns a list mixing -1 and strings into strings. Mark unlabelled "
                f"samples with the integer -1 in an object array, or use numeric labels")


def _labels_from_mapping(labels, nodes):
    """An object array in node order from ``{node: label}`` (-1 where a node has none)."""
    known = set(nodes)
    unknown = [node for node in labels if node not in known]
    if unknown:
        raise ValueError(f"y labels nodes that are not in the graph X: {unknown[:5]}")
    return np.array([labels.get(node, -1) for node in nodes], dtype=object)
