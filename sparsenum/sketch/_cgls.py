"""The preconditioned CGLS iteration of ``sketch_and_precondition`` and its stopping rule.

With the preconditioner ``N`` (``A N`` has singular values near 1) the iteration runs conjugate
gradients on the normal equations of ``min ||A N y - r0||`` and stops on the normal-equation
residual ``||N^T A^T r|| / ||r||``. That quantity cannot be computed below a rounding floor
(see :func:`rounding_floor`), which is where a backward-stable direct solver lands too: the
iteration accepts an exactly recomputed criterion within a small multiple of the floor.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ..base import ConvergenceHistory

_EPS = float(np.finfo(float).eps)


@dataclasses.dataclass(frozen=True)
class StoppingRule:
    """Tuning constants of the iteration, each with its reason."""

    #: the error that N's scaling puts in the criterion is usually about a twentieth of its
    #: bound eps cond(A): iterate down to there (forward errors then match LAPACK's)
    cond_share: float = 0.05
    #: within this many of the rounding bounds no step can help: accepted as converged (for
    #: the residual's own rounding at once, for the whole bound once progress stalls)
    accept: float = 2.0
    #: steps without a new best criterion before the iteration gives up on rounding noise
    stall: int = 5
    #: r and A^T r are recomputed exactly every this many fused steps where their recurrence
    #: drift (eps cond(A) per step) exceeds tol
    replace_every: int = 8


RULE = StoppingRule()

#: why the iteration stopped (``LstsqResult.stop_reason``)
STOP_REASONS = ("tolerance", "rounding_floor", "consistent", "no_progress", "max_iter",
                "callback")


def rounding_bounds(cond: float, d: int, norm_b: float, norm_r: float) -> tuple[float, float]:
    """The two rounding errors of a computed ``||N^T A^T r|| / ||r||``, relative to ``||r||``.

    ``A^T r``, once scaled by ``N`` (which multiplies by up to ``1 / sigma_min``), carries
    errors up to ``eps cond(A) ||r||``; and ``r = b - A x`` itself carries errors of order
    ``eps sqrt(d) (||b|| + ||A x||) <= eps sqrt(d) (2 ||b|| + ||r||)``, which ``(A N)^T`` (of
    norm about 1) passes on. The second dominates when the fit is good (``||r|| << ||b||``).
    """
    if norm_r <= 0.0:
        return _EPS * cond, 0.0
    return _EPS * cond, _EPS * math.sqrt(d) * (2.0 * norm_b + norm_r) / norm_r


def _criterion(norm_g: float, norm_r: float) -> float:
    return norm_g / norm_r if norm_r > 0 else 0.0


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What the iteration returns: the solution and its stop code, as scipy's ``lsqr`` does."""

    coef: np.ndarray
    residual: np.ndarray  # exact b - A coef
    n_iter: int
    converged: bool
    stop_reason: str  # one of STOP_REASONS
    history: ConvergenceHistory


class _Rows:
    """History rows kept in lists, so that the last row can describe the returned iterate."""

    def __init__(self):
        self.start = time.perf_counter()
        self.rows = []

    def add(self, iteration, objective, criterion):
        self.rows.append((iteration, time.perf_counter() - self.start, objective, criterion))

    def replace_last(self, iteration, objective, criterion):
        self.rows[-1] = (iteration, time.perf_counter() - self.start, objective, criterion)

    def history(self) -> ConvergenceHistory:
        it, elapsed, objective, criterion = (np.array(c) for c in zip(*self.rows))
        return ConvergenceHistory.from_arrays(
            it, objective, criterion, elapsed=elapsed,
            criterion_name="normal_equation_residual", objective_name="residual_norm",
            labels={"normal_equation_residual": "||(A N)^T r|| / ||r|| (preconditioned)",
                    "residual_norm": "residual norm ||A x - b||"})


