"""Choice of the penalties on a validation split: ``reg="auto"`` and ``bias_reg="auto"``.

Real ratings are not exactly low rank, and a fixed small penalty overfits: the held-out error
of ALS-WR on lecture evaluations goes from 1.22 at ``lambda = 0.3`` to 1.35 at 0.1. The
penalties are therefore chosen by default on a split of the observations that the final fit
never sees during the choice:

1. the bias penalty, with a bias-only model (cheap: one unknown per row), over a grid of
   shrinkage strengths ``n / (n + bias_reg)``;
2. the factor penalty along a decreasing path ``lambda_1 > lambda_2 > ...`` below the largest
   penalty that keeps the factors nonzero (:func:`factor_penalty_bound`), each fit
   warm-started from the previous one, stopped once the held-out error has risen for
   ``patience`` candidates in a row;
3. the final fit on all observations, warm-started from the best candidate.

The split is a hash of each ``(row, col)`` pair and the seed, so a distributed matrix splits
block by block exactly as it does in memory.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["PenaltySearch", "factor_penalty_bound", "select_penalties"]


@dataclasses.dataclass(frozen=True)
class PenaltySearch:
    """Tuning constants of the penalty search, each with its reason."""

    #: share of the observations held out: enough entries to rank candidates, while the
    #: fits on the rest still see most of every row
    heldout_fraction: float = 0.1
    #: bias penalties tried (rows, then columns), in observations: a bias seen n times is
    #: shrunk by about n / (n + b)
    bias_grid: tuple = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
    #: factor penalties tried, as shares of the largest one that keeps the factors nonzero
    #: (:func:`factor_penalty_bound`), largest first, down to 0.005 of the bound, in ratios of
    #: 1/0.9. Sweeps at ``lambda`` settle slowly when singular values of the scaled residual
    #: lie within a few percent of it (a direction barely surviving or barely dying changes by
    #: ``(sigma / lambda)^2`` per sweep near zero); just below the bound the top direction
    #: barely survives, and further down the singular values crowd (InstEval: 3-5 within 5% of
    #: 0.9 of the bound, 9-11 within 5% of 0.8; the final fit took 18-22 sweeps from the first,
    #: 30 from the second, 25-30 from 0.95)
    reg_grid: tuple = tuple(0.9 ** j for j in range(1, 51))
    #: Golub-Kahan steps of the bound's top singular value: a fixed count (no tolerance), so
    #: a distributed matrix gets the in-memory value up to rounding; the estimate converges
    #: fast from below, and the penalty path needs it to a few digits only
    bound_steps: int = 20
    #: sweeps per candidate: warm starts along the path make a few sweeps enough to rank them
    sweeps_per_candidate: int = 15
    #: stopping tolerance of the candidates' fits (at least the caller's ``tol``): ranking
    #: penalties needs their held-out errors to three or four digits, not the converged
    #: factors; but the best candidate is the final fit's start, and from a looser one
    #: (1e-3) slow, weakly penalised fits need more than the default 30 sweeps to reach 1e-6
    candidate_tol: float = 3e-4
    #: sweeps of a bias-only fit (it converges in a handful)
    bias_sweeps: int = 10
    #: candidates in a row whose held-out error did not improve before the path stops. The
    #: path starts below the bound, where the factors are nonzero (above it, where they died
    #: out too slowly for the fits to show it, the held-out error wandered on a plateau), but
    #: the error can rise for a candidate or two where one more direction enters and then fall
    #: below its previous minimum (two candidates, 20% of the penalty, on a noisy rank-8
    #: matrix): three in a row, a span of 1.37 in the penalty, end the path
    patience: int = 3
    #: a candidate whose held-out error exceeds the best one's, after ``abandon_after``
    #: sweeps, by more than ``min_gain`` and by more than ``abandon_z`` standard errors of the
    #: paired difference (entry by entry on the same held-out entries) is stopped there, and
    #: counts as a candidate that did not improve: warm-started from a better fit, it has
    #: already moved away from it by more than the held-out set can call noise. The standard
    #: error, not a fixed share, sets the bar, so a small held-out set stops fewer candidates
    #: and a large one more (InstEval: neighbouring candidates differ by about one standard
    #: error, and the one stopped after 3 sweeps ended, 7 sweeps later, 1.1 above the best)
    abandon_z: float = 1.0
    abandon_after: int = 3
    #: factors this much smaller than at the start are collapsing to the zero fixed point
    collapse: float = 1e-2
    #: a smaller penalty must lower the held-out error by this share to be preferred (ties
    #: go to the larger penalty, the simpler model)
    min_gain: float = 1e-4
    #: sweeps per implicit-penalty candidate: each starts from the previous one (the first
    #: from the chosen plain fit), and the joint row step settles the held-out error within a
    #: handful of sweeps (InstEval: 3, 5 and 8 sweeps chose the same penalty)
    implicit_sweeps: int = 5
    #: penalties used when the split leaves nothing to validate on (tiny inputs)
    default_reg: float = 0.35
    default_bias_reg: float = 10.0


SEARCH = PenaltySearch()


def select_penalties(data, rank, *, reg, bias_reg, biases, solver, tol, init, seeds, n_jobs,
                     implicit=None, verbose=0, search: PenaltySearch = SEARCH):
    """``(reg, bias_reg, implicit_reg, table, start)``: the chosen penalties (``implicit_reg``
    None: no implicit prior), the candidates tried (``reg, bias_reg (two), implicit_reg,
    validation RMSE`` rows) and the best fit's factors to start from."""
    from .altmin import Start, initial_factors, sweeps

    train, heldout = data.split(search.heldout_fraction, int(seeds[0]))
    mu = train.values_sum() / train.nnz if (biases and train.nnz) else 0.0
    scale = train.rms(mu) if train.nnz else 0.0
    if heldout.size == 0 or train.nnz == 0 or scale == 0.0:
        chosen_reg = search.default_reg * (data.rms(mu) or 1.0) if reg == "auto" else reg
        chosen_bias = (search.default_bias_reg,) * 2 if bias_reg == "auto" else bias_reg
        return (chosen_reg, (chosen_bias if biases else (0.0, 0.0)),
                None if implicit == "auto" else implicit, np.empty((0, 5)), None)
    common = {"mu": mu, "biases": biases, "tol": max(tol, search.candidate_tol),
              "seed": int(seeds[2]), "n_jobs": n_jobs, "solver": solver}
    table = []
    chosen_bias = bias_reg if biases else (0.0, 0.0)
    if biases and bias_reg == "auto":
        chosen_bias = _search_biases(train, heldout, common, search, table)
        if verbose >= 1:
            print(f"[altmin] bias_reg=({chosen_bias[0]:g}, {chosen_bias[1]:g}) "
                  f"(validation RMSE {min(r[4] for r in table):.5f})")
    if reg != "auto" and implicit != "auto":
        return reg, chosen_bias, implicit, _table(table), None
    m, n = train.shape
    biased = _bias_only(train, chosen_bias, common, search) if biases else \
        Start(None, None, np.zeros(m), np.zeros(n))
    bound = factor_penalty_bound(train, mu, biased.a, biased.c, seed=int(seeds[1]),
                                 steps=search.bound_steps)
    if verbose >= 1:
        print(f"[altmin] factors vanish for reg > {bound:.4g}")
    top = bound if bound > 0 else scale  # no residual at all: any penalty collapses them
    first = initial_factors(train, rank, mu, init, seeds[1])
    first = Start(first.U, first.V, biased.a, biased.c)
    first_size = _frobenius(first.V)
    start = first
    best, best_start, best_fit, chosen_reg, rises = np.inf, None, None, None, 0
    grid = search.reg_grid if reg == "auto" else (reg / top,)
    for g in grid:
        lam = g * top
        def monitor(sweep, now, best=best, best_fit=best_fit):
            if sweep >= 2 and _frobenius(now["col_factors"]) <= search.collapse * first_size:
                return True  # factors shrinking to zero: the penalty is above the bound
            if sweep < search.abandon_after or best_fit is None:
                return False
            fit = (now["row_factors"], now["col_factors"], now["row_bias"], now["col_bias"])
            if heldout.rmse(*fit, mu) <= best * (1.0 + search.min_gain):
                return False
            return _paired_z(heldout.difference_sums(fit, best_fit, mu)) > search.abandon_z

        state = sweeps(train, start, reg=lam, bias_reg=chosen_bias, callback=monitor,
                       n_sweeps=search.sweeps_per_candidate, label="reg search", **common)
        start = Start(state.U, state.V, state.a, state.c)
        collapsed = _frobenius(state.V) <= search.collapse * first_size
        if collapsed:
            # a penalty above the largest singular value drives the factors to zero, a fixed
            # point of the sweeps: the next (smaller) penalty starts afresh, and a flat
            # held-out error here says nothing about the penalties below
            start = Start(first.U, first.V, state.a, state.c)
        err = heldout.rmse(state.U, state.V, state.a, state.c, mu)
        table.append((lam, *chosen_bias, np.nan, err))
        if verbose >= 2:
            print(f"[altmin] reg={lam:.4g}: validation RMSE {err:.5f}")
        if err < best * (1.0 - search.min_gain):
            best, best_start, chosen_reg, rises = err, start, lam, 0
            best_fit = (state.U, state.V, state.a, state.c)
        elif not collapsed:
            rises += 1
            if rises >= search.patience:
                break
    if chosen_reg is None:  # the fixed penalty's fit is all there is
        best, best_start, chosen_reg = err, start, lam
    if verbose >= 1 and reg == "auto":
        print(f"[altmin] reg={chosen_reg:.4g} (validation RMSE {best:.5f})")
    chosen_implicit = implicit
    if implicit == "auto":
        chosen_implicit, best_start = _search_implicit(
            train, heldout, best_start, best, chosen_reg, chosen_bias, rank, common, search,
            table, verbose)
    return chosen_reg, chosen_bias, chosen_implicit, _table(table), best_start


