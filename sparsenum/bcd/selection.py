"""Block selection rules (Nutini et al. 2022, Section 3).

Every greedy rule maximises a guaranteed progress. For a coordinate with curvature ``L`` the
progress of the (proximal) step ``d`` is ``q_i(L) = -(g_i d + L/2 d^2 + l1 (|x_i + d| - |x_i|))``,
which is ``g_i^2 / (2L)`` without the L1 term. The rules differ in the curvature they use:

* ``"gs"`` (Gauss-Southwell): one global constant ``L_max`` (so ``argmax ||g_b||``; GS-r with L1);
* ``"gsl"`` (GS-Lipschitz): the block constant ``L_b`` (or ``L_i`` for variable blocks);
* ``"gsd"`` (GS-diagonal): a diagonal bound ``D_b >= hess_bb`` (Gershgorin), separable;
* ``"gsq"`` (GS-quadratic): ``g_b' H_b^{-1} g_b`` with the block matrix bound — exact for fixed
  blocks, approximated by a few iterative-hard-thresholding steps for variable blocks; smooth
  problems only.

``"cyclic"``, ``"random"`` and ``"lipschitz"`` (P(b) proportional to ``L_b``) need no gradient.
For variable blocks a greedy rule takes the ``block_size`` coordinates of largest progress;
``"forest"`` blocks grow greedily by GSL progress while the block's graph stays a forest.
"""

from __future__ import annotations

import numpy as np

from ._kernels import greedy_forest
from .problems import prox_l1

__all__ = ["SELECTIONS", "coordinate_progress", "select_block"]

SELECTIONS = ("cyclic", "random", "lipschitz", "gs", "gsl", "gsq", "gsd")


def coordinate_progress(x, g, curvature, l1, nonneg):
    """Guaranteed decrease ``q_i`` of each coordinate's (proximal) step with the given curvature."""
    if not (l1 or nonneg):
        return g * g / (2.0 * curvature)
    d = prox_l1(x - g / curvature, l1 / curvature, nonneg) - x
    return -(g * d + 0.5 * curvature * d * d + l1 * (np.abs(x + d) - np.abs(x)))


def _progress_for(rule, ctx, state, per_block_L):
    p = ctx.problem
    if rule == "gs":
        curv = ctx.L_max
    elif rule == "gsl":
        curv = per_block_L
    else:  # gsd
        curv = ctx.diag_bound
    return coordinate_progress(state.x, state.grad, curv, p.l1, p.nonneg)


def _top(scores, k):
    if k >= scores.shape[0]:
        return np.arange(scores.shape[0])
    idx = np.argpartition(-scores, k - 1)[:k]
    return np.sort(idx)


def _gsq_variable(ctx, state):
    """Approximate ``argmax_{|b| <= tau} max_d -(g'd + 1/2 d'Hd)`` by hard-thresholded steps."""
    g, tau, dbound = state.grad, ctx.partition.block_size, ctx.diag_bound
    support = _top(g * g / dbound, tau)
    d = np.zeros_like(g)
    d[support] = -g[support] / dbound[support]
    step = 1.0 / ctx.diag_bound.max()  # Gershgorin: max row sum >= lambda_max(H)
    for _ in range(ctx.gsq_iht_steps):
        trial = d - step * (g + ctx.problem.bound_matvec(d))
        support = _top(np.abs(trial), tau)
        d = np.zeros_like(g)
        d[support] = trial[support]
    return support


def select_block(rule, ctx, state, iteration):
    """The block (sorted coordinate ids) that ``rule`` picks at ``iteration``."""
    part = ctx.partition
    if part.kind == "forest":
        scores = _progress_for("gsl" if rule not in ("gs", "gsd") else rule, ctx, state,
                               ctx.problem.lipschitz)
        priority = np.argsort(-scores, kind="stable")
        priority = priority[scores[priority] > 0]
        block = greedy_forest(ctx.problem.Q.indptr, ctx.problem.Q.indices, priority,
                              part.block_size, ctx.uf, ctx.in_block)
        return np.sort(block)
    if part.fixed:
        nb = part.n_blocks
        if rule == "cyclic":
            return part.blocks[iteration % nb]
        if rule == "random":
            return part.blocks[ctx.rng.integers(nb)]
        if rule == "lipschitz":
            return part.blocks[ctx.rng.choice(nb, p=ctx.block_prob)]
        if rule == "gsq":
            return part.blocks[int(np.argmax(ctx.gsq_scores(state.grad)))]
        scores = _progress_for(rule, ctx, state, ctx.block_L[part.owner])
        totals = np.add.reduceat(scores[part.order], part.starts)
        return part.blocks[int(np.argmax(totals))]
    tau, n = part.block_size, ctx.problem.n_coords
    if rule == "random":
        return np.sort(ctx.rng.choice(n, size=min(tau, n), replace=False))
    if rule == "lipschitz":
        prob = ctx.problem.lipschitz / ctx.problem.lipschitz.sum()
        return np.sort(ctx.rng.choice(n, size=min(tau, n), replace=False, p=prob))
    if rule == "gsq":
        return _gsq_variable(ctx, state)
    return _top(_progress_for(rule, ctx, state, ctx.problem.lipschitz), tau)
