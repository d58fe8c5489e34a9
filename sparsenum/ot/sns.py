"""Sinkhorn-Newton-Sparse (Tang et al., ICLR 2024) with an adaptive switch between the stages."""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..utils import check_int, check_scalar, numba_threads
from . import _kernels
from ._hessian_sparsify import error_bounded_thresholds
from ._result import Support, TransportResult, make_history, validate_common, validate_problem
from .sinkhorn import ScalingState, check_init, finish_entropic, scaling_plan

__all__ = ["sinkhorn_newton_sparse"]

#: Kept entries of the sparsified Hessian per row and column (density = DEFAULT_KEEP / min(n, m)).
DEFAULT_KEEP = 8.0
#: Entries within this factor of their row's or column's largest are kept as well (measured on
#: digits 28x28, L1 cost, eta=400: 0 -> 5.2 s, 0.003 -> 2.6 s, 0.01 -> 1.6 s, 0.03 -> 3.3 s).
RELATIVE_KEEP = 0.01
#: ... applied when some marginal entry is below this fraction of the largest of its marginal.
LIGHT_SPREAD = 1e-2
#: Mass dropped from a column of the plan at most this times ||gradient||_2 (twice that per row),
#: as in SSNS (Tang & Qiu 2024). Measured, one thread: clouds n=800, eta=4000, 48 s -> 6.1 s;
#: digits L1 (light pixels, on top of RELATIVE_KEEP) at eta 400 / 1200 / 4000: 0.42 / 0.91 /
#: 3.6 s -> 0.32 / 0.71 / 3.3 s, once a stagnating Newton stage hands back to scaling (before
#: that rule, one run in six stalled for 2,200 steps at 4e-8 there).
ERROR_BOUND = 0.01
#: Cost of a Newton step in exp passes over C, before one is measured, on sparse plans...
NEWTON_PASSES = 1.0
#: ... and times this and the share of entries holding 99% of the plan's mass, on dense ones.
DENSE_COST = 100.0
#: Epsilon scaling: levels at reg times LADDER_FACTOR, its square, ... while the cost range is at
#: least LADDER_MIN_RANGE times the level's reg (eta = 1200 on costs in [0, 1]: 1/133, 1/400),
#: each solved to a marginal violation of LADDER_TOL. Measured on digits L1, eta=1200: one level
#: (1/400) 0.29 s, two 0.33 s, three 0.32 s, none 1.15 s; levels below range 100 cost more
#: exp passes than they save on easy problems.
LADDER_FACTOR = 3.0
LADDER_MIN_RANGE = 100.0
LADDER_TOL = 1e-3
#: ... used when, after the warm-up at reg, scaling's predicted time exceeds this many exp
#: passes per level (random assignment n=1000, eta=400: 30 ms with a level, 18 ms without)
LADDER_PAYS = 4.0
#: Newton steps to the tolerance assumed before a Newton stage has been measured.
NEWTON_STEPS_GUESS = 6
_ACCEPT = 1e-4  # minimal ratio of actual to predicted dual increase
MU_START = 0.1  # initial shift factor of the Newton system (times ||grad||_1)
_MU_MIN = 1e-6
_MAX_TRIALS = 12
#: Largest number of columns whose Newton system is factorised densely (Schur complement).
DENSE_SCHUR_MAX = 1500
_SAMPLE = 20_000
_kernel_variants_loaded = set()  # kernel variants already run in this process (see _solve)
_newton_kernels_loaded = []  # non-empty once _load_newton_kernels has run


