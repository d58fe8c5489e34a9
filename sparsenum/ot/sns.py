"""Sinkhorn-Newton-Sparse (Tang et al., ICLR 2024) with an adaptive switch between the stages.

The switch is taken by :class:`~._schedule.StageSchedule` from counted work (see there), so the
same input gives the same iterates, ``n_iter`` and history under any load and thread count.
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..utils import check_bool, check_int, check_n_jobs, check_one_of, check_scalar, numba_threads
from . import _kernels
from ._hessian_sparsify import error_bounded_thresholds
from ._progress import Progress
from ._result import TransportResult, make_history
from ._scaling import ScalingState, finish_entropic, scaling_plan, start_potential
from ._schedule import StageSchedule
from ._tuning import TUNING
from ._validation import Problem, check_callback, check_init, check_tol_max_iter, check_verbose

__all__ = ["sinkhorn_newton_sparse"]

#: Largest number of columns whose Newton system is factorised densely (Cholesky of the Schur
#: complement, O(m^3)); beyond it, sparse LU of the whole system is cheaper.
DENSE_SCHUR_MAX = 1500


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


def _threshold(P, density, rng, n_sample):
    """Entry value above which about ``density * n * m`` entries of the plan ``P`` lie.

    A quantile of a random sample of ``n_sample`` entries already computed by the last
    evaluation (no exp pass, no full sort): the kept count only needs to be right to a few
    percent.
    """
    if density >= 1.0:
        return 0.0
    flat = P.reshape(-1)
    if flat.shape[0] <= n_sample:
        sample = flat.copy()
    else:
        sample = flat[rng.integers(0, flat.shape[0], n_sample)]
    k = min(sample.shape[0] - 1, int((1.0 - density) * sample.shape[0]))
    return float(np.partition(sample, k)[k])


class _Newton:
    """Newton stage on the dual potentials; owns the dense plan buffer.

    After each :meth:`step`, ``work`` holds the counts the schedule prices: plan evaluations,
    kept and sorted entries of the sparsification, CG products and direct solves.
    """

    def __init__(self, C, a, b, reg, density, max_cg):
        n, m = C.shape
        self.C, self.a, self.b, self.reg = C, a, b, reg
        self.density, self.max_cg = density, max_cg
        self.P = np.empty((n, m))
        self.row = np.empty(n)
        self.col = np.empty(m)
        self.rng = np.random.default_rng(0)
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        self.mu = TUNING.mu_start
        self.n_direct = 0
        self.work = {}
        # the relative threshold only for marginals spanning orders of magnitude: on uniform
        # ones its extra entries cost more than they save
        spread = min(a.min() / a.max(), b.min() / b.max())
        self.relative = TUNING.relative_keep if spread < TUNING.light_spread else 0.0

    def evaluate(self, f, g):
        """Fill P and its marginals at (f, g); returns (dual objective, marginal violation)."""
        # a trial step that overshoots overflows the plan: its dual is then not finite and the
        # step is rejected, so the overflow is expected, not an error
        with np.errstate(over="ignore", invalid="ignore"):
            total = _kernels.plan_any(self.C, f, g, self.reg, self.P, self.row, self.col)
        dual = float(self.a @ f + self.b @ g - self.reg * total)
        err = float(np.abs(self.row - self.a).sum() + np.abs(self.col - self.b).sum())
        return dual, err

    def _dual_rounding(self, f, g):
        """Rounding error bound of the dual objective's evaluation at ``(f, g)``."""
        scale = float(self.a @ np.abs(f) + self.b @ np.abs(g)) + self.reg * float(self.row.sum())
        return 64.0 * np.finfo(float).eps * scale

    def step(self, f, g, dual, err):
        """One regularised Newton step (trust-region style shift, as in SSNS).

        Solves ``(M + mu ||grad||_1 I) d = grad`` where ``reg^{-1} M`` is the sparsified negative
        Hessian; the step is accepted when the dual increase is at least a fraction of the
        quadratic model's, and ``mu`` shrinks after good steps and grows after poor ones.
        Returns ``(f, g, dual, err, cg_products, ok)``; the buffers hold the returned point.
        """
        t, n = TUNING, f.shape[0]
        grad = np.concatenate([self.a - self.row, self.b - self.col])
        thr = _threshold(self.P, self.density, self.rng, t.threshold_sample)
        thr_row, thr_col = np.full(n, thr), np.full(self.b.shape[0], thr)
        if self.relative > 0:
            # also keep each row's and column's leading entries (within a factor `relative` of
            # its largest): light rows and columns (near-zero marginals, as in images) otherwise
            # keep no coupling and Newton degrades to scaling on them
            np.minimum(thr_row, self.relative * self.P.max(axis=1), out=thr_row)
            np.minimum(thr_col, self.relative * self.P.max(axis=0), out=thr_col)
        # a fixed density keeps a fixed Hessian error and Newton converges only linearly;
        # dropping mass proportional to the gradient makes the steps asymptotically exact
        nnz, n_sorted = error_bounded_thresholds(
            self.P, t.error_bound * float(np.sqrt(grad @ grad)), thr_row, thr_col, self.indptr)
        work = self.work = {"evaluations": 0, "kept": int(nnz), "n_sorted": int(n_sorted),
                            "cg_products": 0, "direct_solves": 0}
        indices = np.empty(nnz, dtype=np.int64)
        data = np.empty(nnz)
        _kernels.sparsify_fill(self.P, thr_row, thr_col, self.indptr, indices, data)
        # inexact Newton (see Tuning.cg_rtol_min)
        rtol = min(t.cg_rtol_max, max(t.cg_rtol_min, math.sqrt(err)))
        gnorm = float(np.abs(grad).sum())
        n_cg_total = 0
        for _ in range(t.max_trials):
            shift = self.mu * gnorm
            d, n_cg, curvature = _kernels.newton_direction(
                self.row, self.col, self.indptr, indices, data, shift, grad, rtol, self.max_cg)
            n_cg_total += n_cg
            work["cg_products"] += n_cg
            if n_cg > self.max_cg:
                # CG stalled: at small reg the kept graph splits into weakly linked clusters and
                # the system is too ill-conditioned for CG; a sparse LU solve costs little more
                d, curvature = _direct_direction(self.row, self.col, self.indptr, indices,
                                                 data, shift, grad)
                self.n_direct += 1
                work["direct_solves"] += 1
            d *= self.reg
            slope = float(grad @ d)
            # quadratic model of the dual increase along d (reg * curvature = d^T H d / reg)
            predicted = slope - 0.5 * curvature * self.reg
            if slope > 0 and predicted > 0:
                f_new, g_new = f + d[:n], g + d[n:]
                dual_new, err_new = self.evaluate(f_new, g_new)
                work["evaluations"] += 1
                ratio = (dual_new - dual) / predicted if np.isfinite(dual_new) else -np.inf
                if np.isfinite(dual_new) and predicted < self._dual_rounding(f_new, g_new):
                    # the predicted increase is below the rounding of the dual (marginal
                    # errors near 1e-9): the ratio is noise, so accept a step that reduces the
                    # gradient rather than leave Newton for scaling near the end
                    if err_new < err:
                        return f_new, g_new, dual_new, err_new, n_cg_total, True
                elif ratio > t.accept:
                    if ratio > t.ratio_good:
                        self.mu = max(self.mu / t.mu_factor, t.mu_min)
                    elif ratio < t.ratio_poor:
                        self.mu *= t.mu_factor
                    return f_new, g_new, dual_new, err_new, n_cg_total, True
            self.mu *= t.mu_factor
        self.evaluate(f, g)  # restore the buffers at the last accepted point
        work["evaluations"] += 1
        return f, g, dual, err, n_cg_total, False


