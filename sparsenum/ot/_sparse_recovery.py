"""A feasible k-sparse plan from the (semi-)dual solution of sparsity-constrained OT.

The dual is a convex relaxation: its plan keeps the top ``k`` rows of every column by the dual
score ``z_ij = alpha_i + beta_j - c_ij`` but meets the row marginals only approximately, and the
support it picks may carry no plan with both marginals at all. Recovery has three steps:

1. **Support repair.** A maximum flow decides whether the support (``k`` candidate rows per
   column) carries a plan with marginals ``a, b``; if not, a tabu search swaps single candidates
   across the minimum cut, preferring the swaps that lose the least dual score
   (:mod:`._support_repair`), until it does. Each of its moves re-solves the maximum flow per
   trial, so a long search is slow at scale: with weights of assignment form (uniform, ``n =
   m``) a short one is tried first and then replaced by a support feasible by construction,
   an assignment of columns to rows that keeps the candidates wherever a min-cost matching can
   (:mod:`._support_seed`). For other weights a staircase plan is the last resort when the
   search fails.
2. **Polish.** The quadratically regularised problem restricted to that support,
   ``min <C,T> + gamma/2 ||T||^2`` with both marginals, is solved exactly by semismooth Newton on
   its dual with an exact line search, warm-started from potentials that reproduce the feasible
   flow, with a Levenberg-Marquardt shift proportional to the marginal error (it keeps steps
   finite while rows or columns have no active entry and vanishes at the solution).
3. **Local improvement.** Rows whose score under the restricted potentials is positive (they
   would lower the objective) are swapped in where the support stays feasible, and the new
   polished plan is kept while its objective decreases.

With ``k = 1``, equal column masses and row masses that are whole numbers of columns, the
problem is an assignment problem and is solved exactly instead (:func:`assignment_plan`).

When is a feasible plan guaranteed to exist? With ``k = max_nz``: if ``max_j b_j <= (k - 1)
min_i a_i`` the north-west-corner plan (fill the columns in any order) has at most ``k`` rows per
column. For weights in general position (no set of rows has exactly the mass of a set of
columns) every feasible support is connected, so it needs ``k m >= n + m - 1`` entries: with
``k = 1`` a plan exists only when row masses are sums of column masses (e.g. uniform weights with
``n = m``, where it is a permutation), and with ``k = 2, n = m`` the support must be a spanning
tree plus at most one edge. Finding a feasible ``k``-sparse support is a hard combinatorial
problem in general (``k = 1`` contains subset sum), so the search is a heuristic with a budget:
when it fails, the returned plan is the best maximum flow found (nonnegative, ``k``-sparse, with
row and column sums below the marginals) and the caller reports it as not converged.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ._support_repair import improving_swaps, repair, saturate
from ._support_seed import (
    assignment_backbone,
    assignment_form,
    seed_support,
    staircase_backbone,
)

_POLISH_TOL = 1e-12
#: bisection steps of the polish's exact line search before its last linear piece is solved
_BISECTIONS = 30
_TRIALS_PER_MOVE = 200
_TABU_TENURE = 20
#: moves of the first, short search before a support feasible by construction takes over
_QUICK_MOVES = 64
_ROWS_PER_COLUMN = 3


def feasible_support(a, b, C, alpha, beta, idx, val):
    """Repair the candidate support ``idx`` (shape (m, k)) into one carrying a feasible plan.

    Returns ``(slot_row, flow, deficit, moves, feasible)``: the support, a maximum flow on it (a
    plan with both marginals when ``deficit`` is ~0), the number of swaps made, and whether the
    deficit is within rounding of zero.
    """
    n, m = C.shape
    slot_row = np.ascontiguousarray(idx, dtype=np.int64).copy()
    flow = np.ascontiguousarray(val, dtype=float).copy()
    # start from the dual's plan scaled down to respect the column, then the row masses (a
    # valid partial flow; the dual formulation's columns may exceed b)
    tiny = np.finfo(float).tiny
    col_sum = flow.sum(axis=1)
    flow *= np.where(col_sum > b, b / np.maximum(col_sum, tiny), 1.0)[:, None]
    row_sum = np.bincount(slot_row.ravel(), flow.ravel(), n)
    flow *= np.where(row_sum > a, a / np.maximum(row_sum, tiny), 1.0)[slot_row]
    score = alpha[:, None] + beta[None, :] - C
    tol = 1e-15 * max(float(a.sum()), np.finfo(float).tiny)
    done = 1e-12 * max(float(a.sum()), 1.0)
    moves = 0
    deficit = saturate(a, b, slot_row, flow, tol)
    single = idx.shape[1] == 1
    patience = (n + m) // 4 + 10 if single else 2 * (n + m)
    if deficit > done and not single and assignment_form(a, b) is not None:
        # a few swaps usually suffice (the dual's support is nearly feasible); when they do
        # not, an assignment of columns to rows, feasible by construction, replaces the search
        deficit, moves = repair(a, b, score, slot_row, flow, tol, _QUICK_MOVES, patience,
                                _TRIALS_PER_MOVE, _TABU_TENURE, _ROWS_PER_COLUMN)
        if deficit > done:
            slot_row, flow = _assignment_seed(a, b, score, idx)
            deficit = saturate(a, b, slot_row, flow, tol)
    # a cheap search first; if it stalls, a wider one (more rows per column, more trials) from
    # the best support so far. Not for k = 1: a feasible support is then a partition of the
    # column masses (subset sum), which the first search finds when it is easy (permutations).
    # If both fail, the same from a staircase plan (feasible by construction when it places
    # every column, but far from the dual's support: the last resort)
    for start in () if deficit <= done else ("dual", "staircase") if not single else ("dual",):
        if start == "staircase":
            slot_row, flow = seed_support(*staircase_backbone(a, b, idx), idx)
            deficit = saturate(a, b, slot_row, flow, tol)
        for widen in () if deficit <= done else (1,) if single else (1, 3):
            deficit, made = repair(a, b, score, slot_row, flow, tol, 10 * (n + m), patience,
                                   widen * _TRIALS_PER_MOVE, _TABU_TENURE,
                                   widen * _ROWS_PER_COLUMN)
            moves += made
            if deficit <= done:
                break
        if deficit <= done:
            break
    feasible = deficit <= done
    return slot_row, flow, float(deficit), int(moves), bool(feasible)


def _assignment_seed(a, b, score, idx):
    """``(slot_row, flow)``: every column's row of :func:`assignment_backbone` carrying its
    mass, then its best other candidates (see ``_support_seed``)."""
    m = idx.shape[0]
    rows = assignment_backbone(a, b, score, idx)
    return seed_support(rows[:, None], b[:, None].copy(), np.ones(m, np.int64), idx)


def _potentials_of_flow(C, gamma, rows, cols, flow):
    """Potentials with ``alpha_i + beta_j - c_ij = gamma x_ij`` on the flow's positive entries
    (least squares): the polish then starts where its plan is the feasible flow."""
    n, m = C.shape
    pos = flow > 0
    r, q = rows[pos], cols[pos]
    e = np.arange(r.size)
    A = sp.csr_matrix((np.ones(2 * r.size), (np.r_[e, e], np.r_[r, n + q])), shape=(r.size, n + m))
    rhs = C[r, q] + gamma * flow[pos]
    normal = (A.T @ A + 1e-10 * sp.eye(n + m)).tocsc()
    sol = spla.spsolve(normal, A.T @ rhs, permc_spec="MMD_AT_PLUS_A")
    return sol[:n], sol[n:]


def polish(a, b, C, gamma, rows, cols, flow, start=None, max_iter=300):
    """Quadratically regularised OT restricted to the feasible support ``(rows, cols)``.

    Semismooth Newton on the restricted dual with an exact line search (:func:`_exact_step`),
    from the potentials of the feasible ``flow`` or from ``start = (alpha, beta)`` (the dual's,
    usually better when the repair changed little), whichever has the smaller marginal error.
    Returns ``(T, alpha, beta, converged)`` with T dense.
    """
    n, m = C.shape
    c = C[rows, cols]

    def evaluate(al, be):
        z = al[rows] + be[cols] - c
        t = np.maximum(z, 0.0) / gamma
        row = np.bincount(rows, t, n)
        col = np.bincount(cols, t, m)
        dual = al @ a + be @ b - 0.5 * gamma * (t @ t)
        return dual, t, np.concatenate([a - row, b - col])

    starts = [_potentials_of_flow(C, gamma, rows, cols, flow)]
    if start is not None:
        starts.append(start)
    alpha, beta, dual, t, grad = min(
        ((al, be, *evaluate(al, be)) for al, be in starts),
        key=lambda point: np.abs(point[4]).sum())
    converged = False
    diag_idx = np.arange(n + m - 1)
    for _ in range(max_iter):
        error = np.abs(grad).sum()
        if error <= _POLISH_TOL * max(1.0, a.sum()):
            converged = True
            break
        active = t > 0
        r_act, c_act = rows[active], cols[active]
        deg = np.r_[np.bincount(r_act, minlength=n), np.bincount(c_act, minlength=m)[: m - 1]]
        keep = c_act < m - 1  # the last column's potential is pinned (gauge)
        off_i = np.r_[r_act[keep], n + c_act[keep]]
        off_j = np.r_[n + c_act[keep], r_act[keep]]
        shift = 1e-2 * error  # Levenberg-Marquardt: finite steps for rows/columns without entries
        H = sp.csc_matrix((np.r_[np.ones(off_i.size), deg + shift],
                           (np.r_[off_i, diag_idx], np.r_[off_j, diag_idx])),
                          shape=(n + m - 1, n + m - 1))
        d = np.zeros(n + m)
        d[: n + m - 1] = gamma * spla.spsolve(H, grad[: n + m - 1], permc_spec="MMD_AT_PLUS_A")
        slope = grad @ d
        if not (np.all(np.isfinite(d)) and slope > 0):
            break
        step = _exact_step(alpha[rows] + beta[cols] - c, d[:n][rows] + d[n:][cols], gamma,
                           slope)
        new = evaluate(alpha + step * d[:n], beta + step * d[n:])
        # the exact maximiser along d raises the dual, up to its rounding near the solution
        if new[0] < dual - 1e-13 * abs(dual) and np.abs(new[2]).sum() > error:
            break
        alpha, beta = alpha + step * d[:n], beta + step * d[n:]
        dual, t, grad = new
    T = np.zeros((n, m))
    T[rows, cols] = t
    return T, alpha, beta, converged


def _exact_step(z, w, gamma, slope):
    """The step ``s > 0`` maximising the restricted dual along a direction whose slope at 0 is
    ``slope``; ``z`` holds the dual scores of the support's entries and ``w`` their change per
    unit step. The derivative ``<a, df> + <b, dg> - <w, [z + s w]_+> / gamma`` is piecewise
    linear and decreasing: its root is bracketed by doubling, narrowed by bisection and read off
    the linear piece it lies on. (Armijo backtracking from the Newton step stalls on this
    piecewise quadratic dual: full steps overshoot where entries leave the active set, halved
    ones crawl; measured at n = 2000, max_nz = 5, it stayed near 1e-2 for 100 steps.)"""
    linear = slope + (np.maximum(z, 0.0) @ w) / gamma  # the derivative of <a, f> + <b, g>

    def derivative(s):
        return linear - (np.maximum(z + s * w, 0.0) @ w) / gamma

    lo, hi = 0.0, 1.0
    while derivative(hi) > 0.0 and hi < 1e12:
        lo, hi = hi, 2.0 * hi
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if derivative(mid) > 0.0:
            lo = mid
        else:
            hi = mid
    active = z + lo * w > 0.0
    curvature = (w[active] @ w[active]) / gamma  # minus the second derivative there
    if curvature <= 0.0:
        return lo
    return min(max(lo + derivative(lo) / curvature, lo), hi)


def _objective(C, gamma, plan):
    return float(np.sum(C * plan) + 0.5 * gamma * np.sum(plan * plan))


def improve_support(a, b, C, gamma, slot_row, flow, plan, alpha, beta, converged, rounds=5):
    """Local search after polishing: swap in rows that the restricted problem's potentials
    say would lower the objective, keeping the support feasible, and keep the new polished
    plan while its objective decreases."""
    m, k = slot_row.shape
    cols = np.repeat(np.arange(m), k)
    best = (plan, alpha, beta, converged)
    best_value = _objective(C, gamma, plan)
    tol = 1e-15 * max(float(a.sum()), np.finfo(float).tiny)
    for _ in range(rounds):
        trial_rows, trial_flow = slot_row.copy(), flow.copy()
        score = best[1][:, None] + best[2][None, :] - C
        if improving_swaps(a, b, score, trial_rows, trial_flow, tol) == 0:
            break
        # the previous potentials fit all but the swapped entries: a far closer start for
        # Newton than the potentials of the flow alone
        result = polish(a, b, C, gamma, trial_rows.ravel(), cols, trial_flow.ravel(),
                        start=(best[1], best[2]))
        value = _objective(C, gamma, result[0])
        if not result[3] or value >= best_value * (1 - 1e-12):
            break
        best, best_value = result, value
        slot_row, flow = trial_rows, trial_flow
    return best


def assignment_plan(a, b, C):
    """Exact ``max_nz = 1`` plan when every column has the same mass and every row mass is a
    whole number of columns (uniform weights with ``n = m`` give a permutation): the problem is
    then an assignment of columns to copies of the rows, solved exactly by
    ``scipy.optimize.linear_sum_assignment`` (the quadratic term is the same for every plan).
    Returns None when the weights are not of that form."""
    copies = assignment_form(a, b)
    if copies is None:
        return None
    owner = np.repeat(np.arange(C.shape[0]), copies)
    slots, cols = scipy.optimize.linear_sum_assignment(C[owner].T)
    plan = np.zeros(C.shape)
    plan[owner[cols], slots] = b[slots]
    return plan
