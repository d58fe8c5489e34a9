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

import math

from ._tuning import TUNING, Tuning


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
        return go, int(min(max(t.min_checks * check_every, stretch / self.sink_step), t.max_chunk))

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
        last = stage_rates[-self.t.rate_window:] if stage_rates else [1.0]
        product = 1.0
        for r in last:
            product *= r
        self.newton_rate = min(product ** (1.0 / len(last)), 1.0)
        self.retry_below = err / self.t.retry_factor