def _direct_direction(row, col, indptr, indices, data, shift, grad):
    """Solve the shifted sparsified Newton system directly (last g pinned).

    Up to DENSE_SCHUR_MAX columns by dense Cholesky on the Schur complement of the diagonal f
    block, else (or if that is not numerically positive definite) by sparse LU of the whole
    system. Returns ``(x, curvature)`` with ``curvature = x^T (M + shift I) x``.
    """
    n, m = row.shape[0], col.shape[0]
    S = sp.csr_matrix((data, indices, indptr), shape=(n, m))[:, : m - 1]
    x = np.zeros(n + m)
    solved = m <= DENSE_SCHUR_MAX and _schur_cholesky(row, col, S, shift, grad, x)
    if not solved:
        M = sp.bmat([[sp.diags(row + shift), S], [S.T, sp.diags(col[: m - 1] + shift)]],
                    format="csc")
        # symmetric fill-reducing ordering: the system is symmetric positive definite
        x[: n + m - 1] = spla.spsolve(M, grad[: n + m - 1], permc_spec="MMD_AT_PLUS_A")
    if not np.all(np.isfinite(x)):
        return np.zeros(n + m), 0.0
    xf, xg = x[:n], x[n:n + m - 1]
    curvature = float(xf @ ((row + shift) * xf) + xg @ ((col[: m - 1] + shift) * xg)
                      + 2.0 * xf @ (S @ xg))
    return x, curvature