class _Log:
    """Rows of the SNS history with cumulative counters per stage."""

    def __init__(self, start):
        self.start = start
        self.rows = []  # (iteration, elapsed, objective, error, sinkhorn, newton, cg)
        self.sinkhorn = self.newton = self.cg = 0

    def add(self, objective, error, elapsed=None):
        elapsed = time.perf_counter() - self.start if elapsed is None else elapsed
        self.rows.append((self.sinkhorn + self.newton, elapsed, objective, error,
                          self.sinkhorn, self.newton, self.cg))

    def history(self):
        cols = np.array(self.rows, dtype=float).reshape(-1, 7).T
        return make_history(cols[3], cols[2], iteration=cols[0], elapsed=cols[1],
                            sinkhorn_iterations=cols[4], newton_iterations=cols[5],
                            cg_products=cols[6])


def _threshold(P, density, rng):
    """Entry value above which about ``density * n * m`` entries of the plan ``P`` lie.

    A quantile of a random sample of the entries already computed by the last evaluation (no
    exp pass, no full sort): the kept count only needs to be right to a few percent.
    """
    if density >= 1.0:
        return 0.0
    flat = P.reshape(-1)
    if flat.shape[0] <= _SAMPLE:
        sample = flat.copy()
    else:
        sample = flat[rng.integers(0, flat.shape[0], _SAMPLE)]
    k = min(sample.shape[0] - 1, int((1.0 - density) * sample.shape[0]))
    return float(np.partition(sample, k)[k])


def _load_newton_kernels():
    """Run the Newton step's kernels once on a 3x3 plan: a process's first call loads them from
    numba's cache (about 20 ms), which the first timed step would otherwise count as its cost."""
    if _newton_kernels_loaded:
        return
    P = np.full((3, 3), 1.0 / 9.0)
    indptr = np.zeros(4, dtype=np.int64)
    thr_row, thr_col = np.zeros(3), np.zeros(3)
    nnz = error_bounded_thresholds(P, 1e-3, thr_row, thr_col, indptr)
    indices, data = np.empty(nnz, dtype=np.int64), np.empty(nnz)
    _kernels.sparsify_fill(P, thr_row, thr_col, indptr, indices, data)
    sums = P.sum(axis=1)
    _kernels.newton_direction(sums, sums, indptr, indices, data, 1e-3, np.ones(6), 1e-2, 10)
    _newton_kernels_loaded.append(True)


