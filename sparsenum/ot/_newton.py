"""The Newton stage of Sinkhorn-Newton-Sparse: regularised Newton steps on the dual potentials.

Each step sparsifies the Hessian ``-reg^{-1} [[diag(P1), P], [P^T, diag(P^T 1)]]`` (its exact
diagonal and the largest entries of ``P``, enlarged by the error bound of
:mod:`._hessian_sparsify`), solves the shifted system by conjugate gradients (a direct solve
when CG stalls), and accepts the step by a ratio test of the dual's actual to its predicted
increase, adapting the shift as a trust region would (Tang & Qiu's SSNS). A stage runs steps
until the tolerance is met or :class:`~._schedule.StageSchedule` hands back to scaling.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import _kernels
from ._hessian_sparsify import error_bounded_thresholds
from ._tuning import TUNING

#: Largest number of columns whose Newton system is factorised densely (Cholesky of the Schur
#: complement, O(m^3)); beyond it, sparse LU of the whole system is cheaper.
DENSE_SCHUR_MAX = 1500


class NewtonStage:
    """Newton steps on the dual potentials of one SNS solve; owns the dense plan buffer ``P``.

    After each :meth:`step`, ``work`` holds the counts the schedule prices: plan evaluations,
    kept and sorted entries of the sparsification, CG products and direct solves.
    """

    def __init__(self, C, a, b, reg, density, max_cg, tuning=TUNING):
        n, m = C.shape
        self.t = tuning
        self.C, self.a, self.b, self.reg = C, a, b, reg
        self.density, self.max_cg = density, max_cg
        self.P = np.empty((n, m))
        self.row = np.empty(n)
        self.col = np.empty(m)
        self.rng = np.random.default_rng(0)
        self.indptr = np.zeros(n + 1, dtype=np.int64)
        self.mu = tuning.mu_start
        self.work = {}
        # the relative threshold only for marginals spanning orders of magnitude: on uniform
        # ones its extra entries cost more than they save
        spread = min(a.min() / a.max(), b.min() / b.max())
        self.relative = tuning.relative_keep if spread < tuning.light_spread else 0.0

    def run(self, f, g, tol, max_iter, schedule, log):
        """A Newton stage from ``(f, g)``, each row recorded in ``log``: steps until the
        violation is at most ``tol``, ``log`` has counted ``max_iter`` iterations, the callback
        stops it or ``schedule`` hands back to scaling. Returns ``(f, g, violation)``; ``P``
        holds the plan at ``(f, g)``."""
        dual, err = self.evaluate(f, g)
        schedule.evaluated()
        log.add(dual, err, self.reg, potentials=_potentials(f, g))
        # the shift grew on the steps that ended the last stage; the point is a new one
        self.mu = min(self.mu, self.t.mu_start)
        while err > tol and log.n_iter < max_iter and not log.progress.stopped:
            f, g, dual, err_new, n_cg, ok = self.step(f, g, dual, err)
            schedule.stepped(schedule.step_cost(**self.work))
            log.newton += 1
            log.cg += n_cg
            log.add(dual, err_new, self.reg, potentials=_potentials(f, g))
            leave = schedule.leave_newton(err, err_new, tol, ok)
            err = err_new
            if leave:
                break
        return f, g, err

    def evaluate(self, f, g):
        """Fill P and its marginals at (f, g); returns (dual objective, marginal violation)."""
        # a trial step that overshoots overflows the plan: its dual is then not finite and the
        # step is rejected, so the overflow is expected, not an error
        with np.errstate(over="ignore", invalid="ignore"):
            total = _kernels.plan_any(self.C, f, g, self.reg, self.P, self.row, self.col)
        dual = float(self.a @ f + self.b @ g - self.reg * total)
        err = float(np.abs(self.row - self.a).sum() + np.abs(self.col - self.b).sum())
        return dual, err

    def _dual_rounding(self, f, g):
        """Rounding error bound of the dual objective's evaluation at ``(f, g)``."""
        scale = float(self.a @ np.abs(f) + self.b @ np.abs(g)) + self.reg * float(self.row.sum())
        return 64.0 * np.finfo(float).eps * scale

    def _sparsified(self, grad):
        """The kept entries of P in CSR (``self.indptr``, indices, data) and the thresholds."""
        t, n = self.t, self.P.shape[0]
        thr = _threshold(self.P, self.density, self.rng, t.threshold_sample)
        thr_row, thr_col = np.full(n, thr), np.full(self.b.shape[0], thr)
        if self.relative > 0:
            # also keep each row's and column's leading entries (within a factor `relative` of
            # its largest): light rows and columns (near-zero marginals, as in images) otherwise
            # keep no coupling and Newton degrades to scaling on them
            np.minimum(thr_row, self.relative * self.P.max(axis=1), out=thr_row)
            np.minimum(thr_col, self.relative * self.P.max(axis=0), out=thr_col)
        # a fixed density keeps a fixed Hessian error and Newton converges only linearly;
        # dropping mass proportional to the gradient makes the steps asymptotically exact
        nnz, n_sorted = error_bounded_thresholds(
            self.P, t.error_bound * float(np.sqrt(grad @ grad)), thr_row, thr_col, self.indptr)
        self.work = {"evaluations": 0, "kept": int(nnz), "n_sorted": int(n_sorted),
                     "cg_products": 0, "direct_solves": 0}
        indices = np.empty(nnz, dtype=np.int64)
        data = np.empty(nnz)
        _kernels.sparsify_fill(self.P, thr_row, thr_col, self.indptr, indices, data)
        return indices, data

    def step(self, f, g, dual, err):
        """One regularised Newton step (trust-region style shift, as in SSNS).

        Solves ``(M + mu ||grad||_1 I) d = grad`` where ``reg^{-1} M`` is the sparsified negative
        Hessian; the step is accepted when the dual increase is at least a fraction of the
        quadratic model's, and ``mu`` shrinks after good steps and grows after poor ones.
        Returns ``(f, g, dual, err, cg_products, ok)``; the buffers hold the returned point.
        """
        t, n = self.t, f.shape[0]
        grad = np.concatenate([self.a - self.row, self.b - self.col])
        indices, data = self._sparsified(grad)
        work = self.work
        # inexact Newton (see Tuning.cg_rtol_min)
        rtol = min(t.cg_rtol_max, max(t.cg_rtol_min, math.sqrt(err)))
        gnorm = float(np.abs(grad).sum())
        n_cg_total = 0
        for _ in range(t.max_trials):
            shift = self.mu * gnorm
            d, n_cg, curvature = _kernels.newton_direction(
                self.row, self.col, self.indptr, indices, data, shift, grad, rtol, self.max_cg)
            n_cg_total += n_cg
            work["cg_products"] += n_cg
            if n_cg > self.max_cg:
                # CG stalled: at small reg the kept graph splits into weakly linked clusters and
                # the system is too ill-conditioned for CG; a direct solve costs little more
                d, curvature = _direct_direction(self.row, self.col, self.indptr, indices,
                                                 data, shift, grad)
                work["direct_solves"] += 1
            d *= self.reg
            slope = float(grad @ d)
            # quadratic model of the dual increase along d (reg * curvature = d^T H d / reg)
            predicted = slope - 0.5 * curvature * self.reg
            if slope > 0 and predicted > 0:
                f_new, g_new = f + d[:n], g + d[n:]
                dual_new, err_new = self.evaluate(f_new, g_new)
                work["evaluations"] += 1
                ratio = (dual_new - dual) / predicted if np.isfinite(dual_new) else -np.inf
                if np.isfinite(dual_new) and predicted < self._dual_rounding(f_new, g_new):
                    # the predicted increase is below the rounding of the dual (marginal
                    # errors near 1e-9): the ratio is noise, so accept a step that reduces the
                    # gradient rather than leave Newton for scaling near the end
                    if err_new < err:
                        return f_new, g_new, dual_new, err_new, n_cg_total, True
                elif ratio > t.accept:
                    if ratio > t.ratio_good:
                        self.mu = max(self.mu / t.mu_factor, t.mu_min)
                    elif ratio < t.ratio_poor:
                        self.mu *= t.mu_factor
                    return f_new, g_new, dual_new, err_new, n_cg_total, True
            self.mu *= t.mu_factor
        self.evaluate(f, g)  # restore the buffers at the last accepted point
        work["evaluations"] += 1
        return f, g, dual, err, n_cg_total, False


