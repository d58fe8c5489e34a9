"""Small problems for the common tests and the warm-up of sparsenum.ot."""

from __future__ import annotations

import numpy as np


def _problem(n=8, m=6, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random(n) + 0.1
    b = rng.random(m) + 0.1
    return a / a.sum(), b / b.sum(), rng.random((n, m))


def warm_up():
    from . import sinkhorn, sinkhorn_newton_sparse, sparsity_constrained_ot

    a, b, C = _problem()
    sinkhorn(a, b, C, 0.1)
    sinkhorn_newton_sparse(a, b, C, 0.05)
    sparsity_constrained_ot(a, b, C, 0.1, 3)