class _Newton:
    """Newton stage on the dual potentials; owns the dense plan buffer."""

    def __init__(self, C, a, b, reg, density, max_cg):
        _load_newton_kernels()
        n, m = C.shape
        self.C, self.a, self.b, self.reg = C, a, b, reg
        self.density, self.max_cg = density, max_cg
        self.P = np.empty((n, m))
        self.row = np.empty(n)
        self.col = np.empty(m)
        self.rng = np.random.default_rng(0)
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        self.mu = MU_START
        self.n_direct = 0
        # only for marginals spanning orders of magnitude: on uniform ones the extra entries
        # slowed random n=1000, eta=4000 from 2.5 s to 8 s (Newton left early for scaling)
        spread = min(a.min() / a.max(), b.min() / b.max())
        self.relative = RELATIVE_KEEP if spread < LIGHT_SPREAD else 0.0

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
        n = f.shape[0]
        grad = np.concatenate([self.a - self.row, self.b - self.col])
        thr = _threshold(self.P, self.density, self.rng)
        thr_row, thr_col = np.full(n, thr), np.full(self.b.shape[0], thr)
        if self.relative > 0:
            # also keep each row's and column's leading entries (within a factor `relative` of
            # its largest): light rows and columns (near-zero marginals, as in images) otherwise
            # keep no coupling and Newton degrades to scaling on them
            np.minimum(thr_row, self.relative * self.P.max(axis=1), out=thr_row)
            np.minimum(thr_col, self.relative * self.P.max(axis=0), out=thr_col)
        # a fixed density keeps a fixed Hessian error and Newton converges only linearly;
        # dropping mass proportional to the gradient makes the steps asymptotically exact
        nnz = error_bounded_thresholds(self.P, ERROR_BOUND * float(np.sqrt(grad @ grad)),
                                       thr_row, thr_col, self.indptr)
        indices = np.empty(nnz, dtype=np.int64)
        data = np.empty(nnz)
        _kernels.sparsify_fill(self.P, thr_row, thr_col, self.indptr, indices, data)
        # inexact Newton: a relative residual of 1e-2 keeps a fast linear rate while CG on the
        # nearly disconnected sparse graphs of small reg stalls long before tighter targets
        rtol = min(0.1, max(1e-2, math.sqrt(err)))
        gnorm = float(np.abs(grad).sum())
        n_cg_total = 0
        for _ in range(_MAX_TRIALS):
            shift = self.mu * gnorm
            d, n_cg, curvature = _kernels.newton_direction(
                self.row, self.col, self.indptr, indices, data, shift, grad, rtol, self.max_cg)
            n_cg_total += n_cg
            if n_cg > self.max_cg:
                # CG stalled: at small reg the kept graph splits into weakly linked clusters and
                # the system is too ill-conditioned for CG; a sparse LU solve costs little more
                d, curvature = _direct_direction(self.row, self.col, self.indptr, indices,
                                                 data, shift, grad)
                self.n_direct += 1
            d *= self.reg
            slope = float(grad @ d)
            # quadratic model of the dual increase along d (reg * curvature = d^T H d / reg)
            predicted = slope - 0.5 * curvature * self.reg
            if slope > 0 and predicted > 0:
                f_new, g_new = f + d[:n], g + d[n:]
                dual_new, err_new = self.evaluate(f_new, g_new)
                ratio = (dual_new - dual) / predicted if np.isfinite(dual_new) else -np.inf
                if np.isfinite(dual_new) and predicted < self._dual_rounding(f_new, g_new):
                    # the predicted increase is below the rounding of the dual (marginal
                    # errors near 1e-9): the ratio is noise, so accept a step that reduces the
                    # gradient (measured: digits L1, eta=1200, such rejections sent SNS back
                    # to 900 scaling iterations at 5e-9)
                    if err_new < err:
                        return f_new, g_new, dual_new, err_new, n_cg_total, True
                elif ratio > _ACCEPT:
                    if ratio > 0.75:
                        self.mu = max(self.mu / 4.0, _MU_MIN)
                    elif ratio < 0.25:
                        self.mu *= 4.0
                    return f_new, g_new, dual_new, err_new, n_cg_total, True
            self.mu *= 4.0
        self.evaluate(f, g)  # restore the buffers at the last accepted point
        return f, g, dual, err, n_cg_total, False


