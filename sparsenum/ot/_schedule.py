"""Stage decisions of Sinkhorn-Newton-Sparse, from counted work.

SNS alternates stabilised scaling and sparse Newton stages; whether a Newton stage pays depends
on how fast scaling converges and on what its iterations cost against a Newton step. Both costs
are *counted*, never timed: from the problem's size and the work each stage reports (scaling
iterations, kernel recomputations, plan evaluations, entries kept and sorted by the
sparsification, conjugate-gradient products, direct solves), weighted by per-entry costs
measured once. The same input therefore gives the same decisions, iterates, ``n_iter`` and
history on any machine, under any load and with any number of threads.
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Tuning:
    """Tuning constants of the SNS schedule, each with its reason.

    Costs are in work units of about a nanosecond of one core of the 2-core x86-64 machine they
    were measured on (one thread, numba 0.6x, OpenBLAS); only their ratios matter.
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
    #: ... and at most this many (the kernel's history buffers hold one row per check)
    max_chunk: int = 20_000
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
    #: scaling's rate is stale below this fraction of the error it was measured at
    stale: float = 0.1
    #: after a Newton stage failed, scaling stops once it has cut the error this much, and
    #: Newton is retried there (it may converge closer to the optimum) ...
    retry_factor: float = 10.0
    #: ... if scaling's predicted remaining cost exceeds this many Newton steps
    retry_steps: float = 3.0


TUNING = Tuning()


def predicted_steps(err: float, tol: float, rate: float) -> float:
    """Steps to reduce ``err`` to ``tol`` at a linear ``rate`` per step (inf if not < 1)."""
    if err <= tol:
        return 0.0
    if not (0.0 < rate < 1.0):
        return math.inf
    return math.log(tol / err) / math.log(rate)


