"""Numba kernels of the privacy module (private): the users' randomisers.

Every random number a user draws comes from a SplitMix64 stream private to (seed, user index),
so a user's message is the same whichever thread, chunk or batch handles it. Kernels that sum
messages split the users into ``n_chunks`` contiguous ranges (a number fixed by the sizes, never
by the thread count), sum each range in order into its own buffer and leave the final sum over
buffers to the caller: the total is then bitwise identical for any ``n_jobs``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from sparsenum.utils import jit, jit_parallel
from sparsenum.utils.random import splitmix64, uniform01

_USER_MIX = np.uint64(0xD1B54A32D192ED03)
# chunks of users summed separately; enough to balance a few dozen threads, few enough that the
# d(d+1)/2-long NLDP buffers stay small
N_CHUNKS = 64


@jit
def user_state(seed, user):
    """A uint64 state private to (seed, user): users get independent SplitMix64 streams."""
    _state, z = splitmix64(np.uint64(seed) ^ (np.uint64(user) * _USER_MIX))
    return z


@jit
def _uniform_pm1(state):
    state, u = uniform01(state)
    return state, 2.0 * u - 1.0


@jit
def fill_normals(state, out, n):
    """``out[:n]`` <- standard normals (Marsaglia's polar method, both draws used)."""
    i = 0
    while i < n:
        state, a = _uniform_pm1(state)
        state, b = _uniform_pm1(state)
        s = a * a + b * b
        if s >= 1.0 or s == 0.0:
            continue
        f = math.sqrt(-2.0 * math.log(s) / s)
        out[i] = a * f
        if i + 1 < n:
            out[i + 1] = b * f
        i += 2
    return state


@jit
def laplace(state, scale):
    """One Laplace(0, scale) draw by inversion."""
    state, u = uniform01(state)
    if u < 0.5:
        return state, scale * math.log(2.0 * u)
    return state, -scale * math.log(2.0 - 2.0 * u)


@jit
def duchi_row(v, radius, big_radius, keep_prob, state, gauss, out):
    """Duchi, Jordan and Wainwright's l2-ball randomiser of one vector ``v`` into ``out``.

    ``v`` is clipped to norm ``radius``, rounded to ``+-radius v/||v||`` (``+`` with probability
    ``1/2 + ||v||/(2 radius)``), and ``out`` is a uniform point of the sphere of radius
    ``big_radius`` in the half-space agreeing with the rounded vector with probability
    ``keep_prob = e^eps/(e^eps+1)``. A direction drawn from any symmetric law and flipped into
    the chosen hemisphere has a density ratio of at most ``keep_prob/(1-keep_prob)`` between
    two inputs; Gaussian directions make it uniform, hence unbiased. Returns
    ``(state, clipped)``.
    """
    d = v.shape[0]
    norm = 0.0
    for j in range(d):
        norm += v[j] * v[j]
    norm = math.sqrt(norm)
    clipped = norm > radius
    kept = radius if clipped else norm
    state, u = uniform01(state)
    sign = 1.0 if u < 0.5 + 0.5 * kept / radius else -1.0
    state = fill_normals(state, gauss, d)
    dot = 0.0
    gnorm = 0.0
    if norm > 0.0:
        for j in range(d):
            dot += gauss[j] * v[j]
            gnorm += gauss[j] * gauss[j]
        dot *= sign
    else:  # v = 0: any unit vector rounds it without bias (both signs equally likely)
        for j in range(d):
            gnorm += gauss[j] * gauss[j]
        dot = sign * gauss[0]
    state, u = uniform01(state)
    agree = u < keep_prob
    flip = (dot >= 0.0) != agree
    scale = big_radius / math.sqrt(gnorm)
    if flip:
        scale = -scale
    for j in range(d):
        out[j] = scale * gauss[j]
    return state, clipped


@jit_parallel
def duchi_rows(G, radius, big_radius, keep_prob, seed, noise):
    """Each row of ``G`` randomised by its user (row index = user); ``noise=False`` clips only."""
    n, d = G.shape
    out = np.empty((n, d))
    clipped = np.zeros(n, dtype=np.bool_)
    for c in prange(N_CHUNKS):
        gauss = np.empty(d)
        for i in range(c * n // N_CHUNKS, (c + 1) * n // N_CHUNKS):
            if noise:
                _state, was_clipped = duchi_row(G[i], radius, big_radius, keep_prob,
                                                user_state(seed, i), gauss, out[i])
            else:
                was_clipped = _clip_copy(G[i], radius, out[i])
            clipped[i] = was_clipped
    return out, clipped


@jit
def _clip_copy(v, radius, out):
    norm = math.sqrt(np.sum(v * v))
    scale = radius / norm if norm > radius else 1.0
    for j in range(v.shape[0]):
        out[j] = scale * v[j]
    return norm > radius


@jit_parallel
def iht_round(X, y, users, theta, radius, big_radius, keep_prob, seed, noise):
    """Sum of the messages of ``users`` in one LDP-IHT round, per chunk of users.

    User ``i`` computes its gradient ``x_i (<x_i, theta> - y_i)`` and sends its randomisation
    (or, with ``noise=False``, the clipped gradient). Returns the ``(N_CHUNKS, d)`` partial sums
    and the number of clipped gradients per chunk (a simulation-only diagnostic).
    """
    m = users.shape[0]
    d = X.shape[1]
    sums = np.zeros((N_CHUNKS, d))
    n_clipped = np.zeros(N_CHUNKS, dtype=np.int64)
    for c in prange(N_CHUNKS):
        grad = np.empty(d)
        gauss = np.empty(d)
        message = np.empty(d)
        acc = sums[c]
        for t in range(c * m // N_CHUNKS, (c + 1) * m // N_CHUNKS):
            i = users[t]
            residual = -y[i]
            for j in range(d):
                residual += X[i, j] * theta[j]
            for j in range(d):
                grad[j] = residual * X[i, j]
            if noise:
                _state, clipped = duchi_row(grad, radius, big_radius, keep_prob,
                                            user_state(seed, i), gauss, message)
            else:
                clipped = _clip_copy(grad, radius, message)
            n_clipped[c] += clipped
            for j in range(d):
                acc[j] += message[j]
    return sums, n_clipped


@jit
def _user_noise(state, laplace_noise, n_cov, cov_scale, n_xy, xy_scale, cov_out, xy_out):
    """One user's noise: ``n_cov`` entries for the covariance message, then ``n_xy``."""
    if laplace_noise:
        for j in range(n_cov):
            state, cov_out[j] = laplace(state, cov_scale)
        for j in range(n_xy):
            state, xy_out[j] = laplace(state, xy_scale)
    else:
        state = fill_normals(state, cov_out, n_cov)
        state = fill_normals(state, xy_out, n_xy)
        for j in range(n_cov):
            cov_out[j] *= cov_scale
        for j in range(n_xy):
            xy_out[j] *= xy_scale
    return state


@jit_parallel
def nldp_messages(Xc, yc, seed, laplace_noise, with_cov, cov_scale, xy_scale):
    """Every user's NLDP message: the upper triangle of ``x x^T`` (row-major, ``i <= j``) and
    ``x y``, each plus its noise. ``Xc``, ``yc`` are already clipped."""
    n, d = Xc.shape
    n_cov = d * (d + 1) // 2 if with_cov else 0
    cov = np.empty((n, n_cov))
    xy = np.empty((n, d))
    for c in prange(N_CHUNKS):
        for i in range(c * n // N_CHUNKS, (c + 1) * n // N_CHUNKS):
            _user_noise(user_state(seed, i), laplace_noise, n_cov, cov_scale, d, xy_scale,
                        cov[i], xy[i])
            k = 0
            for a in range(d if with_cov else 0):
                for b in range(a, d):
                    cov[i, k] += Xc[i, a] * Xc[i, b]
                    k += 1
            for a in range(d):
                xy[i, a] += Xc[i, a] * yc[i]
    return cov, xy


@jit_parallel
def nldp_noise_sums(n, d, seed, laplace_noise, with_cov, cov_scale, xy_scale):
    """The sums over users ``0..n-1`` of the noise they add (drawn from the same per-user
    streams as :func:`nldp_messages`), per chunk of users; the clean sums come from BLAS."""
    n_cov = d * (d + 1) // 2 if with_cov else 0
    cov = np.zeros((N_CHUNKS, n_cov))
    xy = np.zeros((N_CHUNKS, d))
    for c in prange(N_CHUNKS):
        cov_noise = np.empty(n_cov)
        xy_noise = np.empty(d)
        cov_acc = cov[c]
        xy_acc = xy[c]
        for i in range(c * n // N_CHUNKS, (c + 1) * n // N_CHUNKS):
            _user_noise(user_state(seed, i), laplace_noise, n_cov, cov_scale, d, xy_scale,
                        cov_noise, xy_noise)
            for j in range(n_cov):
                cov_acc[j] += cov_noise[j]
            for j in range(d):
                xy_acc[j] += xy_noise[j]
    return cov, xy
