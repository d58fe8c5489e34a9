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
    mode : {"auto", "always", "never"}
        The user's ``newton``: ``"always"`` enters Newton at the first decision and then decides
        as ``"auto"``; ``"never"`` stays with scaling.
    n_levels : int
        Epsilon-scaling levels that the first decision prices (:meth:`ladder_pays`).
    """

    def __init__(self, shape, numpy_exp: bool, mode: str = "auto", n_levels: int = 0,
                 tuning: Tuning = TUNING) -> None:
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
        self.mode = mode
        self.n_levels = n_levels
        self.stage_rates = []  # error ratio per step of the current Newton stage
        self.slow = 0  # steps in a row of the current stage slower than scaling would be

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

    def ladder_pays(self, err: float, tol: float) -> bool:
        """Whether the epsilon-scaling levels (a few plan evaluations each) pay; asked at the
        first decision only (later, always False)."""
        n_levels, self.n_levels = self.n_levels, 0
        return n_levels > 0 and self.scaling_remaining(err, tol) > (
            self.t.ladder_pays * n_levels * self.exp_pass)

    def enter_newton(self, err: float, tol: float, mass_fraction,
                     check_every: int) -> tuple[bool, int]:
        """After a scaling stretch: ``(go_newton, next_stretch_iterations)``.

        ``mass_fraction(share)`` estimates the share of entries holding ``share`` of the plan's
        mass (called once, for the first guess of a Newton step's cost).
        """
        t, mode = self.t, self.mode
        remaining = self.scaling_remaining(err, tol)
        if self.newton_step is None:
            self.newton_step = t.newton_passes * self.exp_pass * max(
                1.0, t.dense_cost * mass_fraction(t.dense_share))
        steps = (t.newton_steps_guess if self.newton_rate is None else
                 predicted_steps(err, tol, self.newton_rate))
        stage = self.newton_step * steps
        retry = err <= self.retry_below
        go = mode == "always" or (mode == "auto" and remaining > stage) or (
            mode == "auto" and retry and remaining > t.retry_steps * self.newton_step)
        if go or retry:
            self.retry_below = 0.0  # else it stays: the scaling stretch stops there
        if go:
            self.stage_rates, self.slow = [], 0
        stretch = min(stage, max(t.stretch_share * self.work, t.min_stretch * self.sink_step))
        return go, int(min(max(t.min_checks * check_every, stretch / self.sink_step),
                           t.max_chunk))

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

    def leave_newton(self, err: float, err_new: float, tol: float, ok: bool) -> bool:
        """After a Newton step from violation ``err`` to ``err_new`` (``ok``: a step was
        accepted): whether the stage hands back to scaling."""
        rate = err_new / err if err > 0 else 0.0
        if not ok:
            self.stage_rates.append(1.0)
            return True
        self.stage_rates.append(rate)
        if len(self.first_steps) < 2 and self._guessed_too_low(err_new, tol):
            # the stage began on a guessed step cost, which misses when the plan is dense
            # (large reg: the error bound keeps a third of the plan and sorting it costs many
            # plan evaluations): scaling takes over again
            return True
        # Newton progressing slower than scaling would, leave_after steps in a row
        self.slow = self.slow + 1 if self.newton_slow(err_new, tol, rate) else 0
        return self.slow >= self.t.leave_after

    def _guessed_too_low(self, err: float, tol: float) -> bool:
        """True when the first two counted steps show the stage began on a guess that was too
        low (dense plans at large reg) and scaling should take over again."""
        self.first_steps.append(self.newton_step)
        return (len(self.first_steps) == 2 and self.mode == "auto"
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

    def newton_left(self, err: float) -> None:
        """A Newton stage ended without converging: its last rates predict the next one
        (pessimistically: Newton speeds up as the error falls), scaling retries Newton once it
        has cut the error ``retry_factor`` times, and ``"always"`` now decides as ``"auto"``."""
        last = self.stage_rates[-self.t.rate_window:] if self.stage_rates else [1.0]
        product = 1.0
        for r in last:
            product *= r
        self.newton_rate = min(product ** (1.0 / len(last)), 1.0)
        self.retry_below = err / self.t.retry_factor
        if self.mode == "always":
            self.mode = "auto"
