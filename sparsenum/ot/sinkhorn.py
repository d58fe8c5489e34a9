"""Log-stabilised Sinkhorn scaling with absorption (Schmitzer 2019)."""

from __future__ import annotations

import math
import time

import numpy as np

from ..utils import check_int, check_n_jobs, numba_threads
from . import _kernels
from ._progress import Progress
from ._result import TransportResult, make_history, marginal_violation
from ._validation import Problem, check_callback, check_init, check_tol_max_iter, check_verbose

__all__ = ["sinkhorn"]

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


def sinkhorn(a, b, C, reg, *, tol=1e-9, max_iter=100_000, init=None, check_every=10,
             n_jobs=None, verbose=0, callback=None) -> TransportResult:
    r"""Entropic optimal transport by log-stabilised Sinkhorn scaling.

    Solves :math:`\min_P \langle C, P\rangle + \mathrm{reg} \sum_{ij} P_{ij}(\log P_{ij} - 1)`
    subject to :math:`P 1 = a,\ P^T 1 = b`. Each iteration costs two products with the kernel
    :math:`K = \exp((f \oplus g - C)/\mathrm{reg})`; large scalings are absorbed into the
    potentials ``f, g`` and the kernel is recomputed only then (Schmitzer's stabilised scaling),
    so it stays finite for ``reg`` down to ``1e-4`` with costs in ``[0, 1]``, where the plain
    kernel of ``ot.sinkhorn`` underflows.

    Parameters
    ----------
    a : array-like of shape (n,)
        Source weights, nonnegative, with finite positive total mass. Zero-mass entries get
        zero rows and ``f = -inf``. Float32 input is cast to float64.
    b : array-like of shape (m,)
        Target weights, nonnegative, same total mass as ``a`` (relative tolerance 1e-6; the
        solver rescales ``b`` to the mass of ``a``, absorbing float32 rounding).
    C : array-like of shape (n, m)
        Finite ground cost, ``max|C| <= 1e300``.
    reg : float
        Entropic regularisation, ``> 0`` (``eta = 1 / reg`` in the SNS paper), and at least
        ``1e-10 * max|C|``: below that, float64 rounding of ``C`` decides the plan (the error
        names the smallest usable value).
    tol : float, default=1e-9
        Stop when the marginal violation relative to the total mass,
        ``(||P1 - a||_1 + ||P^T 1 - b||_1) / sum(a)``, is at most ``tol`` (for weights summing
        to one, the plain violation).
    max_iter : int, default=100_000
        Maximum number of iterations (one iteration = a row and a column update).
    init : tuple (f, g), optional
        Warm-start potentials (for instance from a previous solve at a larger ``reg``); ``-inf``
        is accepted at zero weights, as returned.
    check_every : int, default=10
        Iterations between evaluations of the stopping criterion.
    n_jobs : int, optional
        Numba threads for the exp passes over ``C`` (``None``: numba's default for problems of
        at least 250,000 entries, one thread below, where starting threads costs more than the
        pass; ``-1``: all cores). The results do not depend on it.
    verbose : int or bool, default=0
        ``1``: a line when done; ``2``: a line per check of the criterion.
    callback : callable, optional
        ``callback(iteration, state)`` at every check, with ``state`` a read-only mapping of
        ``objective``, ``marginal_violation``, ``sinkhorn_iterations`` and the potentials ``f``,
        ``g`` (of the unit-mass problem on the support); returning True stops the solver.

    Returns
    -------
    TransportResult
        ``history`` has one row per check: iteration, dual objective, marginal violation and
        ``sinkhorn_iterations``; ``elapsed`` is interpolated inside chunks of iterations.

    Raises
    ------
    ValueError
        For weights that are negative, not finite, of zero or infinite total mass or of
        unequal masses; a cost matrix of the wrong shape or not finite; ``reg`` too small for
        the costs; and out-of-range parameters. ``TypeError`` for arguments of the wrong type.

    References
    ----------
    B. Schmitzer, "Stabilized sparse scaling algorithms for entropy regularized transport
    problems", SIAM J. Sci. Comput. 41(3), 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.ot import sinkhorn
    >>> x = np.linspace(0, 1, 5)
    >>> C = (x[:, None] - x[None, :]) ** 2
    >>> res = sinkhorn(np.full(5, 0.2), np.full(5, 0.2), C, reg=1e-3)
    >>> res.converged, round(res.cost, 6), res.marginal_error < 1e-9
    (True, 0.0, True)
    """
    problem = Problem.of(a, b, C, reg)
    tol, max_iter = check_tol_max_iter(tol, max_iter)
    check_every = check_int(check_every, "check_every", low=1)
    init = check_init(init, problem.marginals)
    check_n_jobs(n_jobs)
    progress = Progress("sinkhorn", check_verbose(verbose), check_callback(callback))
    a_s, b_s, C_s, reg = problem.a, problem.b, problem.C, problem.reg
    with numba_threads(n_jobs, work=_kernels.pass_work(C_s)):
        start = time.perf_counter()
        state = ScalingState(C_s, a_s, b_s, reg, start_potential(problem, init))
        errors, objectives, iterations, elapsed = [], [], [], []
        done = 0
        converged = False
        for chunk in scaling_chunks(check_every, progress):
            if done >= max_iter:
                break
            t0 = time.perf_counter() - start
            n_it, its, errs, objs = state.run(min(chunk, max_iter - done), tol, check_every)
            t1 = time.perf_counter() - start
            k = errs.shape[0]
            iterations.append(done + its)
            elapsed.append(t0 + (t1 - t0) * (np.arange(1, k + 1) / max(k, 1)))
            errors.append(errs)
            objectives.append(objs)
            done += n_it
            if k and progress.active and progress.update(
                    done, float(objs[-1]), float(errs[-1]), _potentials_of(state),
                    sinkhorn_iterations=done) and not errs[-1] <= tol:
                break
            if k and (errs[-1] <= tol or not np.isfinite(errs[-1])):
                converged = bool(errs[-1] <= tol)
                break
        f, g = state.potentials()
        iters = np.concatenate(iterations) if iterations else np.zeros(0)
        history = make_history(np.concatenate(errors) if errors else [],
                               np.concatenate(objectives) if objectives else [],
                               iteration=iters,
                               elapsed=np.concatenate(elapsed) if elapsed else None,
                               sinkhorn_iterations=iters.astype(float))
        result = finish_entropic(problem, f, g, converged=converged, n_iter=done,
                                 history=history, plan=scaling_plan(state))
    progress.finish(result)
    return result


def _potentials_of(state):
    return lambda: dict(zip(("f", "g"), state.potentials()))
