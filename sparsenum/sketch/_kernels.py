"""Numba kernels of the sketching module (private).

Every random quantity attached to row ``j`` of ``A`` (CountSketch bucket, sparse-sign rows and
signs, SRHT sign) is a pure function of ``(seed, j)`` computed with SplitMix64, so a block of
rows that starts at global row ``offset`` (a Dask chunk) gets exactly the columns of ``S`` that
the in-memory path uses. Kernels split the rows into ``n_parts`` contiguous ranges, each
accumulating into its own ``m x k`` buffer, so they can run in parallel without write races.
They are compiled serial (``jit``, loops over the parts): with ``jit_parallel`` and ``prange``
the first-call compilation took 3.5x longer (45 s against 13 s on our shared 2-core machine) for
at most a 2x gain there; swapping the decorator and ``range`` for ``prange`` restores it.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ..utils import jit, jit_parallel
from ..utils.random import splitmix64

_ROW_MIX = np.uint64(0xD1B54A32D192ED03)


@jit
def _row_state(seed, row):
    """A uint64 state private to (seed, row): rows get independent SplitMix64 streams."""
    _state, z = splitmix64(np.uint64(seed) ^ (np.uint64(row) * _ROW_MIX))
    return z


@jit
def _bucket(z, m):
    """Map 32 high bits of ``z`` to ``[0, m)`` by multiply-shift (unbiased enough for m < 2**32)."""
    return np.int64(((z >> np.uint64(32)) * np.uint64(m)) >> np.uint64(32))


@jit
def _row_hash(seed, row, nnz, m, rows, signs):
    """Fill ``rows[:nnz]`` with distinct buckets in ``[0, m)`` and ``signs[:nnz]`` with +-1."""
    state = _row_state(seed, row)
    filled = 0
    while filled < nnz:
        state, z = splitmix64(state)
        r = _bucket(z, m)
        fresh = True
        for t in range(filled):
            if rows[t] == r:
                fresh = False
                break
        if fresh:
            rows[filled] = r
            signs[filled] = 1.0 if (z & np.uint64(1)) == np.uint64(0) else -1.0
            filled += 1


@jit
def row_signs(seed, offset, n):
    """Rademacher signs of rows ``offset .. offset + n - 1`` (the SRHT's diagonal D)."""
    out = np.empty(n)
    for i in range(n):
        z = _row_state(seed, offset + i)
        out[i] = 1.0 if (z >> np.uint64(63)) == np.uint64(0) else -1.0
    return out


def _parts(n, n_parts):
    n_parts = max(1, min(n_parts, n))
    return np.linspace(0, n, n_parts + 1).astype(np.int64)


@jit
def _sparse_embed_dense(A, offset, seed, m, nnz, scale, bounds):
    n_parts = bounds.shape[0] - 1
    k = A.shape[1]
    partial = np.zeros((n_parts, m, k))
    for p in range(n_parts):
        rows = np.empty(nnz, dtype=np.int64)
        signs = np.empty(nnz)
        out = partial[p]
        for i in range(bounds[p], bounds[p + 1]):
            _row_hash(seed, offset + i, nnz, m, rows, signs)
            for t in range(nnz):
                r = rows[t]
                s = signs[t] * scale
                for c in range(k):
                    out[r, c] += s * A[i, c]
    result = partial[0].copy()
    for p in range(1, n_parts):
        result += partial[p]
    return result


@jit
def _sparse_embed_csr(indptr, indices, data, k, offset, seed, m, nnz, scale, bounds):
    n_parts = bounds.shape[0] - 1
    partial = np.zeros((n_parts, m, k))
    for p in range(n_parts):
        rows = np.empty(nnz, dtype=np.int64)
        signs = np.empty(nnz)
        out = partial[p]
        for i in range(bounds[p], bounds[p + 1]):
            if indptr[i] == indptr[i + 1]:
                continue
            _row_hash(seed, offset + i, nnz, m, rows, signs)
            for t in range(nnz):
                r = rows[t]
                s = signs[t] * scale
                for jj in range(indptr[i], indptr[i + 1]):
                    out[r, indices[jj]] += s * data[jj]
    result = partial[0].copy()
    for p in range(1, n_parts):
        result += partial[p]
    return result


def sparse_embed_dense(A, offset, seed, m, nnz, n_parts):
    """``S @ A`` for a sparse sign embedding with ``nnz`` entries +-1/sqrt(nnz) per column of S."""
    return _sparse_embed_dense(A, np.int64(offset), np.uint64(seed), np.int64(m), np.int64(nnz),
                               1.0 / np.sqrt(nnz), _parts(A.shape[0], n_parts))


def sparse_embed_csr(A, offset, seed, m, nnz, n_parts):
    """Same as :func:`sparse_embed_dense` for a canonical CSR matrix, touching only nonzeros."""
    return _sparse_embed_csr(A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data,
                             np.int64(A.shape[1]), np.int64(offset), np.uint64(seed),
                             np.int64(m), np.int64(nnz), 1.0 / np.sqrt(nnz),
                             _parts(A.shape[0], n_parts))


@jit
def _popcount_parity(x):
    x = np.uint64(x)
    parity = 0
    while x:
        x &= x - np.uint64(1)
        parity ^= 1
    return parity


@jit
def _srht_wht_dense(A, offset, seed, samples, log_block, tile, part_blocks):
    """Sampled rows of W D A for the Walsh-Hadamard W of size n_pad (Sylvester order).

    The rows of ``A`` are global rows ``offset ..``; global rows are grouped in aligned blocks of
    ``B = 2**log_block`` rows. With k = k1 * B + k2 and j = c * B + j2, W[k, j] factorises as
    (-1)**popcount(k1 & c) * (-1)**popcount(k2 & j2), so sampled row k of W D A is the sum over
    blocks c of +-(W_B D_c A_c)[k2]: each block is transformed in cache (size B) and only the m
    sampled rows are combined across blocks, O(n k log B + (n / B) m k) instead of O(n k log n).
    """
    n, k = A.shape
    B = np.int64(1) << log_block
    m = samples.shape[0]
    n_parts = part_blocks.shape[0] - 1
    partial = np.zeros((n_parts, m, k))
    for p in range(n_parts):
        out = partial[p]
        buf = np.empty((B, tile))
        for c in range(part_blocks[p], part_blocks[p + 1]):
            start = max(c * B, offset)
            stop = min((c + 1) * B, offset + n)
            for c0 in range(0, k, tile):
                width = min(tile, k - c0)
                buf[:, :width] = 0.0
                for g in range(start, stop):
                    z = _row_state(seed, g)
                    sign = 1.0 if (z >> np.uint64(63)) == np.uint64(0) else -1.0
                    row = g - c * B
                    for col in range(width):
                        buf[row, col] = sign * A[g - offset, c0 + col]
                h = np.int64(1)
                while h < B:
                    for i in range(0, B, 2 * h):
                        for j in range(i, i + h):
                            for col in range(width):
                                x = buf[j, col]
                                y = buf[j + h, col]
                                buf[j, col] = x + y
                                buf[j + h, col] = x - y
                    h *= 2
                for s in range(m):
                    kk = samples[s]
                    k1 = kk >> log_block
                    k2 = kk & (B - 1)
                    sgn = -1.0 if _popcount_parity(k1 & c) else 1.0
                    for col in range(width):
                        out[s, c0 + col] += sgn * buf[k2, col]
    result = partial[0].copy()
    for p in range(1, n_parts):
        result += partial[p]
    return result


def srht_wht_dense(A, offset, seed, samples, log_block, n_parts):
    """Unscaled sampled rows ``(W D A)[samples]`` of a dense row block starting at ``offset``."""
    n, k = A.shape
    B = 1 << log_block
    first = offset >> log_block
    last = (offset + n - 1) >> log_block
    blocks = np.linspace(first, last + 1, max(1, min(n_parts, last + 1 - first)) + 1)
    tile = int(max(1, min(k, (1 << 15) // B)))  # keep the B x tile buffer near 256 KiB
    return _srht_wht_dense(A, np.int64(offset), np.uint64(seed), samples.astype(np.int64),
                           np.int64(log_block), np.int64(tile), blocks.astype(np.int64))


# Row chunks of the fused passes: fixed, so partial sums and results do not depend on the number
# of threads that runs them.
FUSED_CHUNKS = 16


@jit_parallel(fastmath=True)
def affine_and_gram(A, v, b, beta, out, partial):
    """``out = beta b + A v`` and ``partial.sum(0) = A^T out`` in one pass over a C-ordered ``A``.

    Tall least-squares iterations are bound by memory traffic: reading ``A`` once instead of
    twice (two BLAS matrix-vector products) nearly halves the cost of an iteration. With
    ``beta = 0`` (``b`` is then not read) this is ``A p`` and ``A^T A p``; with ``v = -x`` and
    ``beta = 1`` the residual ``b - A x`` and ``A^T r``. Each of the ``len(partial)`` row chunks
    accumulates its own row of ``partial``.
    """
    n, d = A.shape
    chunks = partial.shape[0]
    for c in prange(chunks):
        h = partial[c]
        h[:] = 0.0
        for i in range(c * n // chunks, (c + 1) * n // chunks):
            a = A[i]
            t = 0.0
            for j in range(d):
                t += a[j] * v[j]
            if beta != 0.0:
                t += beta * b[i]
            out[i] = t
            for j in range(d):
                h[j] += t * a[j]
