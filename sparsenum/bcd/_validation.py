"""Input checks of the bcd functions and estimators, built on :mod:`sparsenum.utils`.

Messages name the user's argument (``X``, ``y``, ``tol``), the rule and the value received.
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp

from sparsenum.utils import check_int, check_one_of, check_scalar
from sparsenum.utils.validation import describe_value

__all__ = ["affinity_from_graph", "check_callback", "check_solver", "check_squares_finite",
           "check_tol", "check_verbose", "is_graph", "validate_xy"]


def check_tol(tol, name: str = "tol") -> float:
    """A finite ``tol >= 0``; ``0`` asks for machine precision (each solver documents how)."""
    return check_scalar(tol, name, low=0.0)


def check_verbose(verbose) -> int:
    """``verbose`` as an integer level: a nonnegative integer, or True (1) / False (0)."""
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    return check_int(verbose, "verbose", low=0)


def check_callback(callback):
    """None or a callable ``callback(iteration, state)``."""
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be None or a callable callback(iteration, state); got "
                        f"{describe_value(callback)} of type {type(callback).__name__}")
    return callback


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
