"""Exact (unregularised) optimal transport through POT's network simplex, as a reference."""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..utils import check_int
from ._result import TransportResult, make_history, marginal_violation
from ._validation import Problem

__all__ = ["emd"]


def emd(a, b, C, *, max_iter=100_000) -> TransportResult:
    r"""Exact optimal transport by POT's network simplex (``ot.emd``), as a reference path.

    Solves the linear program :math:`\min_P \langle C, P\rangle` subject to
    :math:`P 1 = a,\ P^T 1 = b,\ P \ge 0` exactly, by the network simplex of POT (Bonneel et
    al. 2011), with this module's validation and result type: the cost every regularised solver
    of :mod:`sparsenum.ot` approaches as its regularisation vanishes, and the certified answer
    to compare them with. The plan is a vertex of the transport polytope, with at most
    ``n + m - 1`` nonzeros. Its cost grows roughly cubically with ``n``: beyond a few thousand
    points prefer the entropic solvers.

    POT is imported on the first call.

    Parameters
    ----------
    a : array-like of shape (n,)
        Source weights, nonnegative, with finite positive total mass.
    b : array-like of shape (m,)
        Target weights, nonnegative, same total mass as ``a`` (relative tolerance 1e-6; ``b``
        is rescaled to the mass of ``a``, which POT's own check needs to 1e-7 absolute).
    C : array-like of shape (n, m)
        Finite ground cost, ``max|C| <= 1e300``.
    max_iter : int, default=100_000
        Maximum simplex pivots (``numItermax`` of ``ot.emd``). If they run out, ``converged``
        is False and the plan is feasible but not optimal.

    Returns
    -------
    TransportResult
        ``objective`` equals ``cost``; ``dual_objective`` is ``a @ f + b @ g`` with POT's dual
        potentials (equal to ``cost`` at the optimum); ``n_iter`` is 1 (one exact solve; POT does
        not report its pivots) and the history has one row.

    Raises
    ------
    ValueError, TypeError
        For invalid weights or costs, as :func:`~sparsenum.ot.sinkhorn`, or ``max_iter < 1``.

    References
    ----------
    N. Bonneel, M. van de Panne, S. Paris, W. Heidrich, "Displacement interpolation using
    Lagrangian mass transport", ACM Trans. Graph. 30(6), 2011 (the network simplex of POT).
    R. Flamary et al., "POT: Python Optimal Transport", JMLR 22(78), 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.ot import emd
    >>> res = emd([0.5, 0.5], [0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]])
    >>> res.cost, res.plan
    (0.0, array([[0.5, 0. ],
           [0. , 0.5]]))
    """
    problem = Problem.of(a, b, C, None, regularised=False)
    max_iter = check_int(max_iter, "max_iter", low=1)
    import ot  # POT: imported here, not with sparsenum.ot

    start = time.perf_counter()
    with warnings.catch_warnings():
        # POT warns when the pivots run out; the result says so in `converged`
        warnings.simplefilter("ignore", UserWarning)
        plan, log = ot.emd(problem.a, problem.b, problem.C, numItermax=min(max_iter, 2**31 - 1),
                           log=True)
    elapsed = time.perf_counter() - start
    plan = np.asarray(plan, dtype=np.float64)
    f, g = np.asarray(log["u"], dtype=np.float64), np.asarray(log["v"], dtype=np.float64)
    converged = int(log.get("result_code", 0)) == 1
    criterion = marginal_violation(plan, problem.a, problem.b)
    dual_unit = float(problem.a @ f + problem.b @ g)
    mass = problem.mass
    history = make_history([criterion], [dual_unit * mass], iteration=[1], elapsed=[elapsed])
    plan, f, g = problem.support.expand(plan * mass, f, g, problem.shape)
    cost = float(np.sum(problem.C_full * plan))
    marginals = problem.marginals
    return TransportResult(
        plan=plan, f=f, g=g, cost=cost, objective=cost, dual_objective=dual_unit * mass,
        marginal_error=marginal_violation(plan, marginals.a, marginals.b),
        converged=converged, n_iter=1, history=history)