class StageSchedule:
    """Counted work of one SNS solve and the decisions taken from it.

    Parameters
    ----------
    shape : (n, m)
        Size of the plan.
    numpy_exp : bool
        Whether kernel recomputations use numpy's exp (see ``_kernels.variant``).
    """

    def __init__(self, shape, numpy_exp: bool, tuning: Tuning = TUNING) -> None:
        n, m = shape
        self.t = tuning
        self.n, self.m = n, m
        entries = float(n) * float(m)
        self.entries = entries
        self.exp_pass = tuning.exp_entry * entries
        self.absorb_cost = (tuning.absorb_entry_numpy if numpy_exp else
                            tuning.absorb_entry) * entries
        self.scaling_cost = tuning.scaling_entry * entries
        self.work = 0.0  # counted work of this solve so far
        self.sink_rate = 1.0  # scaling's error ratio per iteration, last measured
        self.sink_step = math.inf  # work per scaling iteration, last measured
        self.sink_err = math.inf  # the error at which sink_rate was measured
        self.newton_step = None  # work per Newton step: a guess, then counted steps
        self.newton_rate = None  # per-step error ratio at the end of the last Newton stage
        self.first_steps = []  # work of the first two Newton steps
        self.retry_below = 0.0

    # -- scaling -----------------------------------------------------------------------------
    def absorbed(self, count: int) -> None:
        """``count`` kernel recomputations (absorptions or restarts) were made."""
        self.work += count * self.absorb_cost

    def scaled(self, n_it: int, n_absorb: int, its, errs) -> None:
        """A scaling stretch of ``n_it`` iterations with ``n_absorb`` kernel recomputations
        ended; ``its, errs`` are its checks."""
        cost = n_it * self.scaling_cost + n_absorb * self.absorb_cost
        self.work += cost
        self.sink_step = cost / max(n_it, 1)
        if errs.shape[0] >= 2 and errs[0] > 0:
            # rate over the second half of the stretch: scaling slows down, the tail counts
            k = errs.shape[0] // 2 if errs.shape[0] >= 4 else 0
            self.sink_rate = float((errs[-1] / errs[k]) ** (1.0 / max(its[-1] - its[k], 1)))
            self.sink_err = float(errs[-1])

    def scaling_remaining(self, err: float, tol: float) -> float:
        return predicted_steps(err, tol, self.sink_rate) * self.sink_step if err > tol else 0.0

    def levels_pay(self, err: float, tol: float, n_levels: int) -> bool:
        """Whether ``n_levels`` epsilon-scaling levels (a few plan evaluations each) pay."""
        return n_levels > 0 and self.scaling_remaining(err, tol) > (
            self.t.ladder_pays * n_levels * self.exp_pass)

    def decide(self, err: float, tol: float, mode: str, mass_fraction,
               check_every: int) -> tuple[bool, int]:
        """After a scaling stretch: ``(go_newton, next_stretch_iterations)``.

        ``mass_fraction()`` estimates the share of entries holding 99% of the plan's mass
        (called once, for the first guess of a Newton step's cost).
        """
        t = self.t
        remaining = self.scaling_remaining(err, tol)
        if self.newton_step is None:
            self.newton_step = t.newton_passes * self.exp_pass * max(
                1.0, t.dense_cost * mass_fraction())
        steps = (t.newton_steps_guess if self.newton_rate is None else
                 predicted_steps(err, tol, self.newton_rate))
        stage = self.newton_step * steps
        retry = err <= self.retry_below
        go = mode == "always" or (mode == "auto" and remaining > stage) or (
            mode == "auto" and retry and remaining > t.retry_steps * self.newton_step)
        if go or retry:
            self.retry_below = 0.0  # else it stays: the scaling stretch stops there
        stretch = min(stage, max(t.stretch_share * self.work, t.min_stretch * self.sink_step))
        return go, int(min(max(5 * check_every, stretch / self.sink_step), t.max_chunk))

    # -- Newton ------------------------------------------------------------------------------
    def evaluated(self, count: int = 1) -> None:
        """``count`` plan evaluations outside Newton steps (entering a stage)."""
        self.work += count * self.exp_pass

    def step_cost(self, evaluations, kept, n_sorted, cg_products, direct_solves) -> float:
        t = self.t
        coords = self.n + self.m
        return (evaluations * self.exp_pass + t.sample + t.sparsify_entry * self.entries
                + t.sorted_entry * n_sorted + t.kept_entry * kept
                + cg_products * (t.cg_entry * kept + t.cg_coordinate * coords)
                + direct_solves * (t.dense_flop * self.m ** 3 / 3.0 + t.cg_entry * kept))

    def stepped(self, cost: float) -> None:
        self.work += cost
        self.newton_step = cost

    def recheck_after_first_steps(self, err: float, tol: float, mode: str) -> bool:
        """True when the first two counted steps show the stage began on a guess that was too
        low (dense plans at large reg) and scaling should take over again."""
        self.first_steps.append(self.newton_step)
        return (len(self.first_steps) == 2 and mode == "auto"
                and self.scaling_remaining(err, tol) < self.t.newton_steps_guess * min(
                    self.first_steps))

    def newton_slow(self, err: float, tol: float, rate: float) -> bool:
        """Whether a Newton step at ``rate`` progressed slower than scaling would."""
        t = self.t
        stale = err < t.stale * self.sink_err
        if rate >= t.stagnation:
            return True
        threshold = t.leave_rate_stale if stale else t.leave_rate
        return rate > threshold and (predicted_steps(err, tol, rate) * self.newton_step
                                     > t.leave_factor * self.scaling_remaining(err, tol))

    def newton_left(self, err: float, stage_rates) -> None:
        """A Newton stage ended without converging: its last rates predict the next one
        (pessimistically: Newton speeds up as the error falls), and scaling retries Newton
        once it has cut the error ``retry_factor`` times."""
        last = stage_rates[-3:] if stage_rates else [1.0]
        product = 1.0
        for r in last:
            product *= r
        self.newton_rate = min(product ** (1.0 / len(last)), 1.0)
        self.retry_below = err / self.t.retry_factor
