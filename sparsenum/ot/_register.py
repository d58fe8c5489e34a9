"""Registration of sparsenum.ot: estimators, instances for scikit-learn's checks, the demo."""

from __future__ import annotations

import time

import numpy as np

from ..utils import DemoRow

ESTIMATORS = ("EntropicTransport", "SparseTransport")

EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}


def check_instances():
    from . import EntropicTransport, SparseTransport

    return [EntropicTransport(reg=0.1, max_iter=2000),
            SparseTransport(reg=0.5, max_nz=3, tol=1e-6, max_iter=200)]


def demo(out_dir):
    """Random assignment (n=300, reg=1/400): SNS and Sinkhorn against POT's exact ot.emd2."""
    import ot

    from . import sinkhorn, sinkhorn_newton_sparse, sparsity_constrained_ot
    from ._cases import warm_up

    warm_up()  # compile every kernel first: the times and histories exclude compilation
    rng = np.random.default_rng(0)
    n = 300
    C = rng.random((n, n))
    a = np.full(n, 1.0 / n)
    exact = float(ot.emd2(a, a, C))
    rows = []
    problem = f"random assignment n={n}, reg=1/400"
    for name, fn in (("sinkhorn_newton_sparse", sinkhorn_newton_sparse), ("sinkhorn", sinkhorn)):
        start = time.perf_counter()
        res = fn(a, a, C, 1 / 400)
        rows.append(DemoRow(problem=problem, solver=name, time=time.perf_counter() - start,
                            n_iter=res.n_iter, accuracy=abs(res.cost - exact) / exact,
                            accuracy_name="|<C,P> - emd2| / emd2 (entropic bias)",
                            reference="POT ot.emd2", history=res.history))
    b = rng.random(n) + 0.2
    b /= b.sum()
    for k in (5, 2):
        start = time.perf_counter()
        res = sparsity_constrained_ot(a, b, C, 0.1, k)
        rows.append(DemoRow(problem=f"random n={n}, non-uniform b, gamma=0.1, max_nz={k}",
                            solver="sparsity_constrained_ot", time=time.perf_counter() - start,
                            n_iter=res.n_iter, accuracy=res.marginal_error,
                            accuracy_name="marginal violation of the k-sparse plan",
                            reference="feasibility (POT's plans miss by 1e-3 to 0.1)",
                            history=res.history))
    return rows


def warm_up():
    """The module's main functions once on tiny inputs (fills numba's cache)."""
    from ._cases import warm_up

    warm_up()


def solver_cases():
    """One small problem per public solver function (both sparsity-constrained formulations)."""
    from ._cases import solver_cases

    return solver_cases()


def easy_fits():
    """Both estimators with default parameters on two well-separated Gaussian clouds."""
    from ._cases import easy_fits

    return easy_fits()
