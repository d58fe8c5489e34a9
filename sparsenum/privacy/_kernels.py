"""Numba kernels of the privacy module (private): the users' randomisers.

The kernels are compiled serial and take a range of the ``N_CHUNKS`` chunks of users; the callers
run them on Python threads (:func:`sparsenum.utils._threads.run_split`), which costs a fraction
of the compilation of numba's parallel loops on a user's first call.

Every random number a user draws comes from a SplitMix64 stream private to (seed, user index),
so a user's message is the same whichever thread, chunk or batch handles it. Kernels that sum
messages split the users into ``n_chunks`` contiguous ranges (a number fixed by the sizes, never
by the thread count), sum each range in order into its own buffer and leave the final sum over
buffers to the caller: the total is then bitwise identical for any ``n_jobs``.
"""

from __future__ import annotations

import math

import numpy as np

from sparsenum.utils import jit
from sparsenum.utils.random import splitmix64, uniform01

from ._normal import fill_normals
from ._prefetch import prefetch_row

_USER_MIX = np.uint64(0xD1B54A32D192ED03)
# chunks of users summed separately; enough to balance a few dozen threads, few enough that the
# d(d+1)/2-long NLDP buffers stay small
N_CHUNKS = 64
# LDP-IHT users whose rows are requested ahead of use: enough to cover a memory latency
PREFETCH_USERS = 8


@jit
def user_state(seed, user):
    """A uint64 state private to (seed, user): users get independent SplitMix64 streams."""
    _state, z = splitmix64(np.uint64(seed) ^ (np.uint64(user) * _USER_MIX))
    return z


@jit
def laplace(state, scale):
    """One Laplace(0, scale) draw by inversion."""
    state, u = uniform01(state)
    if u < 0.5:
        return state, scale * math.log(2.0 * u)
    return state, -scale * math.log(2.0 - 2.0 * u)


@jit(inline="always")  # inlined at numba IR level: as a call it costs as much as its draws
def duchi_message(state, X, i, coef, norm, radius, big_radius, keep_prob, zig, gauss):
    """Duchi, Jordan and Wainwright's l2-ball randomiser of ``v = coef * X[i]``
    (``norm = ||v||``).

    ``v`` is clipped to norm ``radius``, rounded to ``+-radius v/||v||`` (``+`` with probability
    ``1/2 + ||v||/(2 radius)``), and the message is a uniform point of the sphere of radius
    ``big_radius`` in the half-space agreeing with the rounded vector with probability
    ``keep_prob = e^eps/(e^eps+1)``. A direction drawn from any symmetric law and flipped into
    the chosen hemisphere has a density ratio of at most ``keep_prob/(1-keep_prob)`` between
    two inputs; Gaussian directions make it uniform, hence unbiased. The Gaussian direction is
    left in ``gauss`` and the message is ``scale * gauss``; returns ``(state, scale)``. Taking
    ``v`` as a multiple of a row lets a user randomise its gradient without forming it.
    """
    d = X.shape[1]
    kept = radius if norm > radius else norm
    state, u = uniform01(state)
    sign = 1.0 if u < 0.5 + 0.5 * kept / radius else -1.0
    # drawing in its own loop keeps the sampler's loop tight (fusing the sums into it is slower)
    state = fill_normals(state, gauss, d, zig)
    dot = 0.0
    gnorm = 0.0
    for j in range(d):
        dot += gauss[j] * X[i, j]
        gnorm += gauss[j] * gauss[j]
    if norm > 0.0:
        dot *= sign * coef
    else:  # v = 0: any unit vector rounds it without bias (both signs equally likely)
        dot = sign * gauss[0]
    state, u = uniform01(state)
    agree = u < keep_prob
    scale = big_radius / math.sqrt(gnorm)
    if (dot >= 0.0) != agree:
        scale = -scale
    return state, scale


@jit(inline="always")
def _row_norm(G, i):
    total = 0.0
    for j in range(G.shape[1]):
        total += G[i, j] * G[i, j]
    return math.sqrt(total)


