"""Sinkhorn-Newton-Sparse (Tang et al., ICLR 2024) with an adaptive switch between the stages.

The scaling stage is the stabilised Sinkhorn of :mod:`._scaling`, the Newton stage is
:class:`~._newton.NewtonStage`, and the switch is taken by :class:`~._schedule.StageSchedule`
from counted work (see there), so the same input gives the same iterates, ``n_iter`` and history
under any load and thread count. The tuning constants are in :mod:`._tuning`.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np

from ..utils import check_bool, check_int, check_n_jobs, check_one_of, check_scalar, numba_threads
from . import _kernels
from ._newton import NewtonStage
from ._progress import Progress
from ._result import TransportResult, make_history
from ._scaling import ScalingState, finish_entropic, scaling_plan, start_potential
from ._schedule import StageSchedule
from ._tuning import TUNING
from ._validation import Problem, check_callback, check_init, check_tol_max_iter, check_verbose

__all__ = ["sinkhorn_newton_sparse"]


def sinkhorn_newton_sparse(a, b, C, reg, *, tol=1e-9, max_iter=100_000, density=None,
                           warmup=20, check_every=10, max_cg=1000, newton="auto",
                           eps_scaling=True, init=None, n_jobs=None, verbose=0,
                           callback=None) -> TransportResult:
    r"""Entropic OT by Sinkhorn-Newton-Sparse: scaling warm-up, then sparse Newton steps.

    Same problem as :func:`sinkhorn`. After ``warmup`` stabilised Sinkhorn iterations the solver
    measures Sinkhorn's contraction rate; when the predicted work to ``tol`` exceeds the
    predicted work of a Newton stage, it switches to Newton steps on the dual potentials. Work is
    counted from the problem's size and the operations each stage performs (scaling iterations,
    exp passes, entries kept and sorted, CG products), never timed: the same input gives the
    same iterates, ``n_iter`` and history on any machine, under any load, with any ``n_jobs``.

    Each Newton step keeps the exact diagonal of the Hessian (row and column sums of P) and
    only the largest entries of P (about ``density * n * m`` of them), solves the Newton system
    by Jacobi-preconditioned conjugate gradients with the gauge fixed (last potential of ``g``
    pinned), and accepts the step by a trust-region test on the dual objective. If Newton
    progresses slower than scaling would, it returns to scaling.

    Parameters
    ----------
    a, b, C, reg
        As in :func:`sinkhorn`.
    tol : float, default=1e-9
        Stop when ``(||P1 - a||_1 + ||P^T 1 - b||_1) / sum(a) <= tol`` (relative to the total
        mass, as in :func:`sinkhorn`).
    max_iter : int, default=100_000
        Maximum total iterations (Sinkhorn iterations plus Newton steps, epsilon-scaling levels
        included).
    density : float in (0, 1], optional
        Fraction of the entries of P kept in the sparsified Hessian. Default
        ``min(1, 8 / min(n, m))`` (measured: 4/n to 16/n give similar Newton step counts on
        random assignment and point clouds; 2/n, the paper's value, is slower to converge).
        When a marginal has entries below 1% of its largest (images with near-empty pixels),
        each row's and column's entries within 1% of its largest are kept as well, so light
        rows stay coupled. Then the kept set is enlarged so that at most ``0.01 ||grad||_2``
        of mass is dropped from every column of P and twice that from every row (the
        error-bounded rule of Tang & Qiu's SSNS): the Hessian's error shrinks with the
        gradient and the Newton steps become asymptotically exact.
    warmup : int, default=20
        Sinkhorn iterations before the first decision (the paper uses 20).
    check_every : int, default=10
        Sinkhorn iterations between evaluations of the stopping criterion.
    max_cg : int, default=1000
        Maximum conjugate-gradient products per Newton step; if CG has not reached its
        tolerance by then (ill-conditioned systems at small ``reg``), the sparse system is
        solved directly instead (dense Cholesky of the Schur complement, or sparse LU). A
        product costs ``O(n + m + nnz)``, far less than the ``O(n m)`` exp pass of a step, so
        many products are cheaper than one direct solve.
    newton : {"auto", "always", "never"}, default="auto"
        ``"auto"`` decides from measured rates and counted work; ``"always"`` switches after the
        warm-up (the paper's algorithm), then behaves like ``"auto"``: a Newton stage that
        progresses slower
        than scaling would (seen at small ``reg`` on tiny problems, where the sparsified
        Hessian is nearly singular) hands back to scaling; ``"never"`` runs stabilised
        Sinkhorn only.
    eps_scaling : bool, default=True
        Epsilon scaling (Kosowsky & Yuille 1994; Schmitzer 2019), not part of the SNS paper:
        first solve at ``reg`` times 3, 9, ... (coarse to fine, while ``ptp(C) / level >=
        100``; none when ``ptp(C) / reg < 300``) to a marginal violation of 1e-3, each level
        warm-starting the next, when the warm-up at ``reg`` predicts scaling to cost more
        than 16 exp passes over C per level (easy problems skip them). Scaling corrects the
        smooth, image-wide modes of the potentials slowest at small ``reg``; a large ``reg``
        sets them in a few iterations (digits with L1 cost at eta=1200 and 4000 are solved
        several times faster). Ignored with ``init``. The history's rows then begin with the
        levels' iterations, errors and duals (of their own problems); its ``reg`` column says
        which level a row belongs to.
    init : tuple (f, g), optional
        Warm-start potentials; ``-inf`` is accepted at zero weights, as returned.
    n_jobs : int, optional
        Numba threads for the exp passes over ``C`` (``None``: numba's default for problems of
        at least 250,000 entries, one thread below; ``-1``: all cores). The results do not
        depend on it.
    verbose : int or bool, default=0
        ``1``: a line per epsilon-scaling ladder and when done; ``2``: a line per history row
        (every check of the scaling stage, every Newton step).
    callback : callable, optional
        ``callback(iteration, state)`` at every history row, with ``state`` a read-only
        mapping of ``objective``, ``marginal_violation``, ``reg``, the cumulative
        ``sinkhorn_iterations``, ``newton_iterations`` and ``cg_products``, and the potentials
        ``f``, ``g`` (of the unit-mass problem on the support); returning True stops the
        solver.

    Returns
    -------
    TransportResult
        ``history`` columns ``sinkhorn_iterations``, ``newton_iterations`` and ``cg_products``
        are cumulative counts; ``reg`` is the regularisation of the row's problem.

    Raises
    ------
    ValueError, TypeError
        As :func:`sinkhorn`, and for out-of-range ``density``, ``warmup``, ``max_cg`` or
        ``newton``.

    References
    ----------
    X. Tang, M. Shavlovsky, H. Rahmanian, E. Tardini, K. K. Thekumparampil, T. Xiao, L. Ying,
    "Accelerating Sinkhorn algorithm with sparse Newton iterations", ICLR 2024.

    X. Tang, Y. Qiu, "Safe and sparse Newton method for entropic-regularized optimal
    transport", NeurIPS 2024 (the error-bounded sparsification).

    J. J. Kosowsky, A. L. Yuille, "The invisible hand algorithm: solving the assignment problem
    with statistical physics", Neural Networks 7(3), 1994, and B. Schmitzer, "Stabilized sparse
    scaling algorithms for entropy regularized transport problems", SIAM J. Sci. Comput., 2019
    (epsilon scaling).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.ot import sinkhorn_newton_sparse
    >>> rng = np.random.default_rng(0)
    >>> C = rng.random((60, 60))
    >>> res = sinkhorn_newton_sparse(np.full(60, 1 / 60), np.full(60, 1 / 60), C, reg=1e-2)
    >>> res.converged, res.marginal_error <= 1e-9
    (True, True)
    """
    problem = Problem.of(a, b, C, reg)
    tol, max_iter = check_tol_max_iter(tol, max_iter)
    density = check_scalar(density, "density", low=0.0, high=1.0, include_low=False,
                           allow_none=True)
    warmup = check_int(warmup, "warmup", low=1)
    check_every = check_int(check_every, "check_every", low=1)
    max_cg = check_int(max_cg, "max_cg", low=1)
    newton = check_one_of(newton, "newton", ("auto", "always", "never"))
    eps_scaling = check_bool(eps_scaling, "eps_scaling")
    init = check_init(init, problem.marginals)
    check_n_jobs(n_jobs)
    progress = Progress("sinkhorn_newton_sparse", check_verbose(verbose),
                        check_callback(callback))
    a, b, C, reg = problem.a, problem.b, problem.C, problem.reg
    if density is None:
        density = min(1.0, TUNING.keep / min(C.shape))
    opts = _Options(density, warmup, check_every, max_cg, newton)
    g0 = start_potential(problem, init)
    # epsilon scaling: each level's potentials start the next, so the smooth global modes that
    # scaling at small reg corrects slowest are set at a large reg; not from a user's warm start
    levels = _reg_ladder(C, reg) if eps_scaling and init is None else []
    log = _Log(progress)
    with numba_threads(n_jobs, work=_kernels.pass_work(C)):
        f, g, converged, plan = _solve(C, a, b, reg, tol, max_iter, opts, g0, log,
                                       n_levels=len(levels))
        if plan is None:  # the warm-up at reg asked for the levels
            progress.stage(f"epsilon scaling through reg = {', '.join(f'{r:.3g}' for r in levels)}")
            g0 = g
            for level in levels:
                _, g0, _, plan = _solve(C, a, b, level, max(tol, TUNING.ladder_tol), max_iter,
                                        opts, g0, log)
                if progress.stopped:
                    break
            # stopped by the callback within a level: the result is at reg, with no iteration
            budget = 0 if progress.stopped else max_iter
            f, g, converged, plan = _solve(C, a, b, reg, tol, budget, opts, g0, log)
        result = finish_entropic(problem, f, g, converged=converged, n_iter=log.n_iter,
                                 history=log.history(), plan=plan)
    progress.finish(result)
    return result


def _solve(C, a, b, reg, tol, max_iter, opts, g0, log, n_levels=0):
    """One SNS solve at ``reg`` from potentials ``g0``, appending to ``log`` (whose counters
    also bound ``max_iter`` across epsilon-scaling levels).

    Sinkhorn iterations, then Newton steps (Tang et al., Algorithm 1), with two departures: the
    stages alternate, each switch taken by the schedule from counted work, and a Newton stage
    that progresses slower than scaling would hands back to scaling.

    Returns ``(f, g, converged, plan)`` with ``plan`` the plan at ``(f, g)``, whose marginal
    violation is the last row of ``log``. With ``n_levels`` > 0, ``plan`` is None when the
    solve stopped after the warm-up because ``n_levels`` epsilon-scaling levels should pay.
    """
    state = ScalingState(C, a, b, reg, g0)
    schedule = StageSchedule(C.shape, _kernels.variant(C, reg)[1], opts.newton, n_levels)
    schedule.absorbed(state.n_absorb)
    if log.n_iter >= max_iter or log.progress.stopped:  # nothing left: report the start
        return _report_start(state, log)
    newton = None
    chunk, err = opts.warmup, math.inf
    while log.n_iter < max_iter:
        # Sinkhorn: the warm-up, then stretches of the length the schedule chose
        err = _scaling_stage(state, schedule, log, min(chunk, max_iter - log.n_iter), tol,
                             min(opts.check_every, chunk), err)
        if err <= tol or not np.isfinite(err) or log.progress.stopped:
            return (*state.potentials(), err <= tol, scaling_plan(state))
        if schedule.ladder_pays(err, tol):
            # scaling at reg looks slow: the levels (a few exp passes each) pay; easy problems
            # (random assignment, eta=400: 40 iterations) skip them
            return (*state.potentials(), False, None)
        go_newton, chunk = schedule.enter_newton(err, tol, state.mass_fraction, opts.check_every)
        if not go_newton:
            continue
        # sparse Newton steps from the scaling iterate, while they beat scaling
        if newton is None:
            newton = NewtonStage(C, a, b, reg, opts.density, opts.max_cg)
        f, g, err = newton.run(*state.potentials(), tol, max_iter, schedule, log)
        if err <= tol or log.n_iter >= max_iter or log.progress.stopped:
            # the plan at (f, g) is the step's last evaluation, recorded in the last row
            return f, g, err <= tol, newton.P
        # back to scaling from the Newton iterate
        schedule.newton_left(err)
        state.reset_from(f, g)
        schedule.absorbed(1)
        chunk = max(opts.check_every * TUNING.min_checks, opts.warmup)
    return (*state.potentials(), False, scaling_plan(state))


def _scaling_stage(state, schedule, log, n_iter, tol, check_every, err):
    """At most ``n_iter`` scaling iterations, stopping at ``tol`` (or where the schedule waits
    to retry Newton), their checks recorded in ``log`` and their work priced by ``schedule``.
    Returns the last violation checked (``err`` if there was no check).

    When the progress reporter needs every check as it happens, the stretch runs in pieces of
    ``check_every`` iterations: the checks, iterates and history are the same either way.
    """
    tol = max(tol, schedule.retry_below)
    absorbed = state.n_absorb
    pieces = [n_iter]
    if log.progress.active:
        pieces = [check_every] * (n_iter // check_every)
        if n_iter % check_every:
            pieces.append(n_iter % check_every)
    done, all_its, all_errs = 0, [], []
    for piece in pieces:
        t0 = time.perf_counter() - log.start
        n_it, its, errs, objs = state.run(piece, tol, check_every)
        t1 = time.perf_counter() - log.start
        base = log.sinkhorn
        stop = False
        for k in range(errs.shape[0]):
            log.sinkhorn = base + int(its[k])
            stop = log.add(objs[k], errs[k], state.reg, t0 + (t1 - t0) * its[k] / max(n_it, 1),
                           potentials=lambda: dict(zip(("f", "g"), state.potentials())))
        log.sinkhorn = base + n_it
        all_its.append(done + its)
        all_errs.append(errs)
        done += n_it
        if n_it < piece or stop or (errs.shape[0] and errs[-1] <= tol):
            break
    errs = np.concatenate(all_errs)
    schedule.scaled(done, state.n_absorb - absorbed, np.concatenate(all_its), errs)
    return float(errs[-1]) if errs.shape[0] else err


def _report_start(state, log):
    """Record the starting point as the last row (no iteration left) and return it as
    ``_solve`` does."""
    plan = scaling_plan(state)
    f, g = state.potentials()
    dual = float(state.a @ f + state.b @ g - state.reg * plan.sum())
    log.add(dual, float(np.abs(plan.sum(axis=1) - state.a).sum()
                        + np.abs(plan.sum(axis=0) - state.b).sum()), state.reg)
    return f, g, False, plan


def _reg_ladder(C, reg):
    """Regularisations of the epsilon-scaling levels before ``reg``, coarse to fine: ``reg``
    times 3, 9, 27, ... while the cost range stays at least ``ladder_min_range`` of them."""
    span = float(np.ptp(C))
    levels = []
    level = reg * TUNING.ladder_factor
    while span >= TUNING.ladder_min_range * level:
        levels.append(level)
        level *= TUNING.ladder_factor
    return levels[::-1]


class _Options(NamedTuple):
    """The user's options that every solve (each epsilon-scaling level and ``reg``) shares."""

    density: float
    warmup: int
    check_every: int
    max_cg: int
    newton: str


class _Log:
    """Rows of the SNS history with cumulative counters per stage; reports each row."""

    def __init__(self, progress):
        self.progress = progress
        self.start = time.perf_counter()
        self.rows = []  # (iteration, elapsed, objective, error, sinkhorn, newton, cg, reg)
        self.sinkhorn = self.newton = self.cg = 0

    @property
    def n_iter(self):
        return self.sinkhorn + self.newton

    def add(self, objective, error, reg, elapsed=None, potentials=None):
        """Record a row; returns True when the callback asks to stop."""
        elapsed = time.perf_counter() - self.start if elapsed is None else elapsed
        self.rows.append((self.n_iter, elapsed, objective, error, self.sinkhorn, self.newton,
                          self.cg, reg))
        if not self.progress.active:
            return False
        return self.progress.update(
            self.n_iter, float(objective), float(error), potentials, reg=reg,
            sinkhorn_iterations=self.sinkhorn, newton_iterations=self.newton,
            cg_products=self.cg)

    def history(self):
        cols = np.array(self.rows, dtype=float).reshape(-1, 8).T
        return make_history(cols[3], cols[2], iteration=cols[0], elapsed=cols[1],
                            sinkhorn_iterations=cols[4], newton_iterations=cols[5],
                            cg_products=cols[6], reg=cols[7])
