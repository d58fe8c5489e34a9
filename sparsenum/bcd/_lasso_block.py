"""Inner machinery of :func:`~sparsenum.bcd.solve_lasso` (private): coordinate descent on a
working set with Newton steps on the identified support, and the bookkeeping of gap safe
screening.

Gaps here are of the unscaled objective ``1/2 ||r||^2 + lam ||w||_1`` (``lam = n alpha``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from threadpoolctl import ThreadpoolController

from ._lasso_design import NONE
from ._lasso_kernels import AndersonWork, CSCDesign, lasso_ws_dense, lasso_ws_sparse

__all__ = ["TUNING", "NewtonTracker", "Tuning", "newton_on_support", "record_screening",
           "residual_gap", "screened_below", "solve_block"]


@dataclasses.dataclass(frozen=True)
class Tuning:
    """Constants of the working-set solver, each with its reason."""

    #: Anderson extrapolation of the inner iterates every ``anderson`` epochs (skglm uses 5
    #: too); 0 disables it
    anderson: int = 5
    #: sparse kernel: one epoch in ``full_every`` visits every working-set coordinate, the others
    #: only the nonzeros; equal to the Anderson period, so every extrapolation window sees the
    #: same sequence
    full_every: int = 5
    #: epochs per kernel call: the block's gap is checked (and Newton considered) after each
    check_every: int = 10
    #: grow the working set to twice its size while an outer iteration gains less than 4x on
    #: the gap (features outside it hold the violation)
    grow: bool = True
    #: a chunk of epochs that lowers the objective by less than this fraction made no progress
    #: (rounding): the block solve ends
    stall_rtol: float = 4.0 * np.finfo(np.float64).eps
    #: outer iterations without a new smallest gap: the gap sits at rounding level, the solve
    #: ends (with ``tol=0`` it then counts as converged)
    stall_outer: int = 5


TUNING = Tuning()


@dataclasses.dataclass
class NewtonTracker:
    """What the working-set solver remembers across outer iterations about Newton steps: the
    support and signs (``face``) and the block gap at the end of the last chunk, and the faces
    on which a Newton step was already tried (each is tried once)."""

    face: tuple[bytes, bytes] | None = None
    gap: float = np.inf
    tried: set = dataclasses.field(default_factory=set)

_CONTROLLER = []


def _blas_controller():
    """One ThreadpoolController per process (building it scans the loaded libraries)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


def residual_gap(r, y, corr_max, w_l1, lam):
    """``(primal, dual, gap)`` of ``1/2 ||r||^2 + lam ||w||_1`` at residual ``r``, with the dual
    point ``r`` rescaled into feasibility (``corr_max`` is the dual-feasibility maximum of
    ``X'r``; ``w_l1 = ||w||_1``)."""
    primal = 0.5 * float(r @ r) + lam * w_l1
    scale = 1.0 if corr_max <= lam else lam / corr_max
    nu = scale * r
    dual = float(nu @ y) - 0.5 * float(nu @ nu)
    return primal, dual, primal - dual


def _rr(design, r, rs, state):
    """``||r||^2`` of the true residual: ``r`` for a dense design, ``rs + state[0]`` (the
    sparse kernel's offset form) for a sparse one, without forming the sum."""
    if not design.sparse:
        return float(r @ r)
    offset = state[0]
    return float(rs @ rs) + offset * (2.0 * float(rs.sum()) + offset * rs.shape[0])


def newton_on_support(design, y, w, support, lam, positive):
    """Newton step on the support's sign pattern (the face's exact minimiser) as far as it keeps
    the signs: the full step if no sign flips, else up to the first coefficient reaching zero.

    The objective restricted to the face is a convex quadratic minimised by the full step, so
    every point of the segment improves on ``w``. Returns ``(w_support, full)`` or None.
    """
    if support.size > design.X.shape[0] - design.centred:
        return None  # more coefficients than (centred) samples: the face has no unique minimiser
    signs = np.sign(w[support])
    # one BLAS thread: these systems are small, and threaded BLAS on a busy machine can spin
    # for longer than the whole factorisation takes
    with _blas_controller().limit(limits=1, user_api="blas"):
        G = design.gram(support)
        rhs = design.rmatvec(y, support) - lam * signs
        try:
            w_s = np.linalg.solve(G, rhs)
        except np.linalg.LinAlgError:
            return None
    if not np.all(np.isfinite(w_s)):
        return None
    flipped = np.sign(w_s) != signs
    if not flipped.any():
        return w_s, True
    old = w[support]
    # first crossing of zero along old + t (w_s - old), t in (0, 1)
    t = np.min(old[flipped] / (old[flipped] - w_s[flipped]))
    step = old + t * (w_s - old)
    step[flipped & (np.abs(old / (old - w_s + 1e-300) - t) <= 1e-12)] = 0.0
    step[np.sign(step) != signs] = 0.0
    return step, False


def record_screening(design, yc, w, r, dropped, cmax, nmax, nonzero, positive, screened):
    """Bookkeeping of features just dropped by gap safe screening (Fercoq, Gramfort & Salmon,
    ICML 2015; the test itself runs in :func:`gap_screen_select`).

    The dual ``D(nu) = 1/2 ||y||^2 - 1/2 ||y - nu||^2`` is 1-strongly concave, so the optimal dual
    point lies within ``sqrt(2 gap)`` of the rescaled residual ``nu = s r`` (unscaled ``gap``);
    feature ``j`` is inactive at the optimum when ``s |x_j'r| + ||x_j|| sqrt(2 gap) < lam``
    (the signed correlation with ``positive``). Zero columns are dropped too. Dropped features
    still nonzero in ``w`` are zeroed (``r`` updated); appends to ``screened`` what
    :func:`screened_below` needs to bound the dropped correlations later.
    """
    if nonzero:
        w[dropped] = 0.0
        r[:] = yc - design.matvec(w)
        cmax = float(np.abs(design.correlations(r, dropped, positive)[0][dropped]).max())
    screened.append((r.copy(), cmax, nmax))


