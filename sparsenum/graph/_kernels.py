"""Numba kernels of sparsenum.graph: spanning forests, tree path resistances, the similarity
filter of edge recovery, and the random walks of dynamic updates.

Adjacency is passed as ``indptr, indices, edge_ids`` (symmetric CSR whose entries carry the id of
the undirected edge they belong to). All kernels use int64 indices and float64 weights only.
"""

from __future__ import annotations

import heapq

import numpy as np

from sparsenum.utils import jit
from sparsenum.utils.random import splitmix64, uniform01


@jit
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@jit
def kruskal(n, rows, cols, order):
    """Spanning forest taking edges in ``order`` (Kruskal): boolean mask over the edges."""
    parent = np.arange(n)
    keep = np.zeros(rows.shape[0], np.bool_)
    joined = 0
    for k in range(order.shape[0]):
        e = order[k]
        a = _find(parent, rows[e])
        b = _find(parent, cols[e])
        if a != b:
            parent[a] = b
            keep[e] = True
            joined += 1
            if joined == n - 1:
                break
    return keep


@jit
def shifted_dijkstra(n, indptr, indices, lengths, edge_ids, start):
    """Multi-source Dijkstra where node ``v`` starts at time ``start[v]`` (exponential shifts of
    Miller-Peng-Xu clustering): every node joins the cluster that reaches it first.

    Returns each node's cluster centre and the edge id of its shortest-path parent (-1 for
    centres)."""
    dist = np.full(n, np.inf)
    center = np.full(n, -1, np.int64)
    parent_edge = np.full(n, -1, np.int64)
    done = np.zeros(n, np.bool_)
    heap = [(0.0, np.int64(0), np.int64(0), np.int64(0))]
    heap.pop()
    for v in range(n):
        dist[v] = start[v]
        heap.append((start[v], np.int64(v), np.int64(v), np.int64(-1)))
    heapq.heapify(heap)
    while len(heap):
        d, v, c, pe = heapq.heappop(heap)
        if done[v]:
            continue
        done[v] = True
        center[v] = c
        parent_edge[v] = pe
        for k in range(indptr[v], indptr[v + 1]):
            u = indices[k]
            if done[u]:
                continue
            nd = d + lengths[k]
            if nd < dist[u]:
                dist[u] = nd
                heapq.heappush(heap, (nd, u, c, edge_ids[k]))
    return center, parent_edge


@jit
def root_forest(n, indptr, indices, resistances):
    """Root each tree of a forest at its lowest-index node by BFS.

    Returns ``parent`` (-1 at roots), ``depth`` (edges from the root), ``dist`` (resistance from
    the root along the tree) and ``comp`` (the root of each node's tree)."""
    parent = np.full(n, -1, np.int64)
    depth = np.full(n, -1, np.int64)
    dist = np.zeros(n)
    comp = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    for root in range(n):
        if depth[root] >= 0:
            continue
        depth[root] = 0
        comp[root] = root
        head, tail = 0, 1
        queue[0] = root
        while head < tail:
            v = queue[head]
            head += 1
            for k in range(indptr[v], indptr[v + 1]):
                u = indices[k]
                if depth[u] < 0:
                    depth[u] = depth[v] + 1
                    parent[u] = v
                    dist[u] = dist[v] + resistances[k]
                    comp[u] = root
                    queue[tail] = u
                    tail += 1
    return parent, depth, dist, comp


@jit
def lifting_table(parent, depth):
    """Binary-lifting ancestors: ``up[j, v]`` is the ``2**j``-th ancestor of ``v`` (or the root)."""
    n = parent.shape[0]
    levels = 1
    max_depth = depth.max() if n else 0
    while (1 << levels) <= max_depth:
        levels += 1
    up = np.empty((levels, n), np.int64)
    for v in range(n):
        up[0, v] = parent[v] if parent[v] >= 0 else v
    for j in range(1, levels):
        for v in range(n):
            up[j, v] = up[j - 1, up[j - 1, v]]
    return up


@jit
def _lca(up, depth, a, b):
    if depth[a] < depth[b]:
        a, b = b, a
    diff = depth[a] - depth[b]
    j = 0
    while diff:
        if diff & 1:
            a = up[j, a]
        diff >>= 1
        j += 1
    if a == b:
        return a
    for j in range(up.shape[0] - 1, -1, -1):
        if up[j, a] != up[j, b]:
            a = up[j, a]
            b = up[j, b]
    return up[0, a]


@jit
def tree_path_resistance(u, v, up, depth, dist, comp, out, lo, hi):
    """Resistance of the tree path between ``u[k]`` and ``v[k]`` (inf across trees) into
    ``out[k]``, for ``k`` in ``lo .. hi - 1``."""
    for k in range(lo, hi):
        a, b = u[k], v[k]
        if comp[a] != comp[b]:
            out[k] = np.inf
        else:
            c = _lca(up, depth, a, b)
            out[k] = (dist[a] - dist[c]) + (dist[b] - dist[c])


@jit
def _mark_ball(start, hops, indptr, indices, stamp, mark, queue, level):
    """Stamp every node within ``hops`` hops of ``start`` with ``mark``."""
    stamp[start] = mark
    level[start] = 0
    head, tail = 0, 1
    queue[0] = start
    while head < tail:
        v = queue[head]
        head += 1
        if level[v] >= hops:
            continue
        for k in range(indptr[v], indptr[v + 1]):
            u = indices[k]
            if stamp[u] != mark:
                stamp[u] = mark
                level[u] = level[v] + 1
                queue[tail] = u
                tail += 1


