"""Laplacian systems ``L_G x = b`` by conjugate gradients preconditioned with a sparsifier."""

from __future__ import annotations

import numpy as np

from sparsenum.base import ConvergenceHistory
from sparsenum.utils import check_array, check_int, check_one_of, check_scalar

from ._graphs import as_graph, same_nodes
from ._laplacian import GroundedSolver, components, ground_nodes, laplacian, project_out_constants
from ._result import LaplacianSolveResult

__all__ = ["solve_laplacian"]


def solve_laplacian(G, b, *, preconditioner=None, tol=1e-8, max_iter=1000,
                    factorization="cholesky", callback=None):
    """Solve ``L_G x = b`` by preconditioned conjugate gradients.

    Parameters
    ----------
    G : scipy.sparse matrix, ndarray or networkx.Graph
        Symmetric nonnegative adjacency or undirected networkx graph (see :func:`sparsify`).
    b : array-like of shape (n,)
        Right-hand side (networkx: in the order of ``G.nodes``). It must sum to zero on every
        connected component (otherwise the system has no solution).
    preconditioner : None, "sparsify", or a graph on the same nodes
        ``None``: plain conjugate gradients; ``"sparsify"``: ``sparsify(G)`` with its defaults
        (GRASS, 10% off-tree edges, ``random_state=0``); a graph ``H``: its Laplacian, applied
        through a factorization. ``H`` must have the same connected components as ``G``.
    tol : float, default=1e-8
        Stop when ``||b - L_G x|| <= tol ||b||``.
    max_iter : int, default=1000
        Most iterations.
    factorization : {"cholesky", "amg"}, default="cholesky"
        How ``L_H`` is applied: ``"cholesky"``, a sparse factorization of the grounded ``L_H``
        (SuperLU, symmetric ordering, no pivoting); ``"amg"``, one smoothed-aggregation
        V-cycle of pyamg (needs ``pip install pyamg``).
    callback : callable, optional
        ``callback(iteration, x)`` after each iteration.

    Returns
    -------
    result : LaplacianSolveResult
        ``x`` (zero mean per component), ``residual_norm`` (relative, recomputed), ``n_iter``,
        ``converged`` and the residual ``history``.

    Raises
    ------
    ValueError, TypeError
        For invalid graphs, a ``b`` of the wrong shape, non-finite or not summing to zero per
        component, or a preconditioner with other components than ``G``.

    Examples
    --------
    >>> import networkx as nx
    >>> import numpy as np
    >>> from sparsenum.graph import solve_laplacian
    >>> G = nx.grid_2d_graph(30, 30)
    >>> b = np.zeros(900); b[0], b[-1] = 1.0, -1.0
    >>> res = solve_laplacian(G, b, preconditioner="sparsify")
    >>> res.converged, bool(res.residual_norm <= 1e-8)
    (True, True)
    """
    data = as_graph(G)
    b = check_array(b, "b", ndim=1)
    if b.shape[0] != data.n:
        raise ValueError(f"b must have length {data.n} (one entry per node); got {b.shape[0]}")
    tol = check_scalar(tol, "tol", low=0.0, high=1.0, include_low=False, include_high=False)
    max_iter = check_int(max_iter, "max_iter", low=1)
    check_one_of(factorization, "factorization", ("cholesky", "amg"))
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None; got {callback!r}")
    n_comp, labels = components(data)
    sums = np.bincount(labels, weights=b, minlength=n_comp)
    scale = np.bincount(labels, weights=np.abs(b), minlength=n_comp)
    if (np.abs(sums) > 1e-10 * np.maximum(scale, np.abs(b).max())).any():
        worst = int(np.argmax(np.abs(sums)))
        raise ValueError(f"b must sum to zero on every connected component of G (L_G x = b has "
                         f"no solution otherwise); got sum {sums[worst]:.3g} on component "
                         f"{worst}")
    b = project_out_constants(b, labels, n_comp)
    L = laplacian(data)
    apply_m = _preconditioner(data, preconditioner, factorization, labels, n_comp)
    return _pcg(L, b, apply_m, tol, max_iter, labels, n_comp, callback)


def _preconditioner(data, preconditioner, factorization, labels, n_comp):
    if preconditioner is None:
        return None
    if isinstance(preconditioner, str):
        check_one_of(preconditioner, "preconditioner", ("sparsify",))
        from .sparsification import sparsify

        result = sparsify(data.adjacency(), random_state=0)
        weights, mask, hdata = result.weights, result.edge_mask, data
    else:
        hdata = same_nodes(data, as_graph(preconditioner, "preconditioner"), "preconditioner")
        weights, mask = hdata.weights, None
    n_h, _labels_h = components(hdata, mask)
    if n_h != n_comp or (hdata.m and (labels[hdata.rows] != labels[hdata.cols]).any()):
        raise ValueError(f"preconditioner must have the same connected components as G; got "
                         f"{n_h} components for G's {n_comp}")
    L_h = laplacian(hdata, weights, mask)
    grounded = ground_nodes(labels, n_comp)
    if factorization == "cholesky":
        solver = GroundedSolver(L_h, grounded)
        return lambda r: project_out_constants(solver.solve(r), labels, n_comp)
    try:
        import pyamg
    except ImportError:
        raise ImportError("factorization='amg' needs pyamg: pip install pyamg") from None
    free = np.flatnonzero(~grounded)
    ml = pyamg.smoothed_aggregation_solver(L_h[free][:, free].tocsr())
    amg = ml.aspreconditioner(cycle="V")

    def apply(r):
        z = np.zeros_like(r)
        z[free] = amg.matvec(r[free])
        return project_out_constants(z, labels, n_comp)

    return apply


def _pcg(L, b, apply_m, tol, max_iter, labels, n_comp, callback) -> LaplacianSolveResult:
    n = b.shape[0]
    b_norm = float(np.linalg.norm(b))
    history = ConvergenceHistory(max_iter + 1, criterion_name="relative_residual",
                                 labels={"relative_residual": "||b - L x|| / ||b||"})
    x = np.zeros(n)
    if b_norm == 0.0:
        history.record(0, criterion=0.0)
        return LaplacianSolveResult(converged=True, n_iter=0, history=history, x=x,
                                    residual_norm=0.0)
    r = b.copy()
    z = r if apply_m is None else apply_m(r)
    p = z.copy()
    rz = float(r @ z)
    iterations = 0
    history.record(0, criterion=1.0)
    while iterations < max_iter:
        Lp = L @ p
        alpha = rz / float(p @ Lp)
        x += alpha * p
        r -= alpha * Lp
        iterations += 1
        rel = float(np.linalg.norm(r)) / b_norm
        if callback is not None:
            callback(iterations, x)
        if rel <= tol or iterations == max_iter:
            break
        history.record(iterations, criterion=rel)
        z = r if apply_m is None else apply_m(r)
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    x = project_out_constants(x, labels, n_comp)
    true_rel = float(np.linalg.norm(b - L @ x)) / b_norm
    history.record(iterations, criterion=true_rel)  # the last row: recomputed from x
    return LaplacianSolveResult(converged=true_rel <= tol, n_iter=iterations, history=history,
                                x=x, residual_norm=true_rel)
