"""Choice of the penalties on a validation split: ``reg="auto"`` and ``bias_reg="auto"``.

Real ratings are not exactly low rank, and a fixed small penalty overfits: the held-out error
of ALS-WR on lecture evaluations goes from 1.22 at ``lambda = 0.3`` to 1.35 at 0.1. The
penalties are therefore chosen by default on a split of the observations that the final fit
never sees during the choice:

1. the bias penalty, with a bias-only model (cheap: one unknown per row), over a grid of
   shrinkage strengths ``n / (n + bias_reg)``;
2. the factor penalty along a decreasing path ``lambda_1 > lambda_2 > ...`` in units of the
   values' spread, each fit warm-started from the previous one, stopped once the held-out
   error has risen for ``patience`` candidates in a row;
3. the final fit on all observations, warm-started from the best candidate.

The split is a hash of each ``(row, col)`` pair and the seed, so a distributed matrix splits
block by block exactly as it does in memory.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["PenaltySearch", "select_penalties"]


@dataclasses.dataclass(frozen=True)
class PenaltySearch:
    """Tuning constants of the penalty search, each with its reason."""

    #: share of the observations held out: enough entries to rank candidates, while the
    #: fits on the rest still see most of every row
    heldout_fraction: float = 0.1
    #: bias penalties tried (rows, then columns), in observations: a bias seen n times is
    #: shrunk by about n / (n + b)
    bias_grid: tuple = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
    #: factor penalties tried, in units of the RMS of the centred values, largest first
    #: (ratios ~1.25: held-out errors of ratings change within 10% of lambda)
    reg_grid: tuple = (2.0, 1.6, 1.28, 1.0, 0.8, 0.64, 0.5, 0.4, 0.32, 0.25, 0.2, 0.16, 0.12,
                       0.09, 0.06, 0.04, 0.02, 0.005)
    #: sweeps per candidate: warm starts along the path make a few sweeps enough to rank them
    sweeps_per_candidate: int = 15
    #: stopping tolerance of the candidates' fits (at least the caller's ``tol``): ranking
    #: penalties needs their held-out errors to three or four digits, not the converged
    #: factors; but the best candidate is the final fit's start, and from a looser one
    #: (1e-3) slow, weakly penalised fits need more than the default 30 sweeps to reach 1e-6
    candidate_tol: float = 3e-4
    #: sweeps of a bias-only fit (it converges in a handful)
    bias_sweeps: int = 10
    #: candidates in a row whose held-out error rose before the path stops (one is not
    #: enough: just below the largest useful penalty the factors grow slowly and the
    #: held-out error wanders on a plateau before it drops)
    patience: int = 2
    #: factors this much smaller than at the start are collapsing to the zero fixed point
    collapse: float = 1e-2
    #: a smaller penalty must lower the held-out error by this share to be preferred (ties
    #: go to the larger penalty, the simpler model)
    min_gain: float = 1e-4
    #: penalties used when the split leaves nothing to validate on (tiny inputs)
    default_reg: float = 0.35
    default_bias_reg: float = 10.0


SEARCH = PenaltySearch()


def select_penalties(data, rank, *, reg, bias_reg, biases, solver, tol, init, seeds, n_jobs,
                     verbose=0, search: PenaltySearch = SEARCH):
    """``(reg, bias_reg, table, start)``: the chosen penalties, the candidates tried
    (``reg, bias_reg, validation RMSE`` rows) and the best fit's factors to start from."""
    from .altmin import Start, initial_factors, sweeps

    train, heldout = data.split(search.heldout_fraction, int(seeds[0]))
    mu = train.values_sum() / train.nnz if (biases and train.nnz) else 0.0
    scale = train.rms(mu) if train.nnz else 0.0
    if heldout.size == 0 or train.nnz == 0 or scale == 0.0:
        chosen_reg = search.default_reg * (data.rms(mu) or 1.0) if reg == "auto" else reg
        chosen_bias = (search.default_bias_reg,) * 2 if bias_reg == "auto" else bias_reg
        return chosen_reg, (chosen_bias if biases else (0.0, 0.0)), np.empty((0, 4)), None
    common = {"mu": mu, "biases": biases, "tol": max(tol, search.candidate_tol),
              "seed": int(seeds[2]), "n_jobs": n_jobs, "solver": solver}
    table = []
    chosen_bias = bias_reg if biases else (0.0, 0.0)
    if biases and bias_reg == "auto":
        chosen_bias = _search_biases(train, heldout, common, search, table)
        if verbose >= 1:
            print(f"[altmin] bias_reg=({chosen_bias[0]:g}, {chosen_bias[1]:g}) "
                  f"(validation RMSE {min(r[3] for r in table):.5f})")
    if reg != "auto":
        return reg, chosen_bias, np.array(table).reshape(-1, 4), None
    first = initial_factors(train, rank, mu, init, seeds[1])
    first_size = _frobenius(first.V)
    start = first
    best, best_start, chosen_reg, rises = np.inf, None, None, 0
    for g in search.reg_grid:
        lam = g * scale
        def collapsing(sweep, now):
            # factors shrinking to zero: the penalty is above the largest singular value
            return sweep >= 2 and _frobenius(now["col_factors"]) <= \
                search.collapse * first_size

        state = sweeps(train, start, reg=lam, bias_reg=chosen_bias, callback=collapsing,
                       n_sweeps=search.sweeps_per_candidate, label="reg search", **common)
        start = Start(state.U, state.V, state.a, state.c)
        collapsed = _frobenius(state.V) <= search.collapse * first_size
        if collapsed:
            # a penalty above the largest singular value drives the factors to zero, a fixed
            # point of the sweeps: the next (smaller) penalty starts afresh, and a flat
            # held-out error here says nothing about the penalties below
            start = Start(first.U, first.V, state.a, state.c)
        err = heldout.rmse(state.U, state.V, state.a, state.c, mu)
        table.append((lam, *chosen_bias, err))
        if verbose >= 2:
            print(f"[altmin] reg={lam:.4g}: validation RMSE {err:.5f}")
        if err < best * (1.0 - search.min_gain):
            best, best_start, chosen_reg, rises = err, start, lam, 0
        elif not collapsed:
            rises += 1
            if rises >= search.patience:
                break
    if verbose >= 1:
        print(f"[altmin] reg={chosen_reg:.4g} (validation RMSE {best:.5f})")
    return chosen_reg, chosen_bias, np.array(table).reshape(-1, 4), best_start


def _frobenius(A) -> float:
    # einsum, not np.linalg.norm: a BLAS dot over more than ~10^4 entries wakes BLAS threads,
    # whose spinning on a busy machine costs more than the whole sweep it checks
    return math.sqrt(float(np.einsum("ij,ij->", A, A)))


def _search_biases(train, heldout, common, search, table):
    """Row then column bias penalty of a bias-only model, each over ``search.bias_grid``."""
    from .altmin import Start, sweeps

    m, n = train.shape
    start = Start(np.zeros((m, 0)), np.zeros((n, 0)), np.zeros(m), np.zeros(n))
    chosen = [search.default_bias_reg, search.default_bias_reg]
    for side in (0, 1):
        best = np.inf
        for b in search.bias_grid:
            pair = (b, chosen[1]) if side == 0 else (chosen[0], b)
            state = sweeps(train, start, reg=0.0, bias_reg=pair, n_sweeps=search.bias_sweeps,
                           label="bias search", **common)
            start = Start(state.U, state.V, state.a, state.c)  # warm start the next
            err = heldout.rmse(state.U, state.V, state.a, state.c, common["mu"])
            table.append((np.nan, *pair, err))
            if err < best:
                best, chosen[side] = err, b
    return tuple(chosen)
