"""The engine of stabilised Sinkhorn scaling (Schmitzer 2019), shared by :func:`.sinkhorn` and SNS.

The plan is kept as ``diag(u) K diag(v)`` with the kernel ``K = exp((f + g - C) / reg)``; when a
scaling ``u`` or ``v`` grows past ``exp(ABSORB_TAU)`` it is absorbed into the potentials and the
kernel recomputed by an exact log-domain update. :func:`finish_entropic` turns a unit-mass
solution on the support into the user's :class:`TransportResult`.
"""

from __future__ import annotations

import math

import numpy as np

from . import _kernels
from ._result import TransportResult, marginal_violation

#: Scalings are absorbed into the potentials when |log u| or |log v| exceeds this.
ABSORB_TAU = 40.0
#: Most iterations per kernel call (a call's history buffers hold one row per check).
MAX_CHUNK = 20_000


class ScalingState:
    """Potentials, scalings and kernel of the stabilised scaling iterations (shared with SNS)."""

    def __init__(self, C, a, b, reg, g0=None):
        n, m = C.shape
        self.C, self.a, self.b, self.reg = C, a, b, reg
        self.K = np.empty((n, m))
        self.f = np.zeros(n)
        self.g = np.zeros(m) if g0 is None else np.array(g0, dtype=np.float64)
        self.u = np.ones(n)
        self.v = np.ones(m)
        self.n_absorb = 0
        self.reset_from(None, self.g)

    def reset_from(self, f, g):
        """Start scaling from potentials ``g`` (an exact log-domain row update; one exp pass)."""
        self.g[:] = g
        self.v[:] = 1.0
        _kernels.absorb_rows_any(self.C, self.a, self.g, self.reg, self.K, self.f, self.u)
        self.n_absorb += 1

    def mass_fraction(self, share, n_samples=4_000, seed=0):
        """Estimated fraction of the plan's entries holding ``share`` of its mass, from a
        seeded random sample of entries (within about 0.025 with 4,000 samples: the binomial
        error of a share near one half is 0.008; the guess it feeds needs no more, and sorting
        a larger sample cost more than the scaling stage of small problems)."""
        n, m = self.K.shape
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, n, n_samples)
        cols = rng.integers(0, m, n_samples)
        sample = np.sort(self.u[rows] * self.K[rows, cols] * self.v[cols])[::-1]
        total = sample.sum()
        if not total > 0:
            return 1.0
        return float(np.searchsorted(np.cumsum(sample), share * total) + 1) / n_samples

    def potentials(self):
        """Effective potentials ``f + reg log u``, ``g + reg log v``. A scaling that
        underflowed to zero (a subnormal weight, about 1e-320 of the mass) counts as the
        smallest normal number: the potential stays finite where the weight is positive."""
        reg, tiny = self.reg, np.finfo(np.float64).tiny
        return (self.f + reg * np.log(np.maximum(self.u, tiny)),
                self.g + reg * np.log(np.maximum(self.v, tiny)))

    def run(self, max_iter, tol, check_every, tau=ABSORB_TAU):
        """Up to ``max_iter`` iterations; returns ``(n_iter, check_iterations, errors, duals)``."""
        n_slots = max_iter // check_every + 2
        its = np.zeros(n_slots, dtype=np.int64)
        errors = np.full(n_slots, np.nan)
        objectives = np.full(n_slots, np.nan)
        state = np.zeros(3, dtype=np.int64)  # iteration, checks made, phase (see kernel)
        while True:
            code = _kernels.scaling_iterations(
                self.C, self.a, self.b, self.reg, self.f, self.g, self.K, self.u, self.v,
                int(max_iter), float(tol), int(check_every), float(tau), state, its, errors,
                objectives)
            if code == _kernels.ABSORB_ROWS:
                _kernels.absorb_rows_any(self.C, self.a, self.g, self.reg, self.K, self.f,
                                         self.u)
            elif code == _kernels.ABSORB_COLS:
                _kernels.absorb_cols_any(self.C, self.b, self.f, self.reg, self.K, self.g,
                                         self.v)
            else:
                break
            self.n_absorb += 1
        n_iter, n_checks = int(state[0]), int(state[1])
        return n_iter, its[:n_checks], errors[:n_checks], objectives[:n_checks]


def start_potential(problem, init):
    """Potentials ``g`` of the unit-mass problem on the support from the user's ``init``, or
    None. (Scaling the mass shifts ``f`` by ``reg log(mass)`` and leaves ``g``; only ``g`` is
    used: the first update is an exact row update.)"""
    if init is None:
        return None
    return np.ascontiguousarray(init[1][problem.support.cols], dtype=np.float64)


def finish_entropic(problem, f, g, *, converged, n_iter, history, plan=None):
    """The result in the user's units from the unit-mass solution ``(f, g)`` on the support.

    ``plan``, if given, is the plan already formed at ``(f, g)`` (the solver's last evaluation,
    owned by the result from now on): it saves an exp pass over ``C``.
    """
    C, reg, mass = problem.C, problem.reg, problem.mass
    n, m = C.shape
    if plan is None:
        plan = np.empty((n, m))
        _kernels.plan_any(C, f, g, reg, plan, np.empty(n), np.empty(m))
    # back to the user's mass: P = mass * P_unit, i.e. f shifted by reg * log(mass)
    if mass != 1.0:
        plan *= mass
        f = f + reg * math.log(mass)
    cost, entropy = _kernels.plan_cost_entropy(C, f, g, reg, plan)
    # zero-mass rows and columns carry no plan entries: the restricted sums are the full ones
    total = float(plan.sum())
    dual = float(mass * (problem.a @ f + problem.b @ g) - reg * total)
    plan, f, g = problem.support.expand(plan, f, g, problem.shape)
    marginals = problem.marginals
    return TransportResult(
        plan=plan, f=f, g=g, cost=float(cost), objective=float(cost + reg * entropy),
        dual_objective=dual, marginal_error=marginal_violation(plan, marginals.a, marginals.b),
        converged=bool(converged), n_iter=int(n_iter), history=history)


def scaling_plan(state):
    """The current plan ``diag(u) K diag(v)`` of a :class:`ScalingState` (a new array)."""
    plan = np.empty(state.K.shape)
    _kernels.plan_from_scalings(state.K, state.u, state.v, plan, np.empty(plan.shape[0]))
    return plan


def scaling_chunks(check_every, progress):
    """Iterations per kernel call: growing chunks, all multiples of ``check_every``, so the
    checks (and the iterates, n_iter and history) are the same whatever the chunking; one check
    per call when a callback or per-iteration output must see every check as it happens."""
    if progress.active:
        while True:
            yield check_every
    chunk = 50 * check_every
    largest = max(check_every, (MAX_CHUNK // check_every) * check_every)
    while True:
        yield min(chunk, largest)
        chunk *= 4