@dataclasses.dataclass
class _State:
    """The iterate ``x = x0 + N y`` and what CGLS carries along with it."""

    y: np.ndarray
    r: np.ndarray  # b - A x
    At_r: np.ndarray  # A^T r
    g: np.ndarray  # N^T A^T r, the preconditioned normal-equation residual
    norm_r: float
    p: np.ndarray  # search direction
    gamma: float  # ||g||^2 of the previous step
    exact: bool = True  # whether r and A^T r were computed from x, not by recurrence


def cgls(matrix, N, x0, *, tol, max_iter, cond, progress, exponents=(0, 0)) -> Outcome:
    """Preconditioned CGLS from ``x0``; see ``sketch_and_precondition`` for the stopping rule.

    ``matrix`` may hold the caller's problem divided by ``2**ea`` (A) and ``2**eb`` (b),
    ``exponents = (ea, eb)``: the history and the progress report the caller's residual norms
    and coefficients. The returned ``coef`` and ``residual`` are those of ``matrix``.
    """
    return _CGLS(matrix, N, x0, tol=tol, cond=cond, progress=progress,
                 exponents=exponents).run(max_iter)


class _CGLS:
    def __init__(self, matrix, N, x0, *, tol, cond, progress, exponents):
        self.matrix, self.N, self.x0 = matrix, N, x0
        self.tol, self.cond, self.progress = tol, cond, progress
        self.ea, self.eb = exponents
        self.d = N.shape[0]
        self.norm_b = matrix.norm_b()
        # For a dense row-major A in memory one pass over A yields both A p and A^T A p (half
        # the memory traffic of two products), and A^T r is carried by recurrence.
        self.fused = getattr(matrix, "can_fuse", False)
        # the recurrence for A^T r drifts by about eps cond(A) ||r|| per step: where that
        # exceeds tol, r and A^T r are replaced by exact values every few steps
        self.drifts = _EPS * cond > tol
        self.rows = _Rows()

    # -- exact quantities and the stopping rule ----------------------------------------------
    def norm(self, r) -> float:
        return math.sqrt(max(self.matrix.dot(r, r), 0.0))

    def exact_at(self, x):
        """``(r, A^T r, N^T A^T r, ||r||)`` at ``x``, computed from ``x``."""
        if self.fused:
            r, At_r = self.matrix.residual_and_gram(x)
        else:
            r = self.matrix.residual(x)
            At_r = self.matrix.rmatvec(r)
        return r, At_r, self.N.T @ At_r, self.norm(r)

    def target(self, norm_r):
        """An exactly computed criterion below this is converged."""
        by_cond, by_residual = rounding_bounds(self.cond, self.d, self.norm_b, norm_r)
        return max(self.tol, RULE.cond_share * by_cond + RULE.accept * by_residual)

    def fallback(self, norm_r):
        """Once progress stalls, a criterion below this is converged too."""
        return max(self.tol, RULE.accept * sum(rounding_bounds(self.cond, self.d, self.norm_b,
                                                               norm_r)))

    def classify(self, crit, norm_r, stalled=False):
        """The convergence reason an exactly computed criterion gives, or None."""
        if norm_r <= self.tol * self.norm_b:
            return "consistent"
        if crit <= (self.fallback if stalled else self.target)(norm_r):
            return "tolerance" if crit <= self.tol else "rounding_floor"
        return None

    def reported(self, norm_r):
        """The residual norm of the caller's problem."""
        return float(np.ldexp(norm_r, self.eb)) if self.eb else norm_r

    def report(self, iteration, norm_r, crit, y) -> bool:
        """Records a history row; True when the callback asks to stop."""
        norm_r = self.reported(norm_r)
        self.rows.add(iteration, norm_r, crit)
        return self.progress.active and self.progress.update(
            iteration, {"residual_norm": norm_r, "normal_equation_residual": crit},
            details=lambda: {"coef": np.ldexp(self.x0 + self.N @ y, self.eb - self.ea)})

    # -- the iteration -----------------------------------------------------------------------
    def step(self, s: _State) -> bool:
        """One CG step on the normal equations of ``A N``; False when it cannot move."""
        matrix = self.matrix
        if self.fused:
            q, At_q = matrix.matvec_and_gram(self.N @ s.p)
        else:
            q = matrix.matvec(self.N @ s.p)
        qq = matrix.dot(q, q)
        if qq <= 0.0:
            return False
        alpha = s.gamma / qq
        s.y += alpha * s.p
        s.r = matrix.axpy(-alpha, q, s.r)
        s.norm_r = self.norm(s.r)
        if self.fused:
            s.At_r -= alpha * At_q
        else:
            s.At_r = matrix.rmatvec(s.r)
        s.g = self.N.T @ s.At_r
        return True

    def needs_exact(self, s: _State, best: float, n_iter: int) -> bool:
        """Whether to recompute r exactly now: only an exact criterion decides convergence."""
        guess = _criterion(math.sqrt(float(s.g @ s.g)), s.norm_r)
        return (guess <= self.target(s.norm_r) or s.norm_r <= self.tol * self.norm_b
                or guess >= best
                or (self.fused and self.drifts and n_iter % RULE.replace_every == 0))

    def run(self, max_iter) -> Outcome:
        r, At_r, g, norm_r = self.exact_at(self.x0)
        gamma = float(g @ g)
        s = _State(y=np.zeros(self.N.shape[1]), r=r, At_r=At_r, g=g, norm_r=norm_r,
                   p=g.copy(), gamma=gamma)
        crit = _criterion(math.sqrt(gamma), norm_r)
        stop = "callback" if self.report(0, norm_r, crit, s.y) else self.classify(crit, norm_r)
        n_iter, stalled = 0, 0
        best = (crit, s.y.copy())
        while stop is None and n_iter < max_iter:
            if not self.step(s):
                stop = "no_progress"
                break
            n_iter += 1
            s.exact = self.needs_exact(s, best[0], n_iter)
            if s.exact:
                s.r, s.At_r, s.g, s.norm_r = self.exact_at(self.x0 + self.N @ s.y)
            gamma_next = float(s.g @ s.g)
            crit = _criterion(math.sqrt(gamma_next), s.norm_r)
            if self.report(n_iter, s.norm_r, crit, s.y):
                stop = "callback"
            elif s.exact:
                stop = self.classify(crit, s.norm_r)
            if crit < best[0]:
                best, stalled = (crit, s.y.copy()), 0
            else:  # rounding noise dominates: keep the best iterate
                stalled += 1
                if stop is None and stalled >= RULE.stall:
                    stop = "no_progress"
            s.p = s.g + (gamma_next / s.gamma) * s.p
            s.gamma = gamma_next
        return self.finish(s, stop or "max_iter", crit, best, n_iter)

    def finish(self, s: _State, stop: str, crit: float, best, n_iter: int) -> Outcome:
        """The returned iterate (the best one after a stall), its exact criterion, the code."""
        if stop in ("no_progress", "max_iter") and best[0] < crit:
            s.y, s.exact = best[1], False
        if not s.exact:  # (after a callback stop or the best iterate)
            # the returned iterate's criterion, computed exactly: the last history row states it
            s.r, s.At_r, s.g, s.norm_r = self.exact_at(self.x0 + self.N @ s.y)
            crit = _criterion(math.sqrt(float(s.g @ s.g)), s.norm_r)
            self.rows.replace_last(n_iter, self.reported(s.norm_r), crit)
        gave_up = stop == "no_progress"
        if stop in ("no_progress", "max_iter"):
            stop = self.classify(crit, s.norm_r, gave_up) or stop
        converged = self.classify(crit, s.norm_r, gave_up) is not None
        return Outcome(coef=self.x0 + self.N @ s.y, residual=s.r, n_iter=n_iter,
                       converged=converged, stop_reason=stop, history=self.rows.history())