def _direct_direction(row, col, indptr, indices, data, shift, grad):
    """Solve the shifted sparsified Newton system directly (last g pinned).

    Up to DENSE_SCHUR_MAX columns by dense Cholesky on the Schur complement of the diagonal f
    block, else (or if that is not numerically positive definite) by sparse LU of the whole
    system (measured at n=500, eta=4000: 6-11 ms against 17-21 ms).
    Returns ``(x, curvature)`` with ``curvature = x^T (M + shift I) x``.
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


def _predicted_steps(err, tol, rate):
    if err <= tol:
        return 0.0
    if not (0.0 < rate < 1.0):
        return math.inf
    return math.log(tol / err) / math.log(rate)


def _predicted_seconds(err, tol, rate, seconds_per_iter):
    return _predicted_steps(err, tol, rate) * seconds_per_iter if err > tol else 0.0


def sinkhorn_newton_sparse(a, b, C, reg, *, tol=1e-9, max_iter=100_000, density=None,
                           warmup=20, check_every=10, max_cg=1000, newton="auto",
                           eps_scaling=True, init=None, n_jobs=None) -> TransportResult:
    r"""Entropic OT by Sinkhorn-Newton-Sparse: scaling warm-up, then sparse Newton steps.

    Same problem as :func:`sinkhorn`. After ``warmup`` stabilised Sinkhorn iterations the solver
    measures Sinkhorn's contraction rate and the cost of an iteration; when the predicted time
    to ``tol`` exceeds the predicted cost of the Newton stage, it switches to Newton steps on
    the dual potentials. Each Newton step keeps the exact diagonal of the Hessian (row and
    column sums of P) and only the largest entries of P (about ``density * n * m`` of them),
    solves the Newton system by Jacobi-preconditioned conjugate gradients with the gauge fixed
    (last potential of ``g`` pinned), and takes an Armijo backtracking step on the dual
    objective. If Newton progresses slower than scaling would, it returns to scaling.

    Parameters
    ----------
    a, b, C, reg
        As in :func:`sinkhorn`.
    tol : float, default=1e-9
        Stop when ``||P1 - a||_1 + ||P^T 1 - b||_1 <= tol``.
    max_iter : int, default=100_000
        Maximum total iterations (Sinkhorn iterations plus Newton steps).
    density : float in (0, 1], optional
        Fraction of the entries of P kept in the sparsified Hessian. Default
        ``min(1, 8 / min(n, m))`` (measured: 4/n to 16/n give similar Newton step counts on
        random assignment and point clouds; 2/n, the paper's value, is slower to converge).
        When a marginal has entries below 1% of its largest (images with near-empty pixels),
        each row's and column's entries within 1% of its largest are kept as well, so light
        rows stay coupled (measured: digits 28x28, L1 cost, eta=400, 5.2 s -> 1.6-2.5 s).
        Then the kept set is enlarged so that at most ``0.01 ||grad||_2`` of mass is dropped
        from every column of P and twice that from every row (the error-bounded rule of Tang &
        Qiu's SSNS): the Hessian's error shrinks with the gradient and the Newton steps become
        asymptotically exact (measured: 2-D clouds, n=800, eta=4000, 48 s -> 6.1 s; digits L1,
        eta=1200, 0.91 s -> 0.71 s).
    warmup : int, default=20
        Sinkhorn iterations before the first decision (the paper uses 20).
    check_every : int, default=10
        Sinkhorn iterations between evaluations of the stopping criterion.
    max_cg : int, default=1000
        Maximum conjugate-gradient products per Newton step; if CG has not reached its
        tolerance by then (ill-conditioned systems at small ``reg``), the sparse system is
        solved by sparse LU instead. A product costs ``O(n + m + nnz)``, far less than the
        ``O(n m)`` exp pass of a step, so many products are cheaper than one LU solve
        (measured at n=300, eta=1200: 100 -> 0.69 s with 7 LU solves, 1000 -> 0.34 s).
    newton : {"auto", "always", "never"}, default="auto"
        ``"auto"`` decides from measured rates; ``"always"`` switches after the warm-up (the
        paper's algorithm), then behaves like ``"auto"``: a Newton stage that progresses slower
        than scaling would (seen at small ``reg`` on tiny problems, where the sparsified
        Hessian is nearly singular) hands back to scaling; ``"never"`` runs stabilised
        Sinkhorn only.
    eps_scaling : bool, default=True
        Epsilon scaling (Kosowsky & Yuille 1994; Schmitzer 2019), not part of the SNS paper:
        first solve at ``reg`` times 3, 9, ... (coarse to fine, while ``ptp(C) / level >=
        100``; none when ``ptp(C) / reg < 300``) to a marginal violation of 1e-3, each level
        warm-starting the next, when the warm-up at ``reg`` predicts scaling to take longer
        than 4 exp passes over C per level (easy problems skip them). Scaling corrects the
        smooth, image-wide modes of the potentials slowest at small ``reg``; a large ``reg``
        sets them in a few iterations (measured, one thread: digits L1 cost, eta=1200,
        1.1 s -> 0.35 s; eta=4000, 3.2 s -> 0.5 s;
        clouds n=800, eta=4000, 1.05 s -> 0.39 s). Ignored with ``init``. The history's rows
        begin with the levels' iterations, errors and duals (of their own problems).
    init : tuple (f, g), optional
        Warm-start potentials.
    n_jobs : int, optional
        Numba threads.

    Returns
    -------
    TransportResult
        ``history`` columns ``sinkhorn_iterations``, ``newton_iterations`` and ``cg_products``
        are cumulative counts.

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
    a_full, b_full, C_full, reg = validate_problem(a, b, C, reg)
    tol, max_iter = validate_common(tol, max_iter)
    density = check_scalar(density, "density", low=0.0, high=1.0, include_low=False,
                           allow_none=True)
    warmup = check_int(warmup, "warmup", low=1)
    check_every = check_int(check_every, "check_every", low=1)
    max_cg = check_int(max_cg, "max_cg", low=1)
    if newton not in ("auto", "always", "never"):
        raise ValueError(f"newton must be one of 'auto', 'always', 'never'; got {newton!r}")
    if not isinstance(eps_scaling, (bool, np.bool_)):
        raise TypeError(f"eps_scaling must be a bool; got {eps_scaling!r}")
    init = check_init(init, a_full.shape[0], b_full.shape[0])
    support = Support.of(a_full, b_full)
    a, b, C = support.restrict(a_full, b_full, C_full)
    if density is None:
        density = min(1.0, DEFAULT_KEEP / min(C.shape))
    g0 = None if init is None else np.where(np.isfinite(init[1][support.cols]),
                                            init[1][support.cols], 0.0)
    # epsilon scaling: each level's potentials start the next, so the smooth global modes that
    # scaling at small reg corrects slowest are set at a large reg (measured: digits L1,
    # eta=1200 and 4000, 1.1 s and 3.2 s -> 0.3 s and 0.4 s; random n=500, eta=4000, 0.25 s ->
    # 0.11 s); not from a user's warm start
    levels = _reg_ladder(C, reg) if eps_scaling and init is None else []
    log = _Log(time.perf_counter())
    args = (density, warmup, check_every, max_cg, newton)
    with numba_threads(n_jobs):
        f, g, converged, plan = _solve(C, a, b, reg, tol, max_iter, *args, g0, log,
                                       n_levels=len(levels))
        if plan is None:  # the warm-up at reg asked for the levels
            g0 = g
            for level in levels:
                _, g0, _, _ = _solve(C, a, b, level, max(tol, LADDER_TOL), max_iter, *args, g0,
                                     log)
            f, g, converged, plan = _solve(C, a, b, reg, tol, max_iter, *args, g0, log)
    return finish_entropic(support, a_full, b_full, C_full, C, reg, f, g, converged=converged,
                           n_iter=log.sinkhorn + log.newton, history=log.history(), plan=plan)


def _reg_ladder(C, reg):
    """Regularisations of the epsilon-scaling levels before ``reg``, coarse to fine: ``reg``
    times 3, 9, 27, ... while the cost range stays at least LADDER_MIN_RANGE of them."""
    span = float(np.ptp(C))
    levels = []
    level = reg * LADDER_FACTOR
    while span >= LADDER_MIN_RANGE * level:
        levels.append(level)
        level *= LADDER_FACTOR
    return levels[::-1]


def _solve(C, a, b, reg, tol, max_iter, density, warmup, check_every, max_cg, mode, g0, log,
           n_levels=0):
    """One SNS solve at ``reg`` from potentials ``g0``, appending to ``log`` (whose counters
    also bound ``max_iter`` across epsilon-scaling levels).

    Returns ``(f, g, converged, plan)``; with ``n_levels`` > 0, ``plan`` is None when the
    solve stopped after the warm-up because ``n_levels`` epsilon-scaling levels should pay.
    """
    start = time.perf_counter()
    state = ScalingState(C, a, b, reg, g0)
    t_exp = time.perf_counter() - start  # one exp pass over C: the unit of the Newton guess
    variant = _kernels.variant(C, reg)
    if variant not in _kernel_variants_loaded:
        # the first call in a process loads the numba kernels from the cache (0.2-0.6 s), which
        # would count as the cost of an exp pass and of scaling: time a second pass, and run one
        # untimed scaling iteration (measured: random n=500, eta=4000, 1.8 s against 0.36 s warm)
        t0 = time.perf_counter()
        state.reset_from(None, state.g)
        t_exp = time.perf_counter() - t0
        log.sinkhorn += state.run(1, 0.0, 1)[0]  # the log is shared by the epsilon levels
        _kernel_variants_loaded.add(variant)
    newton = None
    newton_sec = None  # a guess at the first decision, then measured Newton steps
    newton_rate = None  # per-step error ratio at the end of the last Newton stage
    first_steps = []  # seconds of the first two Newton steps (until then newton_sec is a guess)
    sink_rate, sink_sec, sink_err = 1.0, math.inf, math.inf
    chunk = warmup
    err = math.inf
    # after a Newton stage hands back, scaling also stops once it has cut the error 10x: a
    # Newton stage that failed far from the optimum may converge closer to it, and the doubled
    # stretch of scaling would otherwise run on past that point (measured: digits L1, eta=1200,
    # 9.5 s of scaling from 6e-2 to 5e-3 that Newton then crossed in a few steps)
    retry_below = 0.0
    while log.sinkhorn + log.newton < max_iter:
        # ---- scaling stage ------------------------------------------------------------------
        t0 = time.perf_counter()
        n_it, its, errs, objs = state.run(min(chunk, max_iter - log.sinkhorn - log.newton),
                                          max(tol, retry_below), min(check_every, chunk))
        t1 = time.perf_counter()
        base = log.sinkhorn
        for k in range(errs.shape[0]):
            log.sinkhorn = base + int(its[k])
            log.add(objs[k], errs[k], t0 - log.start + (t1 - t0) * its[k] / max(n_it, 1))
        log.sinkhorn = base + n_it
        if errs.shape[0]:
            err = float(errs[-1])
        if err <= tol or not np.isfinite(err):
            return (*state.potentials(), err <= tol, scaling_plan(state))
        sink_sec = (t1 - t0) / max(n_it, 1)
        if errs.shape[0] >= 2 and errs[0] > 0:
            # rate over the second half of the chunk: scaling slows down, the tail is what counts
            k = errs.shape[0] // 2 if errs.shape[0] >= 4 else 0
            sink_rate = (errs[-1] / errs[k]) ** (1.0 / max(its[-1] - its[k], 1))
            sink_err = err
        remaining = _predicted_seconds(err, tol, sink_rate, sink_sec)
        if n_levels and remaining > LADDER_PAYS * n_levels * t_exp:
            # scaling at reg looks slow: the levels (a few exp passes each) pay; easy problems
            # (random assignment, eta=400: 40 iterations) skip them
            return (*state.potentials(), False, None)
        n_levels = 0
        if newton_sec is None:
            # the error-bounded sparsification keeps about the entries holding 99% of the mass,
            # so a step's sorting and CG products grow with their share of the plan: measured
            # 0.3-0.9 exp passes where that share is below 1% (random, digits, clouds at small
            # reg), 15-25 at 15-40% (clouds n=800 at eta 100 and 400)
            newton_sec = NEWTON_PASSES * t_exp * max(1.0, DENSE_COST * state.mass_fraction(0.99))
        stage_sec = newton_sec * (NEWTON_STEPS_GUESS if newton_rate is None else
                                  _predicted_steps(err, tol, newton_rate))
        go_newton = mode == "always" or (
            mode == "auto" and remaining > stage_sec) or (
            mode == "auto" and err <= retry_below and remaining > 3.0 * newton_sec)
        if go_newton or err <= retry_below:
            retry_below = 0.0  # else it stays: the scaling run stops there for this retry
        if not go_newton:
            # keep scaling for a stretch costing about a Newton stage but at most half the time
            # spent so far, then look again: scaling slows down as it converges, and its rate
            # is only known by measuring it (digits L1, eta=1200: 0.998 at 3e-2, 0.99993 at
            # 2e-3, where one blind 9,000-iteration stretch had cost 3 s)
            stretch = min(stage_sec, max(0.5 * (t1 - start), 50 * sink_sec))
            chunk = int(min(max(check_every * 5, stretch / sink_sec), 20_000))
            continue
        # ---- Newton stage -------------------------------------------------------------------
        if newton is None:
            newton = _Newton(C, a, b, reg, density, max_cg)
        f, g = state.potentials()
        dual, err = newton.evaluate(f, g)
        log.add(dual, err)
        # the shift grew on the steps that ended the last stage; the point is a new one
        newton.mu = min(newton.mu, MU_START)
        slow = 0
        stage_rates = []
        while err > tol and log.sinkhorn + log.newton < max_iter:
            t0 = time.perf_counter()
            f, g, dual, err_new, n_cg, ok = newton.step(f, g, dual, err)
            newton_sec = time.perf_counter() - t0
            log.newton += 1
            log.cg += n_cg
            log.add(dual, err_new)
            rate = err_new / err if err > 0 else 0.0
            err = err_new
            if not ok:
                stage_rates.append(1.0)
                break
            stage_rates.append(rate)
            if len(first_steps) < 2:
                first_steps.append(newton_sec)
                # the stage began on a guessed step cost, which misses when the plan is dense
                # (large reg: the error bound keeps a third of the plan and sorting it costs
                # 20x the exp pass; measured on clouds n=800, eta=100): decide again on the
                # faster of the first two steps (the first may include one-off costs)
                if len(first_steps) == 2 and mode == "auto" and _predicted_seconds(
                        err, tol, sink_rate, sink_sec) < NEWTON_STEPS_GUESS * min(first_steps):
                    break
            # Newton converging slower (in seconds) than scaling would: go back to scaling
            # (by a margin of 2 and three steps in a row: single steps' timings are noisy on a
            # loaded machine, and leaving a Newton stage that was converging cost 3-4x at
            # random n=1000, eta=4000)
            # Scaling slows down as it converges, so a rate it showed at 10x the current error
            # flatters it: against such a stale rate only a stagnating Newton leaves
            # (measured: random n=500, eta=4000, Newton at rate 0.27 left at 5e-7 for a rate
            # seen at 2e-2, and scaling then took 13,000 iterations at 0.99998)
            # A stagnating Newton (rate >= 0.99) leaves whatever scaling's prediction: where
            # scaling stagnates too both predictions are infinite (digits L1, eta=4000: 2,200
            # steps at 4.3e-8 with the error-bounded Hessian)
            stale = err < 0.1 * sink_err
            if rate >= 0.99 or (rate > (0.9 if stale else 0.25) and _predicted_seconds(
                    err, tol, rate, newton_sec) > 2.0 * _predicted_seconds(
                    err, tol, sink_rate, sink_sec)):
                slow += 1
                if slow >= 3:
                    break
            else:
                slow = 0
        if err <= tol:
            return f, g, True, newton.P  # the plan at (f, g), from the last evaluation
        # back to scaling from the Newton iterate
        # the stage's last rates predict the next stage (pessimistically: Newton speeds up as
        # the error falls); a failed step counts as no progress
        last = stage_rates[-3:] if stage_rates else [1.0]
        newton_rate = min(float(np.prod(last)) ** (1.0 / len(last)), 1.0)
        retry_below = err / 10.0
        state.reset_from(f, g)
        chunk = max(check_every * 5, warmup)
        if mode == "always":
            mode = "auto"
    return (*state.potentials(), False, scaling_plan(state))
