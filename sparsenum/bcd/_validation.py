"""Input checks of the bcd functions and estimators, built on :mod:`sparsenum.utils`.

Messages name the user's argument (``X``, ``y``, ``tol``), the rule and the value received.
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp

from sparsenum.utils import check_array, check_one_of, check_scalar, check_sparse

from ..utils.validation import check_callback, check_verbose

__all__ = ["affinity_from_graph", "check_callback", "check_csc", "check_design", "check_solver",
           "check_squares_finite", "check_tol", "check_verbose", "is_graph",
           "labels_from_mapping", "refuse_lost_markers", "unlabelled_mask", "validate_xy"]


def check_design(A, name="A"):
    """A dense float64 C array or a canonical CSC matrix, finite, at least 1 x 1."""
    if sp.issparse(A):
        A = check_sparse(A, name, format="csc")
    else:
        A = check_array(A, name, ndim=2, min_size=0)
    if min(A.shape) < 1:
        raise ValueError(f"{name} must have at least one row and one column; got shape "
                         f"{A.shape}")
    return A


def check_csc(X):
    """A canonical float64 CSC design is used as is (``check_design`` would copy it); its
    finiteness is then checked on the column norms by ``Design``."""
    if (X.format == "csc" and X.dtype == np.float64 and X.ndim == 2 and min(X.shape) >= 1
            and X.indptr.dtype == X.indices.dtype and X.has_canonical_format):
        return X
    return check_design(X, "X")


def check_tol(tol, name: str = "tol") -> float:
    """A finite ``tol >= 0``; ``0`` asks for machine precision (each solver documents how)."""
    return check_scalar(tol, name, low=0.0)




def check_solver(solver) -> str:
    """``"bcd"`` (ours) or ``"cvxpy"`` (the reference path)."""
    return check_one_of(solver, "solver", ("bcd", "cvxpy"))


def check_squares_finite(values, name: str, what: str) -> None:
    """Raise when squared magnitudes derived from ``name`` overflow float64.

    ``values`` are the squared quantities the solver needs (column norms, row norms); ``what``
    says which, for the message.
    """
    if not np.isfinite(values).all():
        raise ValueError(f"{name} has entries too large in magnitude: its {what} overflow "
                         f"float64; rescale {name}")


_NAMED = {"X": re.compile(r"\bX\b"), "y": re.compile(r"\by\b")}


def validate_xy(estimator, X, y, **kwargs):
    """scikit-learn's ``validate_data(estimator, X, y, **kwargs)``, with errors that name the
    argument at fault (``X``, ``y``, or both when their lengths differ).

    scikit-learn's own messages (``"Complex data not supported"``, ``"could not convert string
    to float"``) are kept, prefixed by the argument's name, so its estimator checks still match.
    """
    from sklearn.utils.validation import check_array, validate_data

    try:
        return validate_data(estimator, X, y, **kwargs)
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if "inconsistent numbers of samples" in message:
            raise type(exc)(f"X and y must have the same number of samples; {message}") from None
        culprit = "y"
        x_kwargs = {k: kwargs[k] for k in ("accept_sparse", "dtype", "ensure_all_finite",
                                           "ensure_min_samples") if k in kwargs}
        try:
            check_array(X, **x_kwargs)
        except (ValueError, TypeError):
            culprit = "X"
        if _NAMED[culprit].search(message):
            raise
        raise type(exc)(f"{culprit}: {message}") from None


def is_graph(X) -> bool:
    """Whether ``X`` is a networkx graph (without importing networkx when it is not loaded)."""
    import sys

    nx = sys.modules.get("networkx")
    return nx is not None and isinstance(X, nx.Graph)


def affinity_from_graph(G, name: str = "X", weight: str = "weight"):
    """``(W, nodes)``: the weighted adjacency of an undirected networkx graph as CSR, in the
    order of ``list(G.nodes)``; an edge without the ``weight`` attribute weighs 1 (parallel
    edges of a multigraph add up)."""
    import networkx as nx  # lazy: a core dependency, but only graph users need it

    if G.is_directed():
        raise ValueError(f"{name} is a directed networkx graph; label propagation needs "
                         f"symmetric affinities: pass {name}.to_undirected()")
    nodes = list(G.nodes)
    if not nodes:
        raise ValueError(f"{name} is a networkx graph without nodes")
    W = nx.to_scipy_sparse_array(G, nodelist=nodes, weight=weight, format="csr")
    W = sp.csr_matrix(W, dtype=np.float64)
    if W.nnz and not np.isfinite(W.data).all():
        raise ValueError(f"{name} has non-finite edge weights (attribute {weight!r})")
    if W.nnz and W.data.min() < 0:
        raise ValueError(f"{name} has negative edge weights (attribute {weight!r}, min "
                         f"{W.data.min():.6g}); affinities must be nonnegative")
    return W, nodes


def unlabelled_mask(y):
    """The samples marked -1: numeric labels equal to -1, or the integer -1 in an object
    array (a string never marks a sample as unlabelled)."""
    if y.dtype.kind in "biuf":
        return y == -1
    if y.dtype.kind == "O":
        return np.array([not isinstance(v, (str, bytes)) and v == -1 for v in y], dtype=bool)
    return np.zeros(y.shape[0], dtype=bool)


def refuse_lost_markers(labels):
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


def labels_from_mapping(labels, nodes):
    """An object array in node order from ``{node: label}`` (-1 where a node has none)."""
    known = set(nodes)
    unknown = [node for node in labels if node not in known]
    if unknown:
        raise ValueError(f"y labels nodes that are not in the graph X: {unknown[:5]}")
    return np.array([labels.get(node, -1) for node in nodes], dtype=object)