def _potentials(f, g):
    return lambda: {"f": f, "g": g}


def _threshold(P, density, rng, n_sample):
    """Entry value above which about ``density * n * m`` entries of the plan ``P`` lie.

    A quantile of a random sample of ``n_sample`` entries already computed by the last
    evaluation (no exp pass, no full sort): the kept count only needs to be right to a few
    percent.
    """
    if density >= 1.0:
        return 0.0
    flat = P.reshape(-1)
    if flat.shape[0] <= n_sample:
        sample = flat.copy()
    else:
        sample = flat[rng.integers(0, flat.shape[0], n_sample)]
    k = min(sample.shape[0] - 1, int((1.0 - density) * sample.shape[0]))
    return float(np.partition(sample, k)[k])


def _direct_direction(row, col, indptr, indices, data, shift, grad):
    """Solve the shifted sparsified Newton system directly (last g pinned).

    Up to DENSE_SCHUR_MAX columns by dense Cholesky on the Schur complement of the diagonal f
    block, else (or if that is not numerically positive definite) by sparse LU of the whole
    system. Returns ``(x, curvature)`` with ``curvature = x^T (M + shift I) x``.
    """
    n, m = row.shape[0], col.shape[0]
    S = sp.csr_matrix((data, indices, indptr), shape=(n, m))[:, : m - 1]
    x = np.zeros(n + m)
    solved = m <= DENSE_SCHUR_MAX and _schur_cholesky(row, col, S, shift, grad, x)
    if not solved:
        M = sp.bmat([[sp.diags(row + shift), S], [S.T, sp.diags(col[: m - 1] + shift)]],
                    format="csc")
        # symmetric fill-reducing ordering: the system is symmetric positive definite
        x[: n + m - 1] = spla.spsolve(M, grad[: n + m - 1], permc_spec="MMD_AT_PLUS_A")
    if not np.all(np.isfinite(x)):
        return np.zeros(n + m), 0.0
    xf, xg = x[:n], x[n:n + m - 1]
    curvature = float(xf @ ((row + shift) * xf) + xg @ ((col[: m - 1] + shift) * xg)
                      + 2.0 * xf @ (S @ xg))
    return x, curvature


def _schur_cholesky(row, col, S, shift, grad, x):
    """Fill ``x`` with the solution through the Schur complement ``diag(col) - S^T diag(row)^-1
    S`` (shifted, last column of S dropped); False if it is not numerically positive definite."""
    n, m = row.shape[0], col.shape[0]
    inv_a = 1.0 / (row + shift)
    St = S.T.tocsr()
    schur = -(St @ sp.diags(inv_a) @ S).toarray()
    schur[np.diag_indices(m - 1)] += col[: m - 1] + shift
    try:
        factor = sla.cho_factor(schur, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return False
    z = sla.cho_solve(factor, grad[n:n + m - 1] - St @ (inv_a * grad[:n]), check_finite=False)
    x[n:n + m - 1] = z
    x[:n] = inv_a * (grad[:n] - S @ z)
    return True
