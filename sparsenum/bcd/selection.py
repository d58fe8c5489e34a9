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
``"forest"`` blocks grow greedily by the rule's progress while the block's graph stays a forest.

Each rule is a small object that declares what it requires (a fixed partition, a smooth problem)
and what it offers (per-coordinate scores, which forest blocks grow by); the partition asks it
for a block. The strings above are the public spelling; :data:`SELECTION_RULES` maps them to the
objects.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .problems import prox_l1

__all__ = ["SELECTIONS", "SELECTION_RULES", "SelectionRule", "coordinate_progress"]


def coordinate_progress(x, g, curvature, l1, nonneg):
    """Guaranteed decrease ``q_i`` of each coordinate's (proximal) step with the given curvature."""
    if not (l1 or nonneg):
        return g * g / (2.0 * curvature)
    d = prox_l1(x - g / curvature, l1 / curvature, nonneg) - x
    return -(g * d + 0.5 * curvature * d * d + l1 * (np.abs(x + d) - np.abs(x)))


def _top(scores, k):
    if k >= scores.shape[0]:
        return np.arange(scores.shape[0])
    idx = np.argpartition(-scores, k - 1)[:k]
    return np.sort(idx)


@dataclasses.dataclass(frozen=True)
class SelectionRule:
    """A block selection rule, and what it requires.

    ``pick_fixed(ctx, state, iteration)`` returns the index of a block of a fixed partition;
    ``pick_variable(ctx, state, iteration)`` the sorted coordinates of a variable block. Greedy
    rules that score single coordinates also provide ``coordinate_scores(ctx, state, L)``.
    """

    name: str
    #: only for fixed partitions (it walks their blocks in order)
    needs_fixed_partition: bool = False
    #: only for smooth problems (no L1 penalty, no x >= 0); ``alternative`` says what to use
    smooth_only: bool = False
    alternative: str = ""

    @property
    def scores_coordinates(self) -> bool:
        """Whether the rule ranks single coordinates (what forest blocks grow by)."""
        return False

    def needs_diag_bound(self, fixed_partition: bool) -> bool:
        """Whether the rule reads ``ctx.diag_bound`` (a diagonal Hessian bound)."""
        return False

    def prepare(self, ctx) -> None:
        """Precompute what the rule needs on ``ctx`` (once per run)."""

    def pick_fixed(self, ctx, state, iteration):  # pragma: no cover - interface
        raise NotImplementedError

    def pick_variable(self, ctx, state, iteration):  # pragma: no cover - interface
        raise NotImplementedError


class _Cyclic(SelectionRule):
    def pick_fixed(self, ctx, state, iteration):
        return iteration % ctx.partition.n_blocks


class _Uniform(SelectionRule):
    def pick_fixed(self, ctx, state, iteration):
        return int(ctx.rng.integers(ctx.partition.n_blocks))

    def pick_variable(self, ctx, state, iteration):
        n = ctx.problem.n_coords
        return np.sort(ctx.rng.choice(n, size=min(ctx.partition.block_size, n), replace=False))


class _Lipschitz(SelectionRule):
    """Blocks drawn with probability proportional to their Lipschitz constants."""

    def pick_fixed(self, ctx, state, iteration):
        return int(ctx.rng.choice(ctx.partition.n_blocks, p=ctx.block_prob))

    def pick_variable(self, ctx, state, iteration):
        n = ctx.problem.n_coords
        prob = ctx.problem.lipschitz / ctx.problem.lipschitz.sum()
        return np.sort(ctx.rng.choice(n, size=min(ctx.partition.block_size, n), replace=False,
                                      p=prob))


@dataclasses.dataclass(frozen=True)
class _Greedy(SelectionRule):
    """Greedy by guaranteed progress with one curvature per coordinate: ``"global"`` (GS),
    ``"lipschitz"`` (GSL) or ``"diagonal"`` (GSD)."""

    curvature: str = "lipschitz"

    @property
    def scores_coordinates(self) -> bool:
        return True

    def needs_diag_bound(self, fixed_partition):
        return self.curvature == "diagonal"

    def coordinate_scores(self, ctx, state, lipschitz):
        """Progress of each coordinate's step; ``lipschitz`` is the GSL curvature to use."""
        curvature = {"global": ctx.L_max, "lipschitz": lipschitz,
                     "diagonal": ctx.diag_bound}[self.curvature]
        problem = ctx.problem
        return coordinate_progress(state.x, state.grad, curvature, problem.l1, problem.nonneg)

    def pick_fixed(self, ctx, state, iteration):
        part = ctx.partition
        scores = self.coordinate_scores(ctx, state, ctx.block_L[part.owner])
        return int(np.argmax(np.add.reduceat(scores[part.order], part.starts)))

    def pick_variable(self, ctx, state, iteration):
        scores = self.coordinate_scores(ctx, state, ctx.problem.lipschitz)
        return _top(scores, ctx.partition.block_size)


class _GreedyQuadratic(SelectionRule):
    """GS-q: ``g_b' H_b^{-1} g_b`` with the block matrix bound (exact for fixed blocks,
    iterative hard thresholding for variable ones)."""

    iht_steps = 3  # hard-thresholded gradient steps that approximate the variable-block argmax

    def needs_diag_bound(self, fixed_partition):
        return not fixed_partition

    def prepare(self, ctx):
        part, problem = ctx.partition, ctx.problem
        if not part.fixed:
            return
        # padded stacks: all block scores in one einsum
        size = max(len(b) for b in part.blocks)
        ctx.gsq_idx = np.zeros((part.n_blocks, size), dtype=np.int64)
        ctx.gsq_inv = np.zeros((part.n_blocks, size, size))
        for i, b in enumerate(part.blocks):
            ctx.gsq_idx[i, :len(b)] = b
            ctx.gsq_inv[i, :len(b), :len(b)] = np.linalg.pinv(problem.block_bound(b))

    def pick_fixed(self, ctx, state, iteration):
        g = state.grad[ctx.gsq_idx]
        return int(np.argmax(np.einsum("bi,bij,bj->b", g, ctx.gsq_inv, g)))

    def pick_variable(self, ctx, state, iteration):
        """Approximate ``argmax_{|b| <= tau} max_d -(g'd + 1/2 d'Hd)`` by hard-thresholded
        steps."""
        g, tau, dbound = state.grad, ctx.partition.block_size, ctx.diag_bound
        support = _top(g * g / dbound, tau)
        d = np.zeros_like(g)
        d[support] = -g[support] / dbound[support]
        step = 1.0 / dbound.max()  # Gershgorin: max row sum >= lambda_max(H)
        for _ in range(self.iht_steps):
            trial = d - step * (g + ctx.problem.bound_matvec(d))
            support = _top(np.abs(trial), tau)
            d = np.zeros_like(g)
            d[support] = trial[support]
        return support


#: the selection rules by their public names
SELECTION_RULES = {rule.name: rule for rule in (
    _Cyclic("cyclic", needs_fixed_partition=True),
    _Uniform("random"),
    _Lipschitz("lipschitz"),
    _Greedy("gs", curvature="global"),
    _Greedy("gsl", curvature="lipschitz"),
    _GreedyQuadratic("gsq", smooth_only=True,
                     alternative="with an L1 penalty use 'gsd' or 'gsl' (GS-q with a diagonal "
                                 "/ Lipschitz bound)"),
    _Greedy("gsd", curvature="diagonal"),
)}
SELECTIONS = tuple(SELECTION_RULES)
