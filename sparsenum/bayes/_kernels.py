"""Numba kernels of sparsenum.bayes: support message passing and Kronecker mode products.

Support model (both kernels): a binary support ``s`` whose neighbours are coupled by the
transition matrix ``T = [[1 - p01, p01], [p10, 1 - p10]]`` with stationary probability
``pi1 = p01 / (p01 + p10)``. Module A of Turbo-VBI sends, for each coefficient, the probability
``nu_n`` its own evidence gives to ``s_n = 1`` (its likelihood, normalised). The kernels return
for each ``n``:

* ``extrinsic[n]``: ``P(s_n = 1)`` given the evidence of every *other* coefficient (the prior
  module A uses next),
* ``posterior[n]``: ``P(s_n = 1)`` given all the evidence,
* ``counts``: expected numbers of neighbour pairs in each state pair ``(a, b)``, for the EM
  update of ``p01`` and ``p10``.
"""

from __future__ import annotations

import math

import numpy as np

from ..utils import jit


@jit
def chain_messages(nu, p01, p10):
    """Forward-backward on a stationary two-state Markov chain; exact, ``O(N)``."""
    n = nu.shape[0]
    lam = p01 / (p01 + p10)
    t00, t01, t10, t11 = 1.0 - p01, p01, p10, 1.0 - p10
    fwd = np.empty((n, 2))  # P(s_n | evidence before n), normalised
    bwd = np.empty((n, 2))  # P(evidence after n | s_n), normalised
    fwd[0, 0], fwd[0, 1] = 1.0 - lam, lam
    for i in range(1, n):
        e0 = fwd[i - 1, 0] * (1.0 - nu[i - 1])
        e1 = fwd[i - 1, 1] * nu[i - 1]
        v0 = e0 * t00 + e1 * t10
        v1 = e0 * t01 + e1 * t11
        s = v0 + v1
        fwd[i, 0], fwd[i, 1] = v0 / s, v1 / s
    bwd[n - 1, 0], bwd[n - 1, 1] = 1.0, 1.0
    for i in range(n - 2, -1, -1):
        e0 = (1.0 - nu[i + 1]) * bwd[i + 1, 0]
        e1 = nu[i + 1] * bwd[i + 1, 1]
        v0 = t00 * e0 + t01 * e1
        v1 = t10 * e0 + t11 * e1
        s = v0 + v1
        bwd[i, 0], bwd[i, 1] = v0 / s, v1 / s
    extrinsic = np.empty(n)
    posterior = np.empty(n)
    for i in range(n):
        x0 = fwd[i, 0] * bwd[i, 0]
        x1 = fwd[i, 1] * bwd[i, 1]
        extrinsic[i] = x1 / (x0 + x1)
        q0 = x0 * (1.0 - nu[i])
        q1 = x1 * nu[i]
        posterior[i] = q1 / (q0 + q1)
    counts = np.zeros((2, 2))
    for i in range(1, n):
        a0 = fwd[i - 1, 0] * (1.0 - nu[i - 1])
        a1 = fwd[i - 1, 1] * nu[i - 1]
        b0 = (1.0 - nu[i]) * bwd[i, 0]
        b1 = nu[i] * bwd[i, 1]
        m00, m01 = a0 * t00 * b0, a0 * t01 * b1
        m10, m11 = a1 * t10 * b0, a1 * t11 * b1
        s = m00 + m01 + m10 + m11
        counts[0, 0] += m00 / s
        counts[0, 1] += m01 / s
        counts[1, 0] += m10 / s
        counts[1, 1] += m11 / s
    return extrinsic, posterior, counts