@jit
def duchi_rows(G, radius, big_radius, keep_prob, seed, noise, zig, out, clipped, lo, hi):
    """Rows of chunks ``lo .. hi - 1`` of ``G`` randomised by their user (row index = user)
    into ``out``; ``noise=False`` clips only."""
    n, d = G.shape
    gauss = np.empty(d)
    for c in range(lo, hi):
        for i in range(c * n // N_CHUNKS, (c + 1) * n // N_CHUNKS):
            norm = _row_norm(G, i)
            if noise:
                _state, scale = duchi_message(user_state(seed, i), G, i, 1.0, norm, radius,
                                              big_radius, keep_prob, zig, gauss)
                for j in range(d):
                    out[i, j] = scale * gauss[j]
            else:
                scale = radius / norm if norm > radius else 1.0
                for j in range(d):
                    out[i, j] = scale * G[i, j]
            clipped[i] = norm > radius


@jit
def iht_round(X, y, users, theta, radius, big_radius, keep_prob, seed, noise, zig, sums,
              n_clipped, lo, hi):
    """Sums of the messages of ``users`` in one LDP-IHT round, for chunks ``lo .. hi - 1`` of
    the users.

    User ``i`` computes its gradient ``x_i (<x_i, theta> - y_i)`` and sends its randomisation
    (or, with ``noise=False``, the clipped gradient). Chunk ``c`` adds its sum into ``sums[c]``
    (``(N_CHUNKS, d)``, zeros on entry) and its number of clipped gradients (a simulation-only
    diagnostic) into ``n_clipped[c]``. ``users`` in increasing order read ``X`` front to back.
    """
    m = users.shape[0]
    d = X.shape[1]
    gauss = np.empty(d)
    for c in range(lo, hi):
        acc = sums[c]
        end = (c + 1) * m // N_CHUNKS
        for t in range(c * m // N_CHUNKS, end):
            if t + PREFETCH_USERS < end:
                prefetch_row(X, users[t + PREFETCH_USERS])
            i = users[t]
            residual = -y[i]
            sq = 0.0
            for j in range(d):
                residual += X[i, j] * theta[j]
                sq += X[i, j] * X[i, j]
            norm = abs(residual) * math.sqrt(sq)  # ||g_i|| for g_i = residual * x_i
            n_clipped[c] += norm > radius
            if noise:
                _state, scale = duchi_message(user_state(seed, i), X, i, residual, norm, radius,
                                              big_radius, keep_prob, zig, gauss)
                for j in range(d):
                    acc[j] += scale * gauss[j]
            else:
                scale = residual * (radius / norm if norm > radius else 1.0)
                for j in range(d):
                    acc[j] += scale * X[i, j]


@jit
def users_by_round(order, sizes):
    """Users grouped by round, increasing within a round: round ``t`` holds the users of
    ``order[sizes[:t].sum() : sizes[:t + 1].sum()]`` (a counting sort, linear in ``n``)."""
    n = order.shape[0]
    rounds = np.empty(n, dtype=np.int64)
    next_slot = np.empty(sizes.shape[0], dtype=np.int64)
    start = 0
    for t in range(sizes.shape[0]):
        next_slot[t] = start
        for p in range(start, start + sizes[t]):
            rounds[order[p]] = t
        start += sizes[t]
    users = np.empty(n, dtype=np.int64)
    for i in range(n):
        users[next_slot[rounds[i]]] = i
        next_slot[rounds[i]] += 1
    return users


@jit
def _user_noise(state, laplace_noise, n_cov, cov_scale, n_xy, xy_scale, zig, cov_out, xy_out):
    """One user's noise: ``n_cov`` entries for the covariance message, then ``n_xy``."""
    if laplace_noise:
        for j in range(n_cov):
            state, cov_out[j] = laplace(state, cov_scale)
        for j in range(n_xy):
            state, xy_out[j] = laplace(state, xy_scale)
    else:
        state = fill_normals(state, cov_out, n_cov, zig)
        state = fill_normals(state, xy_out, n_xy, zig)
        for j in range(n_cov):
            cov_out[j] *= cov_scale
        for j in range(n_xy):
            xy_out[j] *= xy_scale
    return state


@jit
def nldp_messages(Xc, yc, seed, laplace_noise, with_cov, cov_scale, xy_scale, zig, aggregate,
                  cov, xy, lo, hi):
    """The NLDP messages of the users of chunks ``lo .. hi - 1``: the upper triangle of ``x
    x^T`` (row-major, ``i <= j``) and ``x y``, each plus its noise, into rows of ``cov`` and
    ``xy`` (one per user). ``Xc``, ``yc`` are already clipped.

    With ``aggregate`` only the sums over users of the noise they add are formed, chunk ``c``
    into ``cov[c]`` and ``xy[c]`` (zeros on entry; the clean sums come from BLAS); the draws are
    the same per-user streams. One kernel serves both: each kernel costs compilation on a
    user's first call.
    """
    n, d = Xc.shape
    n_cov = d * (d + 1) // 2 if with_cov else 0
    cov_noise = np.empty(n_cov if aggregate else 0)
    xy_noise = np.empty(d if aggregate else 0)
    for c in range(lo, hi):
        for i in range(c * n // N_CHUNKS, (c + 1) * n // N_CHUNKS):
            if aggregate:
                _user_noise(user_state(seed, i), laplace_noise, n_cov, cov_scale, d, xy_scale,
                            zig, cov_noise, xy_noise)
                for j in range(n_cov):
                    cov[c, j] += cov_noise[j]
                for j in range(d):
                    xy[c, j] += xy_noise[j]
                continue
            _user_noise(user_state(seed, i), laplace_noise, n_cov, cov_scale, d, xy_scale, zig,
                        cov[i], xy[i])
            k = 0
            for a in range(d if with_cov else 0):
                for b in range(a, d):
                    cov[i, k] += Xc[i, a] * Xc[i, b]
                    k += 1
            for a in range(d):
                xy[i, a] += Xc[i, a] * yc[i]
