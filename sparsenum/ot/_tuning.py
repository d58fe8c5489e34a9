"""Tuning constants of Sinkhorn-Newton-Sparse: the schedule's costs and decisions, the Newton step,
epsilon scaling."""

from __future__ import annotations

import dataclasses

from ._scaling import MAX_CHUNK


@dataclasses.dataclass(frozen=True)
class Tuning:
    """Tuning constants of Sinkhorn-Newton-Sparse, each with its reason.

    Costs are in work units of about a nanosecond of one core of the 2-core x86-64 machine they
    were measured on (one thread, numba 0.6x, OpenBLAS); only their ratios matter. The user
    guide's "How the solver decides" gives the measurements behind several of the choices.
    """

    # -- costs, per entry of the n x m plan unless stated ---------------------------------------
    #: forming the plan by exp (measured 4-12 units: more where exponents underflow at random)
    exp_entry: float = 6.0
    #: a scaling iteration: two matrix-vector products with the kernel (BLAS gemv)
    scaling_entry: float = 0.25
    #: recomputing the kernel (an exact log-domain row or column update) with numba's exp ...
    absorb_entry: float = 25.0
    #: ... and with numpy's SIMD exp, used while no exponent underflows
    absorb_entry_numpy: float = 3.5
    #: the sparsification's comparison passes (thresholds, then the CSR fill)
    sparsify_entry: float = 3.5
    #: per entry the error-bounded thresholds order in a heap (dense plans: up to half of them)
    sorted_entry: float = 30.0
    #: per entry copied into the sparse Hessian
    kept_entry: float = 9.0
    #: the magnitude threshold's random sample of 20,000 entries (cache misses), per step
    sample: float = 6e5
    #: a conjugate-gradient product, per kept entry ...
    cg_entry: float = 1.2
    #: ... and per potential (the fused vector updates)
    cg_coordinate: float = 3.0
    #: direct solve of a stalled CG system (dense Cholesky of the Schur complement), per flop
    dense_flop: float = 0.15

    # -- decisions ------------------------------------------------------------------------------
    #: a Newton step's cost in plan evaluations before one is counted, on sparse plans ...
    newton_passes: float = 1.0
    #: ... times this and the share of entries holding 99% of the mass on dense ones (the
    #: sparsification then sorts a large part of the plan: 15-25 evaluations at 15-40%)
    dense_cost: float = 100.0
    #: Newton steps to the tolerance assumed before a Newton stage has been seen
    newton_steps_guess: int = 6
    #: epsilon-scaling levels are used when scaling at reg is predicted to cost more than this
    #: many plan evaluations per level (about 400 scaling iterations): below that, restarting
    #: at each level costs about what it saves (digits and 120-point clouds at eta=400)
    ladder_pays: float = 16.0
    #: a scaling stretch before the next decision costs about a Newton stage, but at most this
    #: share of the work so far (scaling slows as it converges; its rate is only known by
    #: measuring it) ...
    stretch_share: float = 0.5
    #: ... and at least this many iterations ...
    min_stretch: int = 50
    #: ... and at most this many, as plain Sinkhorn's kernel calls (the kernel's history
    #: buffers hold one row per check)
    max_chunk: int = MAX_CHUNK
    #: a Newton stage leaves for scaling when its predicted cost exceeds scaling's by this factor
    leave_factor: float = 2.0
    #: ... while its per-step rate is above this ...
    leave_rate: float = 0.25
    #: ... or above this when scaling's rate is stale (measured at 10x the current error or
    #: more: scaling slows as it converges, so an old rate flatters it) ...
    leave_rate_stale: float = 0.9
    #: ... or whatever the prediction when Newton stagnates at this rate (both may stagnate) ...
    stagnation: float = 0.99
    #: ... for this many steps in a row (one poor step is common and leaving a converging
    #: Newton stage cost 3-4x on random assignment, n=1000, eta=4000)
    leave_after: int = 3
    #: the next Newton stage is predicted at the geometric mean rate of the last stage's last
    #: this many steps
    rate_window: int = 3
    #: scaling's rate is stale below this fraction of the error it was measured at
    stale: float = 0.1
    #: after a Newton stage failed, scaling stops once it has cut the error this much, and
    #: Newton is retried there (it may converge closer to the optimum) ...
    retry_factor: float = 10.0
    #: ... if scaling's predicted remaining cost exceeds this many Newton steps
    retry_steps: float = 3.0
    #: a scaling stretch holds at least this many checks of the stopping criterion
    min_checks: int = 5
    #: the first guess of a Newton step's cost counts the entries holding this share of the mass
    dense_share: float = 0.99

    # -- the sparsified Newton step -------------------------------------------------------------
    #: kept entries of the sparsified Hessian per row and column (density = keep / min(n, m);
    #: 4 to 16 give similar step counts, the paper's 2 converges more slowly)
    keep: float = 8.0
    #: entries within this factor of their row's or column's largest are kept as well, so that
    #: light rows and columns (near-empty pixels) stay coupled and Newton does not degrade to
    #: scaling on them; larger factors keep too few, smaller ones too many ...
    relative_keep: float = 0.01
    #: ... only when some marginal entry is below this fraction of its marginal's largest: on
    #: uniform marginals the extra entries cost more than they save
    light_spread: float = 1e-2
    #: mass dropped from a column of the plan at most this times ||gradient||_2 (twice that per
    #: row), as in SSNS (Tang & Qiu 2024): the Hessian's error shrinks with the gradient, so the
    #: Newton steps become asymptotically exact (a fixed density converges only linearly)
    error_bound: float = 0.01
    #: entries sampled for the magnitude threshold (a quantile needed to a few percent)
    threshold_sample: int = 20_000
    #: inexact Newton: CG's relative residual is sqrt(violation), clipped to at least this (a
    #: fast linear rate, while CG on the nearly disconnected graphs of small reg stalls long
    #: before tighter targets) ...
    cg_rtol_min: float = 1e-2
    #: ... and at most this
    cg_rtol_max: float = 0.1
    #: initial shift of the Newton system, times ||grad||_1 (trust-region style, as in SSNS) ...
    mu_start: float = 0.1
    #: ... never below this ...
    mu_min: float = 1e-6
    #: ... divided by this after a good step, multiplied after a poor or rejected one
    mu_factor: float = 4.0
    #: a step is good when the dual rises by more than this share of the model's prediction ...
    ratio_good: float = 0.75
    #: ... poor below this share ...
    ratio_poor: float = 0.25
    #: ... and rejected below this one
    accept: float = 1e-4
    #: shifts tried per step before the step fails (the shift grows 4^12 = 1.7e7 times)
    max_trials: int = 12

    # -- epsilon scaling --------------------------------------------------------------------------
    #: levels at reg times this, its square, ... (coarse to fine) ...
    ladder_factor: float = 3.0
    #: ... while the cost range is at least this many times the level's reg: levels below it
    #: cost more exp passes than they save on easy problems
    ladder_min_range: float = 100.0
    #: each level is solved to this marginal violation (its potentials only start the next)
    ladder_tol: float = 1e-3


TUNING = Tuning()