@jit
def _incoming(msg, h, w, i, j, skip):
    """Product over the messages arriving at (i, j), except from direction ``skip``, as
    (weight of s=0, weight of s=1). ``msg[d, i, j]`` is the message node (i, j) sends in
    direction d (0 up, 1 down, 2 left, 3 right), stored as P(s = 1)."""
    w0 = 1.0
    w1 = 1.0
    if i > 0 and skip != 0:  # from the node above, which sent it down
        w0 *= 1.0 - msg[1, i - 1, j]
        w1 *= msg[1, i - 1, j]
    if i < h - 1 and skip != 1:
        w0 *= 1.0 - msg[0, i + 1, j]
        w1 *= msg[0, i + 1, j]
    if j > 0 and skip != 2:
        w0 *= 1.0 - msg[3, i, j - 1]
        w1 *= msg[3, i, j - 1]
    if j < w - 1 and skip != 3:
        w0 *= 1.0 - msg[2, i, j + 1]
        w1 *= msg[2, i, j + 1]
    return w0, w1


@jit
def grid_messages(nu, p01, p10, msg, damping, tol, max_sweeps):
    """Loopy belief propagation on the 4-neighbour grid ``nu.shape = (H, W)``.

    The field is ``p(s) ~ prod_n pi_{s_n} prod_{edges} psi(s_i, s_j)`` with
    ``psi(a, b) = T[a, b] / pi_b`` (symmetric), which on an ``H x 1`` grid is exactly the
    stationary chain of :func:`chain_messages`. Messages are updated in parallel (flooding),
    damped, and start from ``msg`` (updated in place; all 0.5 for a cold start). Stops when no
    message moves by more than ``tol`` or after ``max_sweeps`` sweeps; returns
    ``(extrinsic, posterior, counts, sweeps)``.
    """
    h, w = nu.shape
    pi1 = p01 / (p01 + p10)
    pi0 = 1.0 - pi1
    # psi(a, b) = T[a, b] / pi_b
    psi00 = (1.0 - p01) / pi0
    psi01 = p01 / pi1
    psi11 = (1.0 - p10) / pi1
    new = np.empty_like(msg)
    sweeps = 0
    for sweep in range(max_sweeps):
        sweeps = sweep + 1
        change = 0.0
        for i in range(h):
            for j in range(w):
                for d in range(4):
                    if (d == 0 and i == 0) or (d == 1 and i == h - 1) or \
                            (d == 2 and j == 0) or (d == 3 and j == w - 1):
                        new[d, i, j] = 0.5
                        continue
                    # the message toward direction d excludes what came from direction d
                    w0, w1 = _incoming(msg, h, w, i, j, d)
                    w0 *= pi0 * (1.0 - nu[i, j])
                    w1 *= pi1 * nu[i, j]
                    v0 = w0 * psi00 + w1 * psi01
                    v1 = w0 * psi01 + w1 * psi11
                    value = v1 / (v0 + v1)
                    value = damping * msg[d, i, j] + (1.0 - damping) * value
                    new[d, i, j] = value
                    change = max(change, abs(value - msg[d, i, j]))
        # element by element, not ``msg[:] = new``: the slice assignment compiles numba's
        # shape-mismatch message (string formatting of both shapes), 3 s of a cold first call
        for d in range(4):
            for i in range(h):
                for j in range(w):
                    msg[d, i, j] = new[d, i, j]
        if change < tol:
            break
    extrinsic = np.empty((h, w))
    posterior = np.empty((h, w))
    for i in range(h):
        for j in range(w):
            w0, w1 = _incoming(msg, h, w, i, j, -1)
            x0 = pi0 * w0
            x1 = pi1 * w1
            extrinsic[i, j] = x1 / (x0 + x1)
            q0 = x0 * (1.0 - nu[i, j])
            q1 = x1 * nu[i, j]
            posterior[i, j] = q1 / (q0 + q1)
    counts = np.zeros((2, 2))
    for i in range(h):
        for j in range(w):
            for d in (1, 3):  # each edge once: to the node below and to the right
                if (d == 1 and i == h - 1) or (d == 3 and j == w - 1):
                    continue
                k = i + 1 if d == 1 else i
                m = j + 1 if d == 3 else j
                a0, a1 = _incoming(msg, h, w, i, j, d)
                a0 *= pi0 * (1.0 - nu[i, j])
                a1 *= pi1 * nu[i, j]
                b0, b1 = _incoming(msg, h, w, k, m, 0 if d == 1 else 2)
                b0 *= pi0 * (1.0 - nu[k, m])
                b1 *= pi1 * nu[k, m]
                m00, m01 = a0 * psi00 * b0, a0 * psi01 * b1
                m10, m11 = a1 * psi01 * b0, a1 * psi11 * b1
                s = m00 + m01 + m10 + m11
                counts[0, 0] += m00 / s
                counts[0, 1] += m01 / s
                counts[1, 0] += m10 / s
                counts[1, 1] += m11 / s
    return extrinsic.ravel(), posterior.ravel(), counts, sweeps