def screened_below(screened, r, corr_max):
    """Whether every screened feature provably has ``|x_j'r| <= corr_max``, so that the gap of
    the screened problem is the full one: ``|x_j'r| <= |x_j'r_e| + ||x_j|| ||r - r_e||`` from
    the residual ``r_e`` of the screening event that dropped ``j``."""
    return all(cmax + nmax * float(np.linalg.norm(r - r_e)) <= corr_max
               for r_e, cmax, nmax in screened)


def _newton_pays(gap, prev_gap, target, size, n, epochs, nnz):
    """Whether the Newton step on a support of ``size`` should cost less than the coordinate
    descent epochs still needed, extrapolating the linear rate of the last chunk of ``epochs``.

    The step costs a Gram matrix, about ``nnz^2 / n`` flops for ``nnz`` stored entries in the
    support's columns (``n size^2`` when dense), and a Cholesky-like solve, ``size^3 / 3``; an
    epoch costs ``2 nnz``. Dense, that is ``size (1 + size / (3 n)) / 2`` epochs; on sparse
    columns the solve weighs ``1 / density`` times more.
    """
    nnz = max(nnz, 1)
    cost = (nnz * (nnz / n) + size**3 / 3.0) / (2.0 * nnz)
    if gap >= prev_gap or target <= 0.0:  # stalls on this face, or asked for machine precision
        return True
    remaining = epochs * np.log(gap / target) / np.log(prev_gap / gap)
    return remaining > cost


def solve_block(design, yc, w, r, ws, lam, positive, inner_tol, target, budget, tuning,
                tracker):
    """Coordinate descent on the working set ``ws`` until its restricted gap <= ``inner_tol``.

    Gaps here are of the unscaled objective ``1/2 ||r||^2 + lam ||w||_1``; ``target`` is the
    outer one. ``w`` and ``r`` (the centred residual) are updated in place. ``tracker`` (a
    :class:`NewtonTracker`) carries the last face, its gap and the faces already tried by Newton.
    Returns the epochs used and the features whose correlations ``design`` now holds at the
    final residual (the working set for a sparse design, see :meth:`Design.correlations`).

    The block also ends when a chunk of epochs leaves the objective unchanged to rounding
    (``tuning.stall_rtol``): the gap cannot close further at this precision (``tol=0``).
    """
    check_every = tuning.check_every
    used = 0
    m = ws.size
    wb = w[ws].copy()
    norm2b = design.norm2[ws]
    work = AndersonWork(tuning.anderson, np.empty((tuning.anderson + 1, m)), np.empty(m),
                        np.empty_like(r))
    rs = state = None
    if design.sparse:
        X = design.X
        csc = CSCDesign(X.indptr, X.indices, X.data, design.mu, design.colsum)
        state = np.zeros(2)  # without an intercept mu = 0: no offsets, r itself is updated
        rs = r
        if design.centred:  # kernel residual: true residual minus the offset mu'w
            state[0] = float(design.mu @ w)
            rs = r - state[0]
            state[1] = rs.sum()
    else:
        Xb, cols = design.block(ws)
    previous = np.inf
    while used < budget:
        n_ep = min(check_every, budget - used)
        if design.sparse:
            gap = lasso_ws_sparse(csc, ws, norm2b, wb, rs, state, yc, lam, positive, n_ep, work,
                                  tuning.full_every, design.corr)
        else:
            gap = lasso_ws_dense(Xb, cols, norm2b, wb, r, yc, lam, positive, n_ep, work)
        used += n_ep
        inside = np.flatnonzero(wb)
        support = ws[inside]
        face = (support.tobytes(), np.sign(wb[inside]).tobytes())
        if (gap > target and face == tracker.face and face not in tracker.tried
                and inside.size and _newton_pays(gap, tracker.gap, target, inside.size,
                                                 r.shape[0], n_ep, design.stored(support))):
            # the support and signs survived a whole chunk and coordinate descent is slow on
            # this face: take the exact step on it (finite termination once identified)
            tracker.tried.add(face)
            w[ws] = wb
            out = newton_on_support(design, yc, w, support, lam, positive)
            if out is not None:
                before = 0.5 * _rr(design, r, rs, state) + lam * float(np.abs(wb).sum())
                kept = w[support].copy()
                w[support] = out[0]
                r_new = yc - design.matvec(w)
                after = 0.5 * float(r_new @ r_new) + lam * float(np.abs(w[ws]).sum())
                if after < before:  # rounding on a near-singular face can lose: then keep w
                    wb[:] = w[ws]
                    r[:] = r_new
                    if design.sparse and design.centred:
                        state[0] = float(design.mu @ w)
                        rs = r - state[0]
                        state[1] = rs.sum()
                    corr = design.refresh_correlations(r, ws)
                    corr_max = float(corr.max() if positive else np.abs(corr).max())
                    gap = residual_gap(r, yc, max(corr_max, 0.0), float(np.abs(wb).sum()),
                                       lam)[2]
                else:
                    w[support] = kept
        tracker.face, tracker.gap = face, gap
        if gap <= inner_tol:
            break
        primal = 0.5 * _rr(design, r, rs, state) + lam * float(np.abs(wb).sum())
        if primal >= previous * (1.0 - tuning.stall_rtol):
            break  # no progress left at this precision
        previous = primal
    w[ws] = wb
    if design.sparse:
        if design.centred:
            r[:] = rs + state[0]
        return used, ws
    return used, NONE
