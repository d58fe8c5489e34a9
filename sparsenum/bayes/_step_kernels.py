"""Numba kernels of one SBL or Turbo-VBI step on real data: everything but the factorisations.

An iteration of these solvers at the sizes they are used on (``N`` in the hundreds) is a small
Cholesky factorisation and a few triangular solves, surrounded by a few dozen small array
operations whose numpy call overheads, done one by one, cost more than the factorisation. The
factorisations stay with BLAS/LAPACK (``_posterior.posterior_step``); these kernels do the rest
of a step in one pass each:

* ``select_columns``: the coefficients an E-step solves, those it leaves at their prior, and
  the scaled columns ``B = A[:, solved] * sqrt(gamma[solved])``;
* ``posterior_moments``: posterior mean and variances (of the solved coefficients and of all),
  residual and evidence terms from the Cholesky factor (Woodbury or direct form), and the
  change of the mean from the last step;
* ``sbl_variances``: SBL's (pattern-coupled) variance update.

Only float64 is compiled here (complex problems take the general numpy path), so each kernel
has one signature.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..utils import jit

# the constant arrays of a problem, passed to the kernels as one argument
Design = namedtuple("Design", ["A", "y", "col_sq"])


@jit
def select_columns(A, gamma, col_sq, threshold, max_direct):
    """The coefficients an E-step solves and the columns it needs: ``(solved, frozen, B)``.

    Among the coefficients with ``gamma > 0`` (``gamma = 0`` is pruned), ``solved`` are those
    with ``gamma * col_sq >= threshold`` and ``frozen`` the others; ``B = A[:, solved] *
    sqrt(gamma[solved])`` (C order) when more than ``max_direct`` are solved (the E-step then
    needs it), else an empty ``M x 0`` array (``A`` may then have no columns).
    """
    m = A.shape[0]
    n = gamma.shape[0]
    solved = np.empty(n, np.int64)
    frozen = np.empty(n, np.int64)
    ns = 0
    nf = 0
    for i in range(n):
        if not gamma[i] > 0.0:
            continue
        if gamma[i] * col_sq[i] < threshold:
            frozen[nf] = i
            nf += 1
        else:
            solved[ns] = i
            ns += 1
    k = ns if ns > max_direct else 0
    root = np.empty(k)
    for j in range(k):
        root[j] = np.sqrt(gamma[solved[j]])
    B = np.empty((m, k))
    for i in range(m):
        for j in range(k):
            B[i, j] = A[i, solved[j]] * root[j]
    return solved[:ns], frozen[:nf], B


@jit
def posterior_moments(F, v, T, design, idx, frozen, gamma, old_mean, woodbury):
    """Posterior of the coefficients ``idx`` from a Cholesky factorisation, and of all of them.

    Woodbury form (``woodbury=True``): ``F = W = L^-1 B`` (M x k), ``v = L^-1 y``; the mean is
    ``sqrt(gamma) W^T v`` and the shrinkage ``colsum W^2``. Direct form: ``F = R^-T`` (k x k,
    lower triangular), ``v = K^-1 B^T y / sigma^2`` and ``diag K^-1 = colsum F^2``. ``T`` is
    the Cholesky factor or its transpose (only its diagonal is read); ``design`` is a
    ``Design``. All arrays C-ordered (one compiled signature).

    Returns ``(mean_s, var_s, shrink_s)`` on ``idx``; the mean, variances and ``E x^2`` of every
    coefficient (the ``frozen`` ones at their prior ``N(0, gamma)``, the pruned ones at 0); and
    ``(||y - A mean||^2, sum log diag T, sum mean_s^2 / gamma, sum_frozen gamma col_sq,
    sum log gamma over gamma > 0, ||mean - old_mean|| / ||mean||)``, the last 0 when both
    means are zero (as ``sbl.relative_change``).
    """
    A, y, col_sq = design
    m = A.shape[0]
    n = gamma.shape[0]
    k = idx.shape[0]
    u = np.zeros(k)
    sq = np.zeros(k)  # column sums of F^2
    for i in range(F.shape[0]):
        vi = v[i]
        for j in range(k):
            w = F[i, j]
            u[j] += w * vi
            sq[j] += w * w
    mean_s = np.empty(k)
    var_s = np.empty(k)
    shrink = np.empty(k)
    prior_quad = 0.0
    for j in range(k):
        g = gamma[idx[j]]
        if woodbury:
            s = min(sq[j], 1.0)
            mean_s[j] = np.sqrt(g) * u[j]
            var_s[j] = g * (1.0 - s)
            shrink[j] = s
        else:
            mean_s[j] = np.sqrt(g) * v[j]
            var_s[j] = g * sq[j]
            shrink[j] = 1.0 - sq[j]
        prior_quad += mean_s[j] * mean_s[j] / g
    log_diag = 0.0
    for i in range(T.shape[0]):
        log_diag += np.log(T[i, i])
    residual_sq = 0.0
    for i in range(m):
        r = y[i]
        for j in range(k):
            r -= A[i, idx[j]] * mean_s[j]
        residual_sq += r * r
    mean = np.zeros(n)
    var = np.zeros(n)
    frozen_sq = 0.0
    for t in range(frozen.shape[0]):
        i = frozen[t]
        var[i] = gamma[i]
        frozen_sq += gamma[i] * col_sq[i]
    for t in range(k):
        mean[idx[t]] = mean_s[t]
        var[idx[t]] = var_s[t]
    second = np.empty(n)
    log_gamma = 0.0
    num = 0.0
    den = 0.0
    for i in range(n):
        second[i] = mean[i] * mean[i] + var[i]
        if gamma[i] > 0:
            log_gamma += np.log(gamma[i])
        d = mean[i] - old_mean[i]
        num += d * d
        den += mean[i] * mean[i]
    change = np.sqrt(num) / max(np.sqrt(den), 1e-300) if num > 0.0 else 0.0
    sums = (residual_sq, log_diag, prior_quad, frozen_sq, log_gamma, change)
    return mean_s, var_s, shrink, mean, var, second, sums


@jit(error_model="numpy")  # 1 / 0 = inf, as in numpy: a zero variance is an infinite precision
def sbl_variances(mean_sq, post_var, shrink, kept, frozen, gamma, alpha, dead, mackay,
                  coupling, height, width, a, b, h, cap, prune, permanent):
    """SBL's new prior variances (and PC-SBL's precisions) from one E-step, capped at ``cap``
    and pruned below ``prune`` (``prune < 0``: ``-prune`` times the largest variance).

    ``mean_sq``, ``post_var`` and ``shrink`` are the E-step's on the ``kept`` coefficients;
    the ``frozen`` ones keep their variance; ``dead`` (zero columns) stay at zero, and with
    ``permanent`` so do pruned ones. Returns ``(gamma, alpha)``.
    """
    n = gamma.shape[0]
    second = np.zeros(n)
    for t in range(kept.shape[0]):
        second[kept[t]] = mean_sq[t] + post_var[t]
    for t in range(frozen.shape[0]):
        second[frozen[t]] = gamma[frozen[t]]
    if coupling > 0.0:
        # two passes: omega = E x^2 + coupling * (its neighbour sum) gives alpha, then
        # gamma = 1 / (alpha + coupling * (its neighbour sum)); the neighbours on the
        # height x width grid in C order (a chain is 1 x N, width 0 means none), summed in
        # the order of SupportGraph.neighbour_sum: above, below, left, right
        new_alpha = np.empty(n)
        new = np.empty(n)
        src = second
        for step in range(2):
            near = np.zeros(n)
            if width > 0:
                for p in range(n):
                    i = p // width
                    j = p - i * width
                    if i > 0:
                        near[p] += src[p - width]
                    if i < height - 1:
                        near[p] += src[p + width]
                    if j > 0:
                        near[p] += src[p - 1]
                    if j < width - 1:
                        near[p] += src[p + 1]
            for p in range(n):
                if step == 0:
                    new_alpha[p] = (h + a) / (h * (second[p] + coupling * near[p]) + b)
                else:
                    new[p] = 1.0 / (new_alpha[p] + coupling * near[p])
            src = new_alpha
    else:
        new_alpha = alpha
        new = np.zeros(n)
        for t in range(kept.shape[0]):
            i = kept[t]
            if mackay:
                new[i] = (h * mean_sq[t] + b) / (h * shrink[t] + a)
            else:
                new[i] = (h * second[i] + b) / (h + a)
        for t in range(frozen.shape[0]):
            new[frozen[t]] = gamma[frozen[t]]
    top = -np.inf
    for i in range(n):
        g = new[i]
        g = min(g, cap) if np.isfinite(g) else 0.0
        if dead[i] or (permanent and gamma[i] == 0.0):
            g = 0.0
        new[i] = g
        top = max(top, g)
    floor = -prune * top if prune < 0.0 else prune
    for i in range(n):
        if new[i] < floor:
            new[i] = 0.0
    return new, new_alpha
