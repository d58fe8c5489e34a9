"""Numba kernel of the working-set L1-logistic solver (private).

``l1_logistic_pn`` runs proximal Newton iterations on a working set whose design columns form a
dense Fortran block ``B`` (n x m): each iteration forms the gradient and the Hessian weights of
the logistic loss at ``z = B w``, minimises the quadratic model plus the L1 term by cyclic
coordinate descent (keeping ``B d`` in place), then backtracks along ``d`` (Armijo). Everything
stays in one compiled call, so an outer iteration costs one Python round trip.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from sparsenum.utils import jit

from ._kernels import _REASSOC, _l1, _soft

#: work arrays of :func:`l1_logistic_pn`: ``p, h, g, Bd, zt`` of length n (sigmoids, Hessian
#: weights, loss gradient, ``B d`` and the trial ``z``), ``grad, lip, d`` of length m
NewtonWork = namedtuple("NewtonWork", ["p", "h", "g", "Bd", "zt", "grad", "lip", "d"])
#: what :func:`l1_logistic_pn` returns: the working set's final gap, the proximal Newton
#: iterations and the coordinate-descent epochs it took
NewtonSteps = namedtuple("NewtonSteps", ["gap", "n_newton", "n_cd"])


@jit
def _log1pexp_neg(m):
    """``log(1 + exp(-m))`` without overflow."""
    if m > 0.0:
        return np.log1p(np.exp(-m))
    return -m + np.log1p(np.exp(m))


@jit
def _sigmoid_neg(m):
    """``1 / (1 + exp(m))`` without overflow."""
    if m >= 0.0:
        e = np.exp(-m)
        return e / (1.0 + e)
    return 1.0 / (1.0 + np.exp(m))


@jit
def _entr(t):
    return -t * np.log(t) if t > 0.0 else 0.0


@jit
def logistic_state(y, z, p):
    """Loss ``sum log(1 + exp(-y z))``; fills ``p = sigmoid(-y z)``."""
    loss = 0.0
    for i in range(z.shape[0]):
        m = y[i] * z[i]
        loss += _log1pexp_neg(m)
        p[i] = _sigmoid_neg(m)
    return loss


@jit
def logistic_dual(p, scale):
    """Dual objective at ``u = scale * y * p``: ``sum H(scale p_i)`` (binary entropy)."""
    dual = 0.0
    for i in range(p.shape[0]):
        t = scale * p[i]
        dual += _entr(t) + _entr(1.0 - t)
    return dual


@jit(fastmath=_REASSOC)
def l1_logistic_pn(B, y, w, z, lam, max_pn, max_cd, cd_ratio, inner_tol, work):
    """Proximal Newton on ``sum log(1 + exp(-y B w)) + lam ||w||_1`` from ``w`` (``z = B w``).

    ``w`` and ``z`` are updated in place; ``work`` is a :data:`NewtonWork`. Stops when the
    working set's duality gap (dual point ``-g`` rescaled into ``||B'u||_inf <= lam``) is at
    most ``inner_tol`` or after ``max_pn`` iterations. Returns a :data:`NewtonSteps`.
    """
    p, h, g, Bd, zt, grad, lip, d = work
    n, m = B.shape
    gap = np.inf
    n_pn = 0
    n_cd = 0
    for _ in range(max_pn + 1):
        loss = logistic_state(y, z, p)
        for i in range(n):
            g[i] = -y[i] * p[i]
            h[i] = max(p[i] * (1.0 - p[i]), 1e-12)
        gmax = 0.0
        viol = 0.0  # distance of -grad to the subdifferential of lam |w_k|
        for k in range(m):
            s = 0.0
            s2 = 0.0
            for i in range(n):
                s += B[i, k] * g[i]
                s2 += B[i, k] * B[i, k] * h[i]
            grad[k] = s
            lip[k] = s2
            gmax = max(gmax, abs(s))
            if w[k] > 0.0:
                viol = max(viol, abs(s + lam))
            elif w[k] < 0.0:
                viol = max(viol, abs(s - lam))
            else:
                viol = max(viol, abs(s) - lam)
        scale = 1.0 if gmax <= lam else lam / gmax
        primal = loss + lam * _l1(w)
        gap = primal - logistic_dual(p, scale)
        if gap <= inner_tol or n_pn == max_pn:
            break
        # coordinate descent on the quadratic model grad'd + 1/2 d'B'HBd + lam ||w + d||_1
        for k in range(m):
            d[k] = 0.0
        for i in range(n):
            Bd[i] = 0.0
        for _cd in range(max_cd):
            n_cd += 1
            change = 0.0
            for k in range(m):
                L = lip[k]
                if L <= 0.0:
                    continue
                s = grad[k]
                for i in range(n):
                    s += B[i, k] * h[i] * Bd[i]
                old = w[k] + d[k]
                new = _soft(old - s / L, lam / L)
                delta = new - old
                if delta != 0.0:
                    d[k] += delta
                    for i in range(n):
                        Bd[i] += delta * B[i, k]
                    change = max(change, abs(delta) * L)
            if change <= cd_ratio * viol:
                break
        # Armijo backtracking on the true objective along d; differences are summed term by
        # term so that they stay accurate when the steps reach machine precision
        decrease = 0.0
        for k in range(m):
            decrease += grad[k] * d[k] + lam * (abs(w[k] + d[k]) - abs(w[k]))
        if decrease >= 0.0:  # no descent left at this accuracy
            break
        t = 1.0
        accepted = False
        for _ls in range(30):
            change = 0.0
            for i in range(n):
                zt[i] = z[i] + t * Bd[i]
                change += _log1pexp_neg(y[i] * zt[i]) - _log1pexp_neg(y[i] * z[i])
            for k in range(m):
                change += lam * (abs(w[k] + t * d[k]) - abs(w[k]))
            if change <= 1e-4 * t * decrease:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        for k in range(m):
            w[k] += t * d[k]
        for i in range(n):
            z[i] = zt[i]
        n_pn += 1
    return NewtonSteps(gap, n_pn, n_cd)
