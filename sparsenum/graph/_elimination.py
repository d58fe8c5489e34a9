"""Partial Cholesky of a graph Laplacian: greedy elimination of the nodes with one or two
neighbours (numba kernels).

Eliminating a node ``v`` of a Laplacian is one step of Gaussian elimination with pivot
``p = sum_u w_vu``; the Schur complement is again a Laplacian: a leaf (one neighbour ``a``)
simply disappears, and a node on a path (neighbours ``a, b``) is replaced by the edge
``(a, b)`` of weight ``w_a w_b / p`` (resistances in series), merged with an existing one.
Neither step creates fill, so a spanning tree plus ``k`` extra edges reduces to a core of
fewer than ``2k`` nodes (every core node keeps three neighbours or more), and a sparse
factorization is only needed for that core. This is the classical reduction behind
tree-preconditioner solvers (Spielman & Teng; Koutis, Miller & Peng); the exact solve is
``forward`` (eliminated nodes in order), the core solve, then ``backward`` (reverse order).

Grounded nodes (``keep``) are never eliminated, so every remaining node stays connected to
its component's grounded node; a node whose neighbours have long adjacency lists (more than
``max_scan`` entries, as a hub's) is kept too, which bounds the work per elimination.
"""

from __future__ import annotations

import numpy as np

from sparsenum.utils import jit


@jit
def _live(nbr, eliminated, k):
    return nbr[k] >= 0 and not eliminated[nbr[k]]


@jit
def _find(indptr, nbr, eliminated, a, target):
    """Slot of ``target`` in ``a``'s adjacency list (-1 if absent)."""
    for k in range(indptr[a], indptr[a + 1]):
        if nbr[k] == target and not eliminated[target]:
            return k
    return -1


@jit
def eliminate(indptr, indices, data, keep, max_scan):
    """Greedy elimination of the nodes with at most two neighbours in the Laplacian given as
    CSR ``(indptr, indices, data)`` (the diagonal and nonnegative entries are ignored; an edge's
    weight is minus its entry).

    Returns ``order`` (eliminated nodes, in order), per eliminated node its ``pivot``, its
    neighbours ``na, nb`` (-1 if none) with weights ``wa, wb`` at elimination, and the
    remaining (core) graph as CSR ``core_indptr, core_indices, core_weights`` over all ``n``
    nodes (rows of eliminated nodes empty)."""
    n = indptr.shape[0] - 1
    nbr = np.full(indices.shape[0], -1, np.int64)
    w = np.zeros(indices.shape[0])
    deg = np.zeros(n, np.int64)
    for v in range(n):
        for k in range(indptr[v], indptr[v + 1]):
            u = indices[k]
            if u != v and data[k] < 0.0:
                nbr[k] = u
                w[k] = -data[k]
                deg[v] += 1
    eliminated = np.zeros(n, np.bool_)
    order = np.empty(n, np.int64)
    pivot = np.empty(n)
    na = np.full(n, -1, np.int64)
    nb = np.full(n, -1, np.int64)
    wa = np.zeros(n)
    wb = np.zeros(n)
    stack = np.empty(3 * n + 1, np.int64)  # a node is pushed at most when its degree drops
    top = 0
    for v in range(n - 1, -1, -1):
        if deg[v] <= 2 and not keep[v]:
            stack[top] = v
            top += 1
    n_elim = 0
    while top > 0:
        top -= 1
        v = stack[top]
        if eliminated[v] or keep[v] or deg[v] == 0 or deg[v] > 2:
            continue
        a = -1
        b = -1
        ka = -1
        kb = -1
        for k in range(indptr[v], indptr[v + 1]):
            if _live(nbr, eliminated, k):
                if a < 0:
                    a, ka = nbr[k], k
                else:
                    b, kb = nbr[k], k
        if b >= 0 and (indptr[a + 1] - indptr[a] > max_scan
                       or indptr[b + 1] - indptr[b] > max_scan):
            continue
        p = w[ka] + (w[kb] if b >= 0 else 0.0)
        eliminated[v] = True
        order[n_elim] = v
        pivot[n_elim] = p
        na[n_elim] = a
        wa[n_elim] = w[ka]
        if b >= 0:
            nb[n_elim] = b
            wb[n_elim] = w[kb]
            w_ab = w[ka] * w[kb] / p
            # v's slots in a's and b's lists (v is now eliminated: search by index)
            sa = -1
            for k in range(indptr[a], indptr[a + 1]):
                if nbr[k] == v:
                    sa = k
            sb = -1
            for k in range(indptr[b], indptr[b + 1]):
                if nbr[k] == v:
                    sb = k
            ab = _find(indptr, nbr, eliminated, a, b)
            if ab >= 0:  # parallel edge: merge, a and b each lose a neighbour
                w[ab] += w_ab
                w[_find(indptr, nbr, eliminated, b, a)] += w_ab
                nbr[sa] = -1
                nbr[sb] = -1
                deg[a] -= 1
                deg[b] -= 1
                for u in (a, b):
                    if deg[u] <= 2 and not keep[u]:
                        stack[top] = u
                        top += 1
            else:  # v's slots now hold the new edge
                nbr[sa] = b
                w[sa] = w_ab
                nbr[sb] = a
                w[sb] = w_ab
        else:
            deg[a] -= 1
            if deg[a] <= 2 and not keep[a]:
                stack[top] = a
                top += 1
        n_elim += 1
    core_indptr = np.zeros(n + 1, np.int64)
    for v in range(n):
        count = 0
        if not eliminated[v]:
            for k in range(indptr[v], indptr[v + 1]):
                if _live(nbr, eliminated, k):
                    count += 1
        core_indptr[v + 1] = core_indptr[v] + count
    core_indices = np.empty(core_indptr[n], np.int64)
    core_weights = np.empty(core_indptr[n])
    for v in range(n):
        if eliminated[v]:
            continue
        j = core_indptr[v]
        for k in range(indptr[v], indptr[v + 1]):
            if _live(nbr, eliminated, k):
                core_indices[j] = nbr[k]
                core_weights[j] = w[k]
                j += 1
    return (order[:n_elim], pivot[:n_elim], na[:n_elim], wa[:n_elim], nb[:n_elim],
            wb[:n_elim], core_indptr, core_indices, core_weights)


@jit
def forward(order, pivot, na, wa, nb, wb, B):
    """Forward elimination of the right-hand sides ``B`` (n x k, in place)."""
    for i in range(order.shape[0]):
        v = order[i]
        ca = wa[i] / pivot[i]
        a = na[i]
        for j in range(B.shape[1]):
            B[a, j] += ca * B[v, j]
        b = nb[i]
        if b >= 0:
            cb = wb[i] / pivot[i]
            for j in range(B.shape[1]):
                B[b, j] += cb * B[v, j]


@jit
def backward(order, pivot, na, wa, nb, wb, B, X):
    """Back substitution: ``X`` holds the core's solution; fills the eliminated rows."""
    for i in range(order.shape[0] - 1, -1, -1):
        v = order[i]
        a = na[i]
        b = nb[i]
        for j in range(B.shape[1]):
            s = B[v, j] + wa[i] * X[a, j]
            if b >= 0:
                s += wb[i] * X[b, j]
            X[v, j] = s / pivot[i]
