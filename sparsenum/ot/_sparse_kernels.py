"""Numba kernels of sparsity-constrained OT: per-column top-k objective and gradient.

Columns are independent, so each kernel runs ``prange`` over the columns of ``Ct = C.T``
(contiguous rows) and writes the column's at most ``k`` nonzeros into ``idx[j], val[j]``; the
caller reduces them into row sums. Top-k selection keeps a small sorted buffer (O(n k)) for small
``k`` and a heap of the ``k`` best otherwise.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ..utils import jit, jit_parallel
from ._sorting import largest_k

_SMALL_K = 24


@jit
def _top_k(alpha, shift, c, k, idx, top):
    """Indices and values of the ``k`` largest entries of ``x = (alpha + shift) - c``, in
    decreasing order (``x`` is formed entry by entry: no temporary array per column)."""
    n = alpha.shape[0]
    if k > _SMALL_K:
        x = np.empty(n)
        for i in range(n):
            x[i] = (alpha[i] + shift) - c[i]
        largest_k(x, k, idx, top)
        return
    filled = 0
    for i in range(n):
        xi = (alpha[i] + shift) - c[i]
        if filled == k and xi <= top[k - 1]:
            continue
        pos = filled if filled < k else k - 1
        while pos > 0 and top[pos - 1] < xi:
            if pos < k:
                top[pos] = top[pos - 1]
                idx[pos] = idx[pos - 1]
            pos -= 1
        top[pos] = xi
        idx[pos] = i
        if filled < k:
            filled += 1


@jit_parallel
def semi_dual_columns(alpha, b, Ct, gamma, k, idx, val, column_value, theta):
    """Semi-dual terms: ``t_j = b_j P_k((alpha - c_j) / (gamma b_j))`` for every column.

    ``column_value[j] = <alpha - c_j, t_j> - gamma/2 ||t_j||^2``; ``theta[j]`` is the simplex
    threshold in the units of the potentials, so ``t_ij = [alpha_i - c_ij - theta_j]_+ / gamma``
    on the top-k (the projection of ``x / s`` onto the simplex is that of ``x`` onto the
    simplex scaled by ``s = gamma b_j``: nothing is divided by ``gamma b_j``, which may
    underflow).
    """
    m = Ct.shape[0]
    for j in prange(m):
        budget = gamma * b[j]
        top = np.empty(k)
        sel = np.empty(k, dtype=np.int64)
        _top_k(alpha, 0.0, Ct[j], k, sel, top)
        # projection of the k largest onto {t >= 0, sum t = budget}: theta from sorted values
        cumsum = 0.0
        th = 0.0
        for r in range(k):
            cumsum += top[r]
            cand = (cumsum - budget) / (r + 1)
            if top[r] - cand > 0.0:
                th = cand
        value = 0.0
        for r in range(k):
            p = top[r] - th
            if p < 0.0:
                p = 0.0
            t = p / gamma
            idx[j, r] = sel[r]
            val[j, r] = t
            value += top[r] * t - 0.5 * gamma * t * t  # top[r] = alpha_i - c_ij
        column_value[j] = value
        theta[j] = th


@jit_parallel
def dual_columns(alpha, beta, Ct, gamma, k, idx, val, column_value):
    """Dual terms: ``Omega*(alpha + beta_j - c_j) = sum_topk [.]_+^2 / (2 gamma)`` per column."""
    m = Ct.shape[0]
    for j in prange(m):
        top = np.empty(k)
        sel = np.empty(k, dtype=np.int64)
        _top_k(alpha, beta[j], Ct[j], k, sel, top)
        value = 0.0
        for r in range(k):
            p = top[r] if top[r] > 0.0 else 0.0
            t = p / gamma
            idx[j, r] = sel[r]
            val[j, r] = t
            value += t * p  # p^2 / gamma without squaring p (which may overflow)
        column_value[j] = 0.5 * value


@jit
def row_sums(idx, val, n):
    out = np.zeros(n)
    m, k = idx.shape
    for j in range(m):
        for r in range(k):
            out[idx[j, r]] += val[j, r]
    return out


# Serial twins for small problems: a parallel region costs a thread wake-up per call, which
# dominates an evaluation of a few thousand entries (and grows badly on a loaded machine).
_semi_dual_columns_serial = jit(semi_dual_columns.py_func)
_dual_columns_serial = jit(dual_columns.py_func)
PARALLEL_MIN_SIZE = 250_000


def semi_dual(alpha, b, Ct, gamma, k, idx, val, column_value, theta):
    fn = semi_dual_columns if Ct.size >= PARALLEL_MIN_SIZE else _semi_dual_columns_serial
    fn(alpha, b, Ct, gamma, k, idx, val, column_value, theta)


def dual(alpha, beta, Ct, gamma, k, idx, val, column_value):
    fn = dual_columns if Ct.size >= PARALLEL_MIN_SIZE else _dual_columns_serial
    fn(alpha, beta, Ct, gamma, k, idx, val, column_value)
