"""scikit-learn estimators of the bcd module: BCDLasso, BCDLogisticRegression and
BCDLabelPropagation, thin wrappers over the solver functions."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.neighbors import NearestNeighbors
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from sparsenum.base import IterativeEstimatorMixin
from sparsenum.utils import check_bool, check_int, check_one_of, check_random_state, check_scalar

from ._validation import (
    affinity_from_graph,
    check_squares_finite,
    check_tol,
    check_verbose,
    is_graph,
    labels_from_mapping,
    refuse_lost_markers,
    unlabelled_mask,
    validate_xy,
)
from .framework import block_coordinate_descent
from .l1_logistic import solve_l1_logistic
from .lasso import solve_lasso
from .linear_problems import BinaryLogistic, MultinomialLogistic, squared_column_norms
from .partitions import PARTITIONS
from .quadratic_problems import LabelPropagationProblem
from .selection import SELECTIONS
from .updates import UPDATES

__all__ = ["BCDLabelPropagation", "BCDLasso", "BCDLogisticRegression"]


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
        update = check_one_of(self.update, "update", ("auto", *UPDATES))
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
                y = labels_from_mapping(y, self.nodes_)
        elif isinstance(y, Mapping):
            raise TypeError("y may be a mapping {node: label} only when X is a networkx graph; "
                            "otherwise give an array with -1 for unlabelled samples")
        X, y = validate_xy(self, X, y, accept_sparse="csr" if self.kernel == "precomputed"
                           else False, dtype=np.float64)
        labelled = ~unlabelled_mask(y)
        check_classification_targets(y[labelled])
        refuse_lost_markers(y[labelled])
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
        return LabelPropagationProblem(W, targets, labelled, reg=reg)
    except ValueError as exc:
        if "without a labelled node" not in str(exc):
            raise
        hint = {"knn": "a larger n_neighbors connects more samples",
                "rbf": "a smaller gamma connects more samples",
                "precomputed": "X's affinities leave some samples unconnected"}[kernel]
        raise ValueError(f"X, y: {exc}; the labelled samples are those of y other than -1, "
                         f"and {hint}") from None
