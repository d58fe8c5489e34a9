"""Numba kernels choosing a node's neighbours: the selection heuristic of Malkov & Yashunin
(Algorithm 4) and the addition of a reverse link, which re-prunes a full list with it.

These two take the graph's arrays one by one rather than as a :data:`~._graph.Graph`: they run
once per link made (tens per inserted node), and reading the arrays out of the named tuple in
each call made numba count references to them there (about twice the atomic reference-count
operations of _add_link, measured in its LLVM IR), which showed in the build time. Their callers
read the fields once, outside their loops."""

from __future__ import annotations

import numpy as np

from ..utils import jit
from ._graph import _FASTMATH, L2, _pair_distance


@jit(fastmath=_FASTMATH)
def _select_heuristic(cand_ids, cand_dist, n_cand, m, data, scale, metric, out, kept):
    """The paper's heuristic (Algorithm 4, no refill): scan candidates nearest first and keep one
    only if it is closer to the base than to every neighbour already kept. ``cand_*`` must be
    sorted ascending. ``out[1:kept + 1]`` are neighbours kept beforehand. Writes the kept ids to
    ``out[1:]`` and their count to ``out[0]``."""
    is_l2 = metric == L2
    for c in range(n_cand):
        if kept == m:
            break
        e = cand_ids[c]
        good = True
        for k in range(kept):
            o = out[1 + k]
            if _pair_distance(data, e, scale[e], o, scale[o], is_l2) < cand_dist[c]:
                good = False
                break
        if good:
            out[1 + kept] = e
            kept += 1
    out[0] = kept
    return kept


@jit(inline="always")
def _sort_pairs(keys, ids, n):
    """Insertion sort of the first ``n`` (key, id) pairs by key, stable (n is small: at most
    2M + 1, or a batch's nodes nearer than a search's ef-th result)."""
    for a in range(1, n):
        k = keys[a]
        i = ids[a]
        b = a - 1
        while b >= 0 and keys[b] > k:
            keys[b + 1] = keys[b]
            ids[b + 1] = ids[b]
            b -= 1
        keys[b + 1] = k
        ids[b + 1] = i


@jit(fastmath=_FASTMATH)
def _add_link(node, new, layer, mmax, data, scale, metric, links0, upper, upper_off, tmp_d,
              tmp_i):
    """Link ``node -> new`` on ``layer``; a full list is re-pruned with the heuristic."""
    row = links0[node] if layer == 0 else upper[upper_off[node] + layer - 1]  # as _graph._row
    count = row[0]
    for j in range(1, count + 1):
        if row[j] == new:
            return
    if count < mmax:
        row[count + 1] = new
        row[0] = count + 1
        return
    sn = scale[node]
    is_l2 = metric == L2
    for j in range(count):
        o = row[j + 1]
        tmp_i[j] = o
        tmp_d[j] = _pair_distance(data, node, sn, o, scale[o], is_l2)
    tmp_i[count] = new
    tmp_d[count] = _pair_distance(data, node, sn, new, scale[new], is_l2)
    _sort_pairs(tmp_d, tmp_i, count + 1)
    _select_heuristic(tmp_i, tmp_d, count + 1, mmax, data, scale, metric, row, np.int64(0))
