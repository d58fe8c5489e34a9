"""Sparse quadratic problems, and graph label propagation written as one.

``f(x) = 1/2 x'Qx - c'x + const`` with ``Q`` sparse, symmetric positive definite. The gradient
``Qx - c`` changes by ``Q[:, b] d`` after a block step, which costs the number of nonzeros in the
block's rows. Blocks whose graph (edges = off-diagonal nonzeros of ``Q``) is a forest can be
minimised exactly in linear time by message passing (``update="message_passing"``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sparsenum.utils import check_array, check_scalar, check_sparse

from ._kernels import (
    csr_block_quad,
    csr_block_update,
    csr_submatrix,
    forest_solve,
    greedy_forest,
)
from ._validation import affinity_from_graph, is_graph
from .problems import BCDProblem, ProblemState

__all__ = ["LabelPropagationProblem", "SparseQuadratic"]


class SparseQuadratic(BCDProblem):
    """``f(x) = 1/2 x'Qx - c'x + constant`` with ``Q`` sparse symmetric positive definite.

    Parameters
    ----------
    Q : sparse matrix or array-like of shape (n, n)
        Symmetric with a positive diagonal (checked); positive definiteness is assumed.
    c : array-like of shape (n,)
    constant : float, default=0
        Added to ``f`` (so that ``f`` can equal an original objective).
    l1 : float, default=0
    nonneg : bool, default=False

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import SparseQuadratic, block_coordinate_descent
    >>> Q = np.array([[2.0, -1.0], [-1.0, 2.0]])
    >>> res = block_coordinate_descent(SparseQuadratic(Q, [1.0, 1.0]), block_size=2,
    ...                                update="exact", tol=1e-12)
    >>> np.round(res.x, 6)
    array([1., 1.])
    """

    is_quadratic = True
    supports_message_passing = True

    def __init__(self, Q, c, *, constant=0.0, l1=0.0, nonneg=False):
        Q = check_sparse(Q, "Q", format="csr", accept_dense=True)
        Q = sp.csr_matrix(Q) if not sp.issparse(Q) else Q
        if Q.shape[0] != Q.shape[1] or Q.shape[0] < 1:
            raise ValueError(f"Q must be square with at least one row; got shape {Q.shape}")
        asym = abs(Q - Q.T)
        if asym.nnz and asym.max() > 1e-10 * max(abs(Q).max(), 1.0):
            raise ValueError("Q must be symmetric")
        diag = Q.diagonal()
        if not (diag > 0).all():
            raise ValueError(f"Q must have a positive diagonal; got min {diag.min():.3g}")
        Q.sort_indices()
        self.Q = Q
        self.n_coords = Q.shape[0]
        c = check_array(c, "c", ndim=1)
        if c.shape[0] != self.n_coords:
            raise ValueError(f"c must have length {self.n_coords}; got {c.shape[0]}")
        self.c = c
        self.constant = check_scalar(constant, "constant")
        self._check_penalty(l1, nonneg)
        self.lipschitz = diag.astype(np.float64)
        self._rowsum = np.asarray(abs(Q).sum(axis=1)).ravel()
        self._local = np.full(self.n_coords, -1, dtype=np.int64)  # message-passing work array

    def start(self, x0=None):
        x = self._check_x0(x0)
        Qx = self.Q @ x
        return ProblemState(x=x, z=None, grad=Qx - self.c,
                            f=float(0.5 * x @ Qx - self.c @ x + self.constant))

    def _sub(self, block):
        Q = self.Q
        return csr_submatrix(Q.indptr, Q.indices, Q.data, np.asarray(block, np.int64),
                             self._local)

    def smooth_change(self, state, block, d):
        Q = self.Q
        quad = csr_block_quad(Q.indptr, Q.indices, Q.data, np.asarray(block, np.int64),
                              np.asarray(d, np.float64), self._local)
        return float(state.grad[block] @ d + 0.5 * quad)

    def directional_derivative(self, state, block, d):
        return float((state.grad[block] + self._sub(block) @ d) @ d)

    def apply(self, state, block, d):
        Q = self.Q
        gb = float(state.grad[block] @ d)
        # Q symmetric: the block's rows are its columns
        quad = csr_block_update(Q.indptr, Q.indices, Q.data, np.asarray(block, np.int64),
                                np.asarray(d, np.float64), self._local, state.grad)
        state.f += gb + 0.5 * quad
        state.x[block] += d

    def block_bound(self, block):
        return self._sub(block)

    def block_hessian(self, state, block):
        return self._sub(block)

    def diag_bound(self, block_size):
        return self._rowsum.copy()

    def bound_matvec(self, v):
        return self.Q @ v

    # -- forest-structured blocks (partition="forest", update="message_passing") --------------
    def solve_forest_block(self, block, rhs):
        """``d`` with ``Q_bb d = rhs`` in ``O(|b|)`` by message passing when the block's graph is a
        forest; NaN entries when it has a cycle."""
        Q = self.Q
        return forest_solve(Q.indptr, Q.indices, Q.data, np.asarray(block, np.int64), rhs,
                            self._local)

    def grow_forest_block(self, priority, max_size, union_find, in_block):
        """Coordinates taken in ``priority`` order while the block's graph stays a forest, up to
        ``max_size`` (``union_find`` and ``in_block`` are work arrays of length n_coords)."""
        return greedy_forest(self.Q.indptr, self.Q.indices, priority, max_size, union_find,
                             in_block)


class LabelPropagationProblem(SparseQuadratic):
    """Harmonic label propagation: ``min_x 1/2 sum_{ij} w_ij (u_i - u_j)^2 + reg/2 ||x||^2``.

    ``u`` equals the given targets on labelled nodes and ``x`` on unlabelled ones; the sum runs
    over every edge once (``W`` symmetric, ``w_ij = W[i, j]``). Over the unlabelled nodes ``U`` this
    is the sparse quadratic with ``Q = L_UU + reg I`` (``L`` the graph Laplacian) and
    ``c = W_UL t_L``. Each connected component needs a labelled node unless ``reg > 0``.

    This is the problem that :func:`block_coordinate_descent` solves; the scikit-learn
    estimator built on it is :class:`BCDLabelPropagation`. ``sparsenum.bcd.LabelPropagation``,
    its former name, still refers to this class.

    Parameters
    ----------
    W : sparse matrix, array-like of shape (n_nodes, n_nodes), or networkx graph
        Symmetric nonnegative edge weights (the diagonal is ignored). A networkx graph
        (undirected) gives its edge attribute ``"weight"`` (1 where absent), with nodes in the
        order of ``list(W.nodes)``; see also :meth:`from_graph`.
    targets : array-like of shape (n_nodes,)
        Values of the labelled nodes (e.g. +1/-1 or a one-vs-rest indicator); ignored elsewhere.
    labelled : array-like of bool, shape (n_nodes,)
    reg : float, default=0
        Ridge term on the unlabelled values.

    Attributes
    ----------
    unlabelled : ndarray of int
        Node ids (positions) of the coordinates.
    nodes : list or None
        The graph's nodes in the order of the positions, when ``W`` was a networkx graph.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import LabelPropagationProblem, block_coordinate_descent
    >>> W = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], float)  # a path 0 - 1 - 2
    >>> p = LabelPropagationProblem(W, [1.0, 0.0, -1.0], [True, False, True])
    >>> float(block_coordinate_descent(p, update="exact", tol=1e-12).x[0])
    0.0
    """

    def __init__(self, W, targets, labelled, *, reg=0.0, l1=0.0, nonneg=False):
        self.nodes = None
        if is_graph(W):
            W, self.nodes = affinity_from_graph(W, "W")
        W = check_sparse(W, "W", format="csr", accept_dense=True)
        W = sp.csr_matrix(W) if not sp.issparse(W) else W
        n = W.shape[0]
        if W.shape != (n, n) or n < 1:
            raise ValueError(f"W must be square with at least one row; got shape {W.shape}")
        if W.nnz and W.data.min() < 0:
            raise ValueError("W must have nonnegative weights")
        W = W - sp.diags(W.diagonal())
        W.eliminate_zeros()
        asym = abs(W - W.T)
        if asym.nnz and asym.max() > 1e-10 * max(W.max(), 1.0):
            raise ValueError("W must be symmetric")
        t = check_array(targets, "targets", ndim=1)
        if t.shape != (n,):
            raise ValueError(f"targets must have length n_nodes={n}; got {t.shape[0]}")
        if isinstance(labelled, (str, bytes)):
            raise TypeError(f"labelled must be a boolean array of length n_nodes={n}; got "
                            f"{labelled!r}")
        lab = np.asarray(labelled)
        if lab.dtype != np.bool_ or lab.shape != (n,):
            raise ValueError(f"labelled must be a boolean array of length n_nodes={n}; got "
                             f"dtype {lab.dtype} and shape {lab.shape}")
        if not lab.any():
            raise ValueError("at least one node must be labelled")
        reg = check_scalar(reg, "reg", low=0.0)
        if reg == 0:
            n_comp, comp = connected_components(W, directed=False)
            has_label = np.zeros(n_comp, bool)
            has_label[comp[lab]] = True
            if not has_label.all():
                missing = int((~has_label).sum())
                raise ValueError(
                    f"the graph has {missing} connected component(s) without a labelled node; "
                    "their values are undetermined: connect the graph, label a node in each "
                    "component, or use reg > 0")
        U = np.flatnonzero(~lab)
        if U.size == 0:
            raise ValueError("at least one node must be unlabelled")
        L_idx = np.flatnonzero(lab)
        degree = np.asarray(W.sum(axis=1)).ravel()
        W_UU = W[U][:, U]
        Q = sp.diags(degree[U] + reg) - W_UU
        c = W[U][:, L_idx] @ t[L_idx]
        # edges among labelled nodes: constant part of the objective
        W_LL = W[L_idx][:, L_idx].tocoo()
        const = 0.25 * float(np.sum(W_LL.data * (t[L_idx][W_LL.row] - t[L_idx][W_LL.col]) ** 2))
        W_UL = W[U][:, L_idx].tocoo()
        const += 0.5 * float(np.sum(W_UL.data * t[L_idx][W_UL.col] ** 2))
        super().__init__(Q.tocsr(), c, constant=const, l1=l1, nonneg=nonneg)
        self.unlabelled = U
        self.W = W

    @classmethod
    def from_graph(cls, G, targets, *, weight="weight", reg=0.0, l1=0.0, nonneg=False):
        """Label propagation on a networkx graph, with targets given per labelled node.

        Parameters
        ----------
        G : networkx.Graph
            Undirected; nodes of any hashable kind. Edge attribute ``weight`` is the affinity
            (1 where absent; parallel edges of a multigraph add up).
        targets : mapping of node to float
            The values of the labelled nodes; every other node is unlabelled.
        weight : str, default="weight"
            Name of the edge attribute holding the affinity.
        reg, l1, nonneg :
            As in the constructor.

        Returns
        -------
        LabelPropagationProblem
            With ``nodes`` the graph's nodes in position order; ``unlabelled_nodes()`` maps a
            solution back to them.

        Examples
        --------
        >>> import networkx as nx
        >>> from sparsenum.bcd import LabelPropagationProblem, block_coordinate_descent
        >>> G = nx.path_graph(["a", "b", "c"])
        >>> p = LabelPropagationProblem.from_graph(G, {"a": 1.0, "c": -1.0})
        >>> res = block_coordinate_descent(p, update="exact", tol=1e-12)
        >>> dict(zip(p.unlabelled_nodes(), res.x.round(6).tolist()))
        {'b': 0.0}
        """
        if not is_graph(G):
            raise TypeError(f"G must be a networkx graph; got {type(G).__name__}")
        if not hasattr(targets, "items") or isinstance(targets, (str, bytes)):
            raise TypeError("targets must be a mapping {node: value} of the labelled nodes; "
                            f"got {type(targets).__name__}")
        if not isinstance(weight, str):
            raise TypeError(f"weight must be the name of an edge attribute; got {weight!r}")
        W, nodes = affinity_from_graph(G, "G", weight=weight)
        position = {node: k for k, node in enumerate(nodes)}
        missing = [node for node in targets if node not in position]
        if missing:
            raise ValueError(f"targets names nodes that are not in G: {missing[:5]}")
        values = np.zeros(len(nodes))
        labelled = np.zeros(len(nodes), dtype=bool)
        for node, value in targets.items():
            values[position[node]] = check_scalar(value, f"targets[{node!r}]")
            labelled[position[node]] = True
        problem = cls(W, values, labelled, reg=reg, l1=l1, nonneg=nonneg)
        problem.nodes = nodes
        return problem

    def unlabelled_nodes(self):
        """The nodes of the coordinates: graph nodes if built from a graph, else positions."""
        if self.nodes is None:
            return self.unlabelled.tolist()
        return [self.nodes[k] for k in self.unlabelled]