@jit
def mode_product(X, A):
    """``Y[l, i, r] = sum_k A[i, k] X[l, k, r]``: the mode product along the middle axis.

    ``X`` and ``A`` have the same dtype (float64 or complex128)."""
    left, n, right = X.shape
    m = A.shape[0]
    Y = np.zeros((left, m, right), dtype=X.dtype)
    for l in range(left):
        for i in range(m):
            for k in range(n):
                a = A[i, k]
                if a == 0:
                    continue
                for r in range(right):
                    Y[l, i, r] += a * X[l, k, r]
    return Y


@jit
def digamma(x):
    """The digamma function for ``x > 0``: recurrence up to 6, then the asymptotic series
    (error below 1e-11, relative where ``|digamma(x)| > 1``)."""
    result = 0.0
    while x < 6.0:
        result -= 1.0 / x
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (
        1.0 / 240 - inv2 * (1.0 / 132)))))
    return result + np.log(x) - 0.5 * inv - series


@jit
def precision_update(second, pi_prior, pi_post, a, b, abar, bbar, half, clip):
    """Module A's elementwise updates of Turbo-VBI (see ``_turbo_module_a``).

    From ``E|x_n|^2`` (``second``), the support prior ``pi`` and the previous ``pi~``: the new
    ``E[rho]``, the support evidence ``l1 - l0`` (clipped to ``+-clip``) and its message to
    module B ``nu = 1 / (1 + exp(-evidence))``, the new ``pi~``, and
    the sums the variational bound needs: ``sum h (E ln rho - rho E|x|^2)``,
    ``sum pi~ l1 + (1 - pi~) l0``, ``sum E_q ln p(s)``, and the entropies of ``q(rho)`` and
    ``q(s)``.
    """
    n = second.shape[0]
    rho = np.empty(n)
    evidence = np.empty(n)
    nu = np.empty(n)
    new_post = np.empty(n)
    const1 = a * np.log(b) - math.lgamma(a)
    const0 = abar * np.log(bbar) - math.lgamma(abar)
    s_x = 0.0
    s_rho = 0.0
    s_s = 0.0
    s_ent = 0.0
    for i in range(n):
        p = pi_post[i]
        a_t = p * a + (1.0 - p) * abar + half
        b_t = p * b + (1.0 - p) * bbar + half * second[i]
        r = a_t / b_t
        e_log = digamma(a_t) - np.log(b_t)
        l1 = const1 + (a - 1.0) * e_log - b * r
        l0 = const0 + (abar - 1.0) * e_log - bbar * r
        ev = min(max(l1 - l0, -clip), clip)
        prior = pi_prior[i]
        q = 1.0 / (1.0 + np.exp(-(np.log(prior) - np.log1p(-prior) + ev)))
        rho[i] = r
        evidence[i] = ev
        nu[i] = 1.0 / (1.0 + np.exp(-ev))
        new_post[i] = q
        s_x += half * (e_log - r * second[i])
        s_rho += q * l1 + (1.0 - q) * l0
        s_s += q * np.log(prior) + (1.0 - q) * np.log1p(-prior)
        s_ent += a_t - np.log(b_t) + math.lgamma(a_t) + (1.0 - a_t) * digamma(a_t)
        if 0.0 < q < 1.0:
            s_ent -= q * np.log(q) + (1.0 - q) * np.log1p(-q)
    return rho, evidence, nu, new_post, s_x, s_rho, s_s, s_ent
