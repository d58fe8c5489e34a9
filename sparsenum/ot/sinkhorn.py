"""Log-stabilised Sinkhorn scaling with absorption (Schmitzer 2019)."""

from __future__ import annotations

import time

import numpy as np

from ..utils import check_array, check_int, check_shape, numba_threads
from . import _kernels
from ._result import (
    Support,
    TransportResult,
    make_history,
    validate_common,
    validate_problem,
)

__all__ = ["sinkhorn"]

#: Scalings are absorbed into the potentials when |log u| or |log v| exceeds this.
ABSORB_TAU = 40.0


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

    def mass_fraction(self, share, n_samples=20_000, seed=0):
        """Estimated fraction of the plan's entries holding ``share`` of its mass, from a
        random sample of entries (within about 0.01 with 20,000 samples: the binomial error
        of a share near one half is 0.0035)."""
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
        reg = self.reg
        return self.f + reg * np.log(self.u), self.g + reg * np.log(self.v)

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


def check_init(init, n, m):
    if init is None:
        return None
    if not isinstance(init, (tuple, list)) or len(init) != 2:
        raise TypeError(f"init must be None or a pair (f, g) of potentials; got {init!r:.80}")
    f0 = check_array(init[0], "init[0] (f)", ndim=1)
    g0 = check_array(init[1], "init[1] (g)", ndim=1)
    check_shape(f0, "init[0] (f)", (n,))
    check_shape(g0, "init[1] (g)", (m,))
    return f0, g0


def finish_entropic(support, a_full, b_full, C_full, C, reg, f, g, *, converged, n_iter,
                    history, plan=None):
    """Plan from potentials (log domain), expanded to the full support, with recomputed metrics.

    ``plan``, if given, is the plan already formed at ``(f, g)`` (the solver's last evaluation,
    owned by the result from now on): it saves an exp pass over ``C``.
    """
    n, m = C.shape
    if plan is None:
        plan = np.empty((n, m))
        _kernels.plan_any(C, f, g, reg, plan, np.empty(n), np.empty(m))
    row = plan.sum(axis=1)
    col = plan.sum(axis=0)
    a_s, b_s = a_full[support.rows], b_full[support.cols]
    cost, entropy = _kernels.plan_cost_entropy(C, f, g, reg, plan)
    # zero-mass rows and columns carry no plan entries: the restricted sums are the full ones
    dual = float(a_s @ f + b_s @ g - reg * row.sum())
    violation = float(np.abs(row - a_s).sum() + np.abs(col - b_s).sum())
    plan, f, g = support.expand(plan, f, g, C_full.shape)
    return TransportResult(
        plan=plan, f=f, g=g, cost=float(cost), objective=float(cost + reg * entropy),
        dual_objective=dual, marginal_error=violation, converged=bool(converged),
        n_iter=int(n_iter), history=history)


def scaling_plan(state):
    """The current plan ``diag(u) K diag(v)`` of a :class:`ScalingState` (a new array)."""
    plan = np.empty(state.K.shape)
    _kernels.plan_from_scalings(state.K, state.u, state.v, plan, np.empty(plan.shape[0]))
    return plan


def sinkhorn(a, b, C, reg, *, tol=1e-9, max_iter=100_000, init=None, check_every=10,
             n_jobs=None) -> TransportResult:
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
        Source weights, nonnegative. Zero-mass entries get zero rows and ``f = -inf``.
    b : array-like of shape (m,)
        Target weights, nonnegative, same total mass as ``a`` (relative tolerance 1e-6).
    C : array-like of shape (n, m)
        Finite ground cost.
    reg : float
        Entropic regularisation, ``> 0`` (``eta = 1 / reg`` in the SNS paper).
    tol : float, default=1e-9
        Stop when the marginal violation ``||P1 - a||_1 + ||P^T 1 - b||_1 <= tol``.
    max_iter : int, default=100_000
        Maximum number of iterations (one iteration = a row and a column update).
    init : tuple (f, g), optional
        Warm-start potentials (for instance from a previous solve at a larger ``reg``).
    check_every : int, default=10
        Iterations between evaluations of the stopping criterion.
    n_jobs : int, optional
        Numba threads for the kernel products (``None``: numba's default).

    Returns
    -------
    TransportResult
        ``history`` has one row per check: iteration, dual objective, marginal violation and
        ``sinkhorn_iterations``; ``elapsed`` is interpolated inside chunks of iterations.

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
    a_full, b_full, C_full, reg = validate_problem(a, b, C, reg)
    tol, max_iter = validate_common(tol, max_iter)
    check_every = check_int(check_every, "check_every", low=1)
    init = check_init(init, a_full.shape[0], b_full.shape[0])
    support = Support.of(a_full, b_full)
    a_s, b_s, C_s = support.restrict(a_full, b_full, C_full)
    g0 = None if init is None else np.where(np.isfinite(init[1][support.cols]),
                                            init[1][support.cols], 0.0)
    with numba_threads(n_jobs):
        start = time.perf_counter()
        state = ScalingState(C_s, a_s, b_s, reg, g0)
        errors, objectives, iterations, elapsed = [], [], [], []
        done = 0
        chunk = 50 * check_every
        converged = False
        while done < max_iter:
            t0 = time.perf_counter() - start
            n_it, its, errs, objs = state.run(min(chunk, max_iter - done), tol, check_every)
            t1 = time.perf_counter() - start
            k = errs.shape[0]
            iterations.append(done + its)
            elapsed.append(t0 + (t1 - t0) * (np.arange(1, k + 1) / max(k, 1)))
            errors.append(errs)
            objectives.append(objs)
            done += n_it
            if k and (errs[-1] <= tol or not np.isfinite(errs[-1])):
                converged = bool(errs[-1] <= tol)
                break
            chunk = min(4 * chunk, 20_000)
        f, g = state.potentials()
        iters = np.concatenate(iterations) if iterations else np.zeros(0)
        history = make_history(np.concatenate(errors) if errors else [],
                               np.concatenate(objectives) if objectives else [],
                               iteration=iters,
                               elapsed=np.concatenate(elapsed) if elapsed else None,
                               sinkhorn_iterations=iters.astype(float))
        return finish_entropic(support, a_full, b_full, C_full, C_s, reg, f, g,
                               converged=converged, n_iter=done, history=history,
                               plan=scaling_plan(state))