def _table(rows):
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def _search_implicit(train, heldout, start, plain_error, reg, bias_reg, rank, common, search,
                     table, verbose):
    """``(implicit_reg or None, start)``: the implicit penalty of the best held-out error
    along ``IMPLICIT.ratio_grid`` (weakest prior first), warm-started from the plain fit,
    if it beats the plain fit's error by ``min_gain``; stops at the first candidate that does
    not improve on the best after one that did."""
    from .altmin import Start, sweeps
    from .implicit import IMPLICIT

    if rank == 0 or reg == 0 or start is None:
        return None, start
    mean_count = train.nnz / max(1, int(np.count_nonzero(train.col_counts)))
    best, chosen, best_start, improved = plain_error, None, start, False
    mu = common["mu"]
    for ratio in IMPLICIT.ratio_grid:
        lam = ratio * reg * mean_count
        state = sweeps(train, start, reg=reg, bias_reg=bias_reg, implicit_reg=lam,
                       n_sweeps=search.implicit_sweeps, label="implicit search", **common)
        start = Start(state.U, state.V, state.a, state.c, state.Y)
        err = heldout.rmse(state.U, state.V, state.a, state.c, mu)
        table.append((reg, *bias_reg, lam, err))
        if verbose >= 2:
            print(f"[altmin] implicit_reg={lam:.4g}: validation RMSE {err:.5f}")
        if err < best * (1.0 - search.min_gain):
            best, chosen, best_start, improved = err, lam, start, True
        elif improved:
            break
    if verbose >= 1:
        print("[altmin] implicit prior off" if chosen is None else
              f"[altmin] implicit_reg={chosen:.4g} (validation RMSE {best:.5f})")
    return chosen, best_start