@jit
def select_with_filter(candidates, rows, cols, quota, hops, indptr, indices, n):
    """Take up to ``quota`` edges from ``candidates`` (best first), skipping an edge whose two
    endpoints both lie within ``hops`` hops of an edge taken in the same pass: such an edge
    would fix the same eigenmode. Skipped edges are reconsidered in a fresh pass (marks cleared)
    while the quota is not met. Returns the chosen candidates' positions, in order taken."""
    chosen = np.empty(min(quota, candidates.shape[0]), np.int64)
    n_chosen = 0
    taken = np.zeros(candidates.shape[0], np.bool_)
    stamp = np.zeros(n, np.int64)
    level = np.zeros(n, np.int64)
    queue = np.empty(n, np.int64)
    mark = 0
    while n_chosen < chosen.shape[0]:
        mark += 1
        before = n_chosen
        for k in range(candidates.shape[0]):
            if n_chosen == chosen.shape[0]:
                break
            if taken[k]:
                continue
            e = candidates[k]
            p, q = rows[e], cols[e]
            if hops > 0 and stamp[p] == mark and stamp[q] == mark:
                continue
            taken[k] = True
            chosen[n_chosen] = k
            n_chosen += 1
            if hops > 0:
                _mark_ball(p, hops, indptr, indices, stamp, mark, queue, level)
                _mark_ball(q, hops, indptr, indices, stamp, mark, queue, level)
        if n_chosen == before:
            break
    return chosen[:n_chosen]


@jit
def power_scores(rows, cols, weights, h, edges):
    """GRASS's score ``w_pq sum_j (h_pj - h_qj)^2`` of each edge in ``edges``."""
    out = np.empty(edges.shape[0])
    for i in range(edges.shape[0]):
        e = edges[i]
        p, q = rows[e], cols[e]
        total = 0.0
        for j in range(h.shape[1]):
            d = h[p, j] - h[q, j]
            total += d * d
        out[i] = weights[e] * total
    return out


@jit
def mean_ball_sizes(indptr, indices, sample, max_hops):
    """Mean number of nodes within ``h`` hops of the ``sample`` nodes, for h = 0..max_hops."""
    n = indptr.shape[0] - 1
    sizes = np.zeros(max_hops + 1)
    level = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    for s in range(sample.shape[0]):
        start = sample[s]
        level[start] = 0
        head, tail = 0, 1
        queue[0] = start
        while head < tail:
            v = queue[head]
            head += 1
            if level[v] >= max_hops:
                continue
            for k in range(indptr[v], indptr[v + 1]):
                u = indices[k]
                if level[u] < 0:
                    level[u] = level[v] + 1
                    queue[tail] = u
                    tail += 1
        for i in range(tail):
            sizes[level[queue[i]]] += 1.0
            level[queue[i]] = -1
    for h in range(1, max_hops + 1):
        sizes[h] += sizes[h - 1]
    return sizes / max(sample.shape[0], 1)


@jit
def _walk(indptr, indices, weights, weight_sums, edge_ids, source, target, budget, max_steps,
          state, path):
    """One non-backtracking random walk from ``source`` (next edge drawn with probability
    proportional to its weight) until ``target`` is reached, a dead end, ``max_steps`` steps, or
    the path resistance reaching ``budget``. Returns ``(resistance or inf, steps, state)`` and
    the edge ids taken in ``path``."""
    v = source
    previous = -1
    arrived_by = 0.0  # weight of the edge the walker came along (excluded from the next draw)
    resistance = 0.0
    for step in range(max_steps):
        total = weight_sums[v] - arrived_by
        if total <= 1e-12 * weight_sums[v]:
            return np.inf, step, state
        state, u01 = uniform01(state)
        pick = u01 * total
        chosen = -1
        for k in range(indptr[v], indptr[v + 1]):
            if indices[k] != previous:
                chosen = k
                pick -= weights[k]
                if pick <= 0.0:
                    break
        resistance += 1.0 / weights[chosen]
        path[step] = edge_ids[chosen]
        if resistance >= budget:
            return np.inf, step + 1, state
        previous = v
        arrived_by = weights[chosen]
        v = indices[chosen]
        if v == target:
            return resistance, step + 1, state
    return np.inf, max_steps, state


@jit
def row_weight_sums(indptr, weights):
    """Total weight of every node's edges (the walks' transition normalisers)."""
    n = indptr.shape[0] - 1
    sums = np.zeros(n)
    for v in range(n):
        for j in range(indptr[v], indptr[v + 1]):
            sums[v] += weights[j]
    return sums


@jit
def walk_batch(indptr, indices, weights, weight_sums, edge_ids, sources, targets, budgets,
               n_walkers, max_steps, seeds, first_only, best, best_path, best_len, lo, hi):
    """For each pair ``lo .. hi - 1``, ``n_walkers`` walks (stream ``splitmix64`` seeded per
    pair: the same result for any thread count or chunking). Leaves the least path resistance
    found in ``best`` (inf on entry; still inf if no walker arrived within its budget), and
    that path's edge ids and length in ``best_path`` (-1 on entry) and ``best_len``;
    ``first_only`` stops a pair's walkers at the first arrival."""
    path = np.empty(max_steps, np.int64)
    for i in range(lo, hi):
        state, _ = splitmix64(seeds[i])
        for _w in range(n_walkers):
            resistance, steps, state = _walk(indptr, indices, weights, weight_sums, edge_ids,
                                             sources[i],
                                             targets[i], min(budgets[i], best[i]), max_steps,
                                             state, path)
            if resistance < best[i]:
                best[i] = resistance
                best_len[i] = steps
                best_path[i, :steps] = path[:steps]
                if first_only:
                    break
