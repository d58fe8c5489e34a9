"""Small problems for the common tests and the warm-up of sparsenum.ot."""

from __future__ import annotations

import functools

import numpy as np

from ..utils.registry import EasyFit, SolverCase


def _problem(n=8, m=6, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random(n) + 0.1
    b = rng.random(m) + 0.1
    return a / a.sum(), b / b.sum(), rng.random((n, m))


def _violation(a, b, result):
    """The history's criterion recomputed from the returned plan (weights of mass one)."""
    plan = result.plan
    return float(np.abs(plan.sum(axis=1) - a).sum() + np.abs(plan.sum(axis=0) - b).sum())


def warm_up():
    # not emd: it compiles nothing of ours, and POT's import would be counted as our first call
    from . import sinkhorn, sinkhorn_newton_sparse, sparsity_constrained_ot

    a, b, C = _problem()
    sinkhorn(a, b, C, 0.1)
    sinkhorn_newton_sparse(a, b, C, 0.05)
    sinkhorn_newton_sparse(a, b, C, 0.01, newton="always")  # the Newton stage's kernels
    sparsity_constrained_ot(a, b, C, 0.1, 3)
    sparsity_constrained_ot(a, b, C, 0.1, 3, formulation="dual")
    a, b, C = _problem(8, 8, 0)
    sparsity_constrained_ot(a, b, C, 0.1, 2)  # an infeasible dual support: the repair search


def solver_cases() -> list[SolverCase]:
    from . import emd, sinkhorn, sinkhorn_newton_sparse, sparsity_constrained_ot

    small = _problem(12, 9, 1)
    # large enough for the Newton stage and epsilon scaling to run under newton="auto"
    n = 80
    rng = np.random.default_rng(2)
    hard = (np.full(n, 1 / n), np.full(n, 1 / n), rng.random((n, n)))
    cases = [
        ("sinkhorn random 12x9 reg=0.05", sinkhorn, small, (0.05,), {}),
        ("sinkhorn_newton_sparse random 80x80 reg=1/1200 (levels, Newton)",
         sinkhorn_newton_sparse, hard, (1 / 1200,), {}),
        ("sinkhorn_newton_sparse random 12x9 newton=always", sinkhorn_newton_sparse, small,
         (0.01,), {"newton": "always"}),
        ("sparsity_constrained_ot semi_dual 12x9 max_nz=3", sparsity_constrained_ot, small,
         (0.1, 3), {}),
        ("sparsity_constrained_ot dual 12x9 max_nz=3", sparsity_constrained_ot, small,
         (0.1, 3), {"formulation": "dual"}),
        ("sparsity_constrained_ot semi_dual 12x9 max_nz=3 polish=False",
         sparsity_constrained_ot, small, (0.1, 3), {"polish": False}),
        ("emd random 12x9", emd, small, (), {}),
    ]
    out = []
    for name, fn, (a, b, C), args, kwargs in cases:
        tol = kwargs.get("tol", 1e-9) if fn in (sinkhorn, sinkhorn_newton_sparse) else None
        out.append(SolverCase(
            name=name, run=functools.partial(fn, a, b, C, *args, **kwargs),
            criterion=functools.partial(_violation, a, b), tol=tol))
    return out


def easy_fits() -> list[EasyFit]:
    from .estimators import EntropicTransport, SparseTransport

    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + 4.0]
    return [EasyFit(name="EntropicTransport", estimator=EntropicTransport(), X=X),
            EasyFit(name="SparseTransport", estimator=SparseTransport(), X=X)]
