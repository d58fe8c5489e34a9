"""Block update rules (Nutini et al. 2022, Sections 4-6), each with its proximal L1 version.

* ``"gradient"``: ``d = -g_b / L_b`` (proximal: soft-thresholded with ``l1 / L_b``);
* ``"adaptive"``: the same with an estimate of ``L_b`` halved after each success and doubled
  until the sufficient-decrease test ``f(x+d) <= f + g'd + L/2 ||d||^2`` holds;
* ``"matrix"``: ``d = -H_b^{-1} g_b`` with the constant matrix bound ``H_b >= hess_bb f``
  (exact block Newton for quadratics, ``1/4 A_b'A_b`` for logistic, Böhning's bound for softmax);
* ``"newton"``: exact block Hessian with an Armijo backtracking line search;
* ``"exact"``: exact block minimisation, for quadratic problems (same step as ``"matrix"``);
* ``"message_passing"``: exact minimisation of a forest-structured block of a sparse quadratic
  in ``O(|b|)`` (:meth:`~sparsenum.bcd.SparseQuadratic.solve_forest_block`).

With an L1 penalty the matrix-type updates solve the block's penalised quadratic model by
coordinate descent, then *identify the active set* (the model's nonzeros and their signs) and take
the Newton step restricted to it; when the step keeps the signs it is the model's exact minimiser,
which gives the superlinear / finite termination of Section 6.

Each rule is a small object that declares what it requires of the problem (a quadratic ``f``,
forest-structured blocks of a sparse quadratic); :func:`~sparsenum.bcd.block_coordinate_descent`
checks these declarations against the problem and the partition before it starts. The strings
above are the public spelling; :data:`UPDATE_RULES` maps them to the objects.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.linalg as sla

from ._kernels import quadratic_l1_cd
from .problems import prox_l1

__all__ = ["UPDATES", "UPDATE_RULES", "UpdateRule", "solve_l1_model"]

_ARMIJO = 1e-4  # sufficient-decrease fraction of the Armijo test (the usual 1e-4)
_MAX_BACKTRACK = 50  # halvings before a step is given up (2^-50: below rounding of any step)


def _solve_psd(H, rhs):
    """Solve ``H d = rhs`` for symmetric PSD ``H`` (tiny diagonal jitter if singular)."""
    try:
        return sla.cho_solve(sla.cho_factor(H, check_finite=False), rhs, check_finite=False)
    except np.linalg.LinAlgError:
        jitter = 1e-12 * max(float(np.trace(H)), 1e-300) + 1e-300
        return np.linalg.lstsq(H + jitter * np.eye(H.shape[0]), rhs, rcond=None)[0]


def solve_l1_model(H, g, x, l1, nonneg, tol=1e-12, max_updates=None):
    """Minimiser ``w`` of ``g'(w-x) + 1/2 (w-x)'H(w-x) + l1 ||w||_1`` (``w >= 0`` if ``nonneg``).

    Coordinate descent identifies the active set; a Newton step on it finishes exactly when it
    keeps the signs. Returns ``w``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd.updates import solve_l1_model
    >>> solve_l1_model(np.eye(2), np.array([-3.0, 0.5]), np.zeros(2), 1.0, False)
    array([2., 0.])
    """
    m = x.shape[0]
    H = np.ascontiguousarray(H)
    q = H @ x - g
    w = x.copy()
    Hw = H @ w
    budget = 200 * m + 100 if max_updates is None else max_updates
    quadratic_l1_cd(H, q, w, Hw, float(l1), bool(nonneg), False, budget, tol)
    active = np.flatnonzero(w)
    if active.size:
        signs = np.sign(w[active])
        try:
            w_act = np.linalg.solve(H[np.ix_(active, active)], q[active] - l1 * signs)
        except np.linalg.LinAlgError:
            return w
        if np.all(np.sign(w_act) == signs):
            trial = np.zeros(m)
            trial[active] = w_act
            # accept only if the model's optimality holds off the active set too
            grad = H @ trial - q
            off = np.ones(m, bool)
            off[active] = False
            slack = np.abs(grad[off]) <= l1 * (1 + 1e-9) + 1e-14 if not nonneg else \
                grad[off] >= -l1 * (1 + 1e-9) - 1e-14
            if slack.all():
                return trial
    return w


def _penalised_change(problem, xb, d):
    if not problem.l1:
        return 0.0
    return problem.l1 * float(np.abs(xb + d).sum() - np.abs(xb).sum())


@dataclasses.dataclass(frozen=True)
class UpdateRule:
    """A block update rule, and what it requires.

    ``step(ctx, state, block, block_id)`` returns the move ``d`` of ``x[block]`` (checked to
    decrease ``F``, not yet applied); ``block_id`` is the block's index in a fixed partition
    (constants and factorisations are cached per block) or None.
    """

    name: str
    #: needs a quadratic ``f`` (exact block minimisation)
    needs_quadratic: bool = False
    #: needs forest-structured blocks of a smooth sparse quadratic (message passing)
    needs_forest_blocks: bool = False

    def step(self, ctx, state, block, block_id):  # pragma: no cover - interface
        raise NotImplementedError


class _Gradient(UpdateRule):
    """``d = prox(x_b - g_b / L_b) - x_b`` with the block's Lipschitz constant."""

    def step(self, ctx, state, block, block_id):
        problem = ctx.problem
        g, xb = state.grad[block], state.x[block]
        L = ctx.block_constant(block, block_id)
        return prox_l1(xb - g / L, problem.l1 / L, problem.nonneg) - xb


