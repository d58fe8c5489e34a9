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

from sparsenum.base import ConvergenceHistory

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


@dataclasses.dataclass
class Outcome:
    coef: np.ndarray
    residual: np.ndarray | None  # exact b - A coef, when the iteration has it
    n_iter: int
    converged: bool
    stop_reason: str
    history: ConvergenceHistory


class _Rows:
    """History rows kept in lists, so that the last row can describe the returned iterate."""

    def __init__(self):
        self.start = time.perf_counter()
        self.rows = []

    def add(self, iteration, objective, criterion):
        self.rows.append((iteration, time.perf_counter() - self.start, objective, criterion))

    def history(self) -> ConvergenceHistory:
        it, elapsed, objective, criterion = (np.array(c) for c in zip(*self.rows))
        return ConvergenceHistory.from_arrays(
            it, objective, criterion, elapsed=elapsed,
            criterion_name="normal_equation_residual", objective_name="residual_norm",
            labels={"normal_equation_residual": "||(A N)^T r|| / ||r|| (preconditioned)",
                    "residual_norm": "residual norm ||A x - b||"})


def cgls(matrix, N, x0, *, tol, max_iter, cond, progress, exponents=(0, 0)) -> Outcome:
    """Preconditioned CGLS from ``x0``; see ``sketch_and_precondition`` for the stopping rule.

    ``matrix`` may hold the caller's problem divided by ``2**ea`` (A) and ``2**eb`` (b),
    ``exponents = (ea, eb)``: the history and the progress report the caller's residual norms
    and coefficients. The returned ``coef`` and ``residual`` are those of ``matrix``.
    """
    ea, eb = exponents
    d = N.shape[0]
    norm_b = matrix.norm_b()
    # For a dense row-major A in memory one pass over A yields both A p and A^T A p (half the
    # memory traffic of two products), and A^T r is carried by recurrence.
    fused = getattr(matrix, "can_fuse", False)

    def exact(x):
        r = matrix.residual(x)
        return r, matrix.rmatvec(r)

    rows = _Rows()
    r, At_r = matrix.residual_and_gram(x0) if fused else exact(x0)
    y = np.zeros(N.shape[1])
    g = N.T @ At_r
    p = g.copy()
    gamma = float(g @ g)
    norm_r = math.sqrt(max(matrix.dot(r, r), 0.0))

    def target(norm_r):
        """An exactly computed criterion below this is converged."""
        by_cond, by_residual = rounding_bounds(cond, d, norm_b, norm_r)
        return max(tol, RULE.cond_share * by_cond + RULE.accept * by_residual)

    def fallback(norm_r):
        """Once progress stalls, a criterion below this is converged too."""
        return max(tol, RULE.accept * sum(rounding_bounds(cond, d, norm_b, norm_r)))

    def report(iteration, norm_r, crit):
        norm_r = float(np.ldexp(norm_r, eb)) if eb else norm_r
        rows.add(iteration, norm_r, crit)
        return progress.active and progress.update(
            iteration, {"residual_norm": norm_r, "normal_equation_residual": crit},
            details=lambda: {"coef": np.ldexp(x0 + N @ y, eb - ea)})

    def classify(crit, norm_r, stalled=False):
        """The convergence reason an exactly computed criterion gives, or None."""
        if norm_r <= tol * norm_b:
            return "consistent"
        if crit <= (fallback if stalled else target)(norm_r):
            return "tolerance" if crit <= tol else "rounding_floor"
        return None

    crit = _criterion(math.sqrt(gamma), norm_r)
    stop = "callback" if report(0, norm_r, crit) else classify(crit, norm_r)
    # the recurrence for A^T r drifts by about eps cond(A) ||r|| per step: where that exceeds
    # tol, r and A^T r are replaced by exact values every few steps
    drifts = _EPS * cond > tol
    n_iter, stalled, r_is_exact = 0, 0, True
    best = (crit, y.copy())
    while stop is None and n_iter < max_iter:
        if fused:
            q, At_q = matrix.matvec_and_gram(N @ p)
        else:
            q = matrix.matvec(N @ p)
        qq = matrix.dot(q, q)
        if qq <= 0.0:
            stop = "no_progress"
            break
        alpha = gamma / qq
        y += alpha * p
        r = matrix.axpy(-alpha, q, r)
        norm_r = math.sqrt(max(matrix.dot(r, r), 0.0))
        n_iter += 1
        if fused:
            At_r -= alpha * At_q
        else:
            At_r = matrix.rmatvec(r)
        g = N.T @ At_r
        guess = _criterion(math.sqrt(float(g @ g)), norm_r)
        # only an exactly recomputed criterion decides convergence
        r_is_exact = (guess <= target(norm_r) or norm_r <= tol * norm_b
                      or guess >= best[0]
                      or (fused and drifts and n_iter % RULE.replace_every == 0))
        if r_is_exact:
            r, At_r = matrix.residual_and_gram(x0 + N @ y) if fused else exact(x0 + N @ y)
            g = N.T @ At_r
            norm_r = math.sqrt(max(matrix.dot(r, r), 0.0))
        gamma_next = float(g @ g)
        crit = _criterion(math.sqrt(gamma_next), norm_r)
        if report(n_iter, norm_r, crit):
            stop = "callback"
        elif r_is_exact:
            stop = classify(crit, norm_r)
        if crit < best[0]:
            best, stalled = (crit, y.copy()), 0
        else:  # rounding noise dominates: keep the best iterate
            stalled += 1
            if stop is None and stalled >= RULE.stall:
                stop = "no_progress"
        p = g + (gamma_next / gamma) * p
        gamma = gamma_next
    stop = stop or "max_iter"
    if stop in ("no_progress", "max_iter") and best[0] < crit:
        y, r_is_exact = best[1], False  # return the best iterate
    if not r_is_exact:  # (after a callback stop or the best iterate)
        # the returned iterate's criterion, computed exactly: the last history row states it
        r, At_r = matrix.residual_and_gram(x0 + N @ y) if fused else exact(x0 + N @ y)
        g = N.T @ At_r
        norm_r = math.sqrt(max(matrix.dot(r, r), 0.0))
        crit = _criterion(math.sqrt(float(g @ g)), norm_r)
        reported = float(np.ldexp(norm_r, eb)) if eb else norm_r
        rows.rows[-1] = (n_iter, time.perf_counter() - rows.start, reported, crit)
    gave_up = stop == "no_progress"
    if stop in ("no_progress", "max_iter"):
        stop = classify(crit, norm_r, gave_up) or stop
    converged = classify(crit, norm_r, gave_up) is not None
    return Outcome(coef=x0 + N @ y, residual=r, n_iter=n_iter, converged=converged,
                   stop_reason=stop, history=rows.history())