def _schur_cholesky(row, col, S, shift, grad, x):
    """Fill ``x`` with the solution through the Schur complement ``diag(col) - S^T diag(row)^-1
    S`` (shifted, last column of S dropped); False if it is not numerically positive definite."""
    n, m = row.shape[0], col.shape[0]
    inv_a = 1.0 / (row + shift)
    St = S.T.tocsr()
    schur = -(St @ sp.diags(inv_a) @ S).toarray()
    schur[np.diag_indices(m - 1)] += col[: m - 1] + shift
    try:
        factor = sla.cho_factor(schur, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return False
    z = sla.cho_solve(factor, grad[n:n + m - 1] - St @ (inv_a * grad[:n]), check_finite=False)
    x[n:n + m - 1] = z
    x[:n] = inv_a * (grad[:n] - S @ z)
    return True


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
    g0 = start_potential(problem, init)
    # epsilon scaling: each level's potentials start the next, so the smooth global modes that
    # scaling at small reg corrects slowest are set at a large reg; not from a user's warm start
    levels = _reg_ladder(C, reg) if eps_scaling and init is None else []
    log = _Log(progress)
    args = (density, warmup, check_every, max_cg, newton)
    with numba_threads(n_jobs, work=_kernels.pass_work(C)):
        f, g, converged, plan = _solve(C, a, b, reg, tol, max_iter, *args, g0, log,
                                       n_levels=len(levels))
        if plan is None:  # the warm-up at reg asked for the levels
            progress.stage(f"epsilon scaling through reg = {', '.join(f'{r:.3g}' for r in levels)}")
            g0 = g
            for level in levels:
                _, g0, _, plan = _solve(C, a, b, level, max(tol, TUNING.ladder_tol), max_iter,
                                        *args, g0, log)
                if progress.stopped:
                    break
            if not progress.stopped:
                f, g, converged, plan = _solve(C, a, b, reg, tol, max_iter, *args, g0, log)
            else:  # stopped by the callback within a level: the result is at reg
                f, g, converged, plan = _solve(C, a, b, reg, tol, 0, *args, g0, log)
        result = finish_entropic(problem, f, g, converged=converged, n_iter=log.n_iter,
                                 history=log.history(), plan=plan)
    progress.finish(result)
    return result


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


def _solve(C, a, b, reg, tol, max_iter, density, warmup, check_every, max_cg, mode, g0, log,
           n_levels=0):
    """One SNS solve at ``reg`` from potentials ``g0``, appending to ``log`` (whose counters
    also bound ``max_iter`` across epsilon-scaling levels).

    Returns ``(f, g, converged, plan)`` with ``plan`` the plan at ``(f, g)``, whose marginal
    violation is the last row of ``log``. With ``n_levels`` > 0, ``plan`` is None when the
    solve stopped after the warm-up because ``n_levels`` epsilon-scaling levels should pay.
    """
    state = ScalingState(C, a, b, reg, g0)
    schedule = StageSchedule(C.shape, _kernels.variant(C, reg)[1])
    schedule.absorbed(state.n_absorb)
    if log.n_iter >= max_iter or log.progress.stopped:  # nothing left: report the start
        plan = scaling_plan(state)
        dual = float(a @ state.potentials()[0] + b @ state.potentials()[1]
                     - reg * plan.sum())
        log.add(dual, float(np.abs(plan.sum(axis=1) - a).sum()
                            + np.abs(plan.sum(axis=0) - b).sum()), reg)
        return (*state.potentials(), False, plan)
    newton = None
    chunk = warmup
    err = math.inf
    while log.n_iter < max_iter:
        # ---- scaling stage ------------------------------------------------------------------
        absorbed = state.n_absorb
        n_it, its, errs = _scale(state, min(chunk, max_iter - log.n_iter),
                                 max(tol, schedule.retry_below), min(check_every, chunk), log,
                                 reg)
        schedule.scaled(n_it, state.n_absorb - absorbed, its, errs)
        if errs.shape[0]:
            err = float(errs[-1])
        if err <= tol or not np.isfinite(err) or log.progress.stopped:
            return (*state.potentials(), err <= tol, scaling_plan(state))
        if schedule.levels_pay(err, tol, n_levels):
            # scaling at reg looks slow: the levels (a few exp passes each) pay; easy problems
            # (random assignment, eta=400: 40 iterations) skip them
            return (*state.potentials(), False, None)
        n_levels = 0
        go_newton, chunk = schedule.decide(
            err, tol, mode, lambda: state.mass_fraction(TUNING.dense_share), check_every)
        if not go_newton:
            continue
        # ---- Newton stage -------------------------------------------------------------------
        if newton is None:
            newton = _Newton(C, a, b, reg, density, max_cg)
        f, g = state.potentials()
        dual, err = newton.evaluate(f, g)
        schedule.evaluated()
        log.add(dual, err, reg, potentials=_potentials(f, g))
        # the shift grew on the steps that ended the last stage; the point is a new one
        newton.mu = min(newton.mu, TUNING.mu_start)
        slow = 0
        stage_rates = []
        while err > tol and log.n_iter < max_iter and not log.progress.stopped:
            f, g, dual, err_new, n_cg, ok = newton.step(f, g, dual, err)
            schedule.stepped(schedule.step_cost(**newton.work))
            log.newton += 1
            log.cg += n_cg
            log.add(dual, err_new, reg, potentials=_potentials(f, g))
            rate = err_new / err if err > 0 else 0.0
            err = err_new
            if not ok:
                stage_rates.append(1.0)
                break
            stage_rates.append(rate)
            if len(schedule.first_steps) < 2 and schedule.recheck_after_first_steps(
                    err, tol, mode):
                # the stage began on a guessed step cost, which misses when the plan is dense
                # (large reg: the error bound keeps a third of the plan and sorting it costs
                # many plan evaluations): scaling takes over again
                break
            # Newton progressing slower than scaling would, three steps in a row: back to
            # scaling (see Tuning.leave_*)
            slow = slow + 1 if schedule.newton_slow(err, tol, rate) else 0
            if slow >= schedule.t.leave_after:
                break
        if err <= tol or log.n_iter >= max_iter or log.progress.stopped:
            # the plan at (f, g) is the step's last evaluation, recorded in the last row
            return f, g, err <= tol, newton.P
        # back to scaling from the Newton iterate
        schedule.newton_left(err, stage_rates)
        state.reset_from(f, g)
        schedule.absorbed(1)
        chunk = max(check_every * TUNING.min_checks, warmup)
        if mode == "always":
            mode = "auto"
    return (*state.potentials(), False, scaling_plan(state))


def _potentials(f, g):
    return lambda: {"f": f, "g": g}


def _scale(state, n_iter, tol, check_every, log, reg):
    """A scaling stretch, its checks recorded in ``log``; returns ``(n_it, its, errs)``.

    When the progress reporter needs every check as it happens, the stretch runs in pieces of
    ``check_every`` iterations: the checks, iterates and history are the same either way.
    """
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
            stop = log.add(objs[k], errs[k], reg, t0 + (t1 - t0) * its[k] / max(n_it, 1),
                           potentials=lambda: dict(zip(("f", "g"), state.potentials())))
        log.sinkhorn = base + n_it
        all_its.append(done + its)
        all_errs.append(errs)
        done += n_it
        if n_it < piece or stop or (errs.shape[0] and errs[-1] <= tol):
            break
    return done, np.concatenate(all_its), np.concatenate(all_errs)