class _Adaptive(UpdateRule):
    """The gradient step with a local estimate of ``L_b``: halved after each success, doubled
    until the descent-lemma test holds."""

    def step(self, ctx, state, block, block_id):
        problem = ctx.problem
        g, xb = state.grad[block], state.x[block]
        l1, nonneg = problem.l1, problem.nonneg
        L = ctx.block_constant(block, block_id)
        scale = ctx.adaptive_scale(block_id)
        for _ in range(_MAX_BACKTRACK):
            Lhat = scale * L
            d = prox_l1(xb - g / Lhat, l1 / Lhat, nonneg) - xb
            bound = g @ d + 0.5 * Lhat * d @ d
            # near the optimum value differences drown in rounding; for convex f,
            # f(x+d) - f(x) - g'd <= (grad f(x+d) - g)'d, a test free of cancellation
            if problem.smooth_change(state, block, d) <= bound or (
                    problem.directional_derivative(state, block, d) - g @ d
                    <= 0.5 * Lhat * d @ d):
                ctx.set_adaptive_scale(block_id, max(scale / 2, 1e-6))
                return d
            scale *= 2
        return prox_l1(xb - g / L, l1 / L, nonneg) - xb


class _Matrix(UpdateRule):
    """``d = -H_b^{-1} g_b`` with the constant matrix bound (exact for quadratics); with L1,
    the minimiser of the block's penalised model."""

    def step(self, ctx, state, block, block_id):
        problem = ctx.problem
        g, xb = state.grad[block], state.x[block]
        H = ctx.block_matrix(block, block_id)
        if not (problem.l1 or problem.nonneg):
            return -ctx.block_solve(block, block_id, g)
        return solve_l1_model(H, g, xb, problem.l1, problem.nonneg) - xb


class _MessagePassing(UpdateRule):
    """Exact minimisation of a forest-structured block of a sparse quadratic in ``O(|b|)``."""

    def step(self, ctx, state, block, block_id):
        d = ctx.problem.solve_forest_block(block, -state.grad[block])
        if np.isnan(d).any():
            raise ValueError("message_passing needs forest-structured blocks; this block has a "
                             "cycle: use partition='forest' (or blocks whose graph is a forest)")
        return d


class _Newton(UpdateRule):
    """The exact block Hessian, with Armijo backtracking on ``F``."""

    def step(self, ctx, state, block, block_id):
        problem = ctx.problem
        g, xb = state.grad[block], state.x[block]
        l1, nonneg = problem.l1, problem.nonneg
        H = problem.block_hessian(state, block)
        d = (-_solve_psd(H, g) if not (l1 or nonneg)
             else solve_l1_model(H, g, xb, l1, nonneg) - xb)
        decrease = g @ d + _penalised_change(problem, xb, d)
        if decrease >= 0:
            return np.zeros_like(d)
        if problem.is_quadratic:  # the Newton step minimises the block model exactly
            return d
        t = 1.0
        for _ in range(_MAX_BACKTRACK):
            if np.array_equal(xb + t * d, xb):  # the step is below rounding: nothing to gain
                break
            change = problem.smooth_change(state, block, t * d)
            penalty = _penalised_change(problem, xb, t * d)
            # second test free of cancellation: convexity gives f(x+s) - f(x) <= grad f(x+s)'s
            if change + penalty <= _ARMIJO * t * decrease or (
                    problem.directional_derivative(state, block, t * d) + penalty
                    <= _ARMIJO * t * decrease):
                return t * d
            t *= 0.5
        return np.zeros_like(d)


#: the update rules by their public names
UPDATE_RULES = {rule.name: rule for rule in (
    _Gradient("gradient"),
    _Adaptive("adaptive"),
    _Matrix("matrix"),
    _Newton("newton"),
    _Matrix("exact", needs_quadratic=True),
    _MessagePassing("message_passing", needs_forest_blocks=True),
)}
UPDATES = tuple(UPDATE_RULES)