def factor_penalty_bound(data, mu, row_bias, col_bias, *, seed=0, steps=30) -> float:
    """The factor penalty above which the factors of the fit vanish.

    At ``U = V = 0`` with the biases of the bias-only fit (their residual ``R = P_Omega(M -
    mu - a 1^T - 1 c^T)``), the objective of :mod:`.altmin` grows, to second order in the
    factors, by ``sum_r [lambda x_r^T D_r x_r + lambda y_r^T D_c y_r - 2 x_r^T R y_r]`` over
    the factor columns ``x_r, y_r`` (the loss's own second-order term and the biases'
    response are of higher order), with ``D_r, D_c`` the diagonal row and column counts of the
    ALS-WR penalty. With ``x = D_r^{-1/2} p`` and ``y = D_c^{-1/2} q`` each bracket is ``lambda
    (|p|^2 + |q|^2) - 2 p^T S q`` for ``S = D_r^{-1/2} R D_c^{-1/2}``: positive definite exactly
    when ``lambda > sigma_1(S)``. So zero factors are a stable fixed point of the sweeps above
    ``sigma_1(S)``, and below it they grow (near zero, a sweep multiplies the top singular
    direction by ``(sigma_1 / lambda)^2``). With the biases held fixed, zero factors are even
    the global minimum above the bound: the fourth-order term ``sum (u_i . v_j)^2`` is
    nonnegative.

    ``sigma_1(S)`` is estimated by ``steps`` Golub-Kahan bidiagonalisation steps with full
    reorthogonalisation from a seeded start (a lower bound, exact to rounding once the steps
    exhaust the spectrum). Rows and columns without observations do not enter.
    """
    m, n = data.shape
    row_scale = 1.0 / np.sqrt(np.maximum(data.row_counts, 1).astype(np.float64))
    col_scale = 1.0 / np.sqrt(np.maximum(data.col_counts, 1).astype(np.float64))
    S = data.scaled_residual(float(mu), row_bias, col_bias, row_scale, col_scale)
    steps = int(min(steps, np.count_nonzero(data.row_counts),
                    np.count_nonzero(data.col_counts)))
    if steps == 0:
        return 0.0
    P, Q = np.zeros((m, steps)), np.zeros((n, steps))
    alphas, betas = [], []
    q = np.random.default_rng(seed).standard_normal(n) * (data.col_counts > 0)
    q /= _norm(q)
    p_prev, beta = np.zeros(m), 0.0
    for j in range(steps):
        Q[:, j] = q
        p = S.matmat(q[:, None])[:, 0] - beta * p_prev
        p -= P[:, :j] @ np.einsum("ij,i->j", P[:, :j], p)
        alpha = _norm(p)
        if alpha == 0.0:
            break
        p /= alpha
        P[:, j] = p
        alphas.append(alpha)
        w = S.rmatmat(p[:, None])[:, 0] - alpha * q
        w -= Q[:, :j + 1] @ np.einsum("ij,i->j", Q[:, :j + 1], w)
        beta = _norm(w)
        if beta <= 1e-12 * alphas[0]:  # an invariant subspace: the spectrum is exhausted
            break
        betas.append(beta)
        q, p_prev = w / beta, p
    if not alphas:
        return 0.0
    size = len(alphas)
    B = np.diag(alphas) + np.diag(betas[:size - 1], 1)
    return float(np.linalg.svd(B, compute_uv=False)[0])


def _paired_z(sums) -> float:
    """Mean over its standard error of a paired difference given ``(sum, sum of squares,
    count)``; infinite for a positive difference with no spread, 0 without data."""
    total, squares, count = sums
    if count < 2:
        return 0.0
    mean = total / count
    variance = max(squares - total * mean, 0.0) / (count - 1)
    if variance == 0.0:
        return math.copysign(math.inf, mean) if mean != 0.0 else 0.0
    return mean / math.sqrt(variance / count)


def _norm(x) -> float:
    return math.sqrt(float(np.einsum("i,i->", x, x)))


def _bias_only(train, bias_reg, common, search):
    """The bias-only fit (factors of rank 0) with the chosen bias penalties."""
    m, n = train.shape
    return _fit_biases(train, np.zeros(m), np.zeros(n), bias_reg, common, search.bias_sweeps)


def _frobenius(A) -> float:
    # einsum, not np.linalg.norm: a BLAS dot over more than ~10^4 entries wakes BLAS threads,
    # whose spinning on a busy machine costs more than the whole sweep it checks
    return math.sqrt(float(np.einsum("ij,ij->", A, A)))


def _search_biases(train, heldout, common, search, table):
    """Row then column bias penalty of a bias-only model, each over ``search.bias_grid``."""
    m, n = train.shape
    a, c = np.zeros(m), np.zeros(n)
    chosen = [search.default_bias_reg, search.default_bias_reg]
    for side in (0, 1):
        best = np.inf
        for b in search.bias_grid:
            pair = (b, chosen[1]) if side == 0 else (chosen[0], b)
            state = _fit_biases(train, a, c, pair, common, search.bias_sweeps)
            a, c = state.a, state.c  # warm start the next
            err = heldout.rmse(state.U, state.V, a, c, common["mu"])
            table.append((np.nan, *pair, np.nan, err))
            if err < best:
                best, chosen[side] = err, b
    return tuple(chosen)


def _fit_biases(data, a, c, bias_reg, common, max_sweeps):
    """Bias-only sweeps (rank 0) from ``a, c``: every row's bias, then every column's, until
    the relative change of the fitted values is ``common["tol"]``. The factor sweeps of
    :mod:`.altmin` solve the same problems, but their machinery (solver choice, history,
    rebalancing, line search) costs more than these one-unknown solves themselves."""
    from .altmin import Start

    m, n = data.shape
    U, V = np.zeros((m, 0)), np.zeros((n, 0))
    a, c = a.copy(), c.copy()
    mu, n_jobs = common["mu"], common["n_jobs"]
    data.start(U, V, a, c, mu, n_jobs)
    for _ in range(max_sweeps):
        data.bias_step("rows", c, a, mu, float(bias_reg[0]))
        data.bias_step("cols", a, c, mu, float(bias_reg[1]))
        (_, sq_change, sq_fit), fitted = data.evaluate(U, V, a, c, mu, n_jobs)
        data.commit(fitted)
        if sq_change <= common["tol"] ** 2 * sq_fit:
            break
    return Start(U, V, a, c)
