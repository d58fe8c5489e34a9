"""Numba kernels of the block coordinate descent module (private).

* ``quadratic_l1_cd``: coordinate descent on ``1/2 w'Hw - q'w + lam ||w||_1`` with ``Hw`` kept up to
  date, cyclic or Gauss-Southwell-r (greedy, affordable because the gradient ``Hw - q`` is kept
  incrementally). Used for proximal block updates.
* ``forest_solve``: solves ``Q_bb d = rhs`` in O(|b|) when the graph of ``Q_bb`` is a forest
  (leaves-to-root elimination, then root-to-leaves substitution: Gaussian belief propagation).
* ``greedy_forest``: grows a block in a given priority order, keeping its induced graph a forest.
"""

from __future__ import annotations

import numpy as np

from sparsenum.utils import jit

# reassociation lets LLVM vectorise the kernels' dot products (SIMD partial sums); no other
# fast-math flag, so NaN / inf semantics stay IEEE
_REASSOC = {"reassoc", "contract"}


@jit
def _l1(w):
    s = 0.0
    for j in range(w.shape[0]):
        s += abs(w[j])
    return s


@jit
def _soft(x, t):
    if x > t:
        return x - t
    if x < -t:
        return x + t
    return 0.0


@jit
def _prox(x, t, nonneg):
    v = _soft(x, t)
    if nonneg and v < 0.0:
        return 0.0
    return v


@jit
def quadratic_l1_cd(H, q, w, Hw, lam, nonneg, greedy, max_updates, tol):
    """Minimise ``1/2 w'Hw - q'w + lam ||w||_1`` (``w >= 0`` if ``nonneg``) in place.

    ``Hw`` must equal ``H @ w`` on entry and is kept equal. Stops when the largest coordinate
    step of a full pass (cyclic) or the largest candidate step (greedy) is below ``tol``.
    Returns the number of coordinate updates.
    """
    m = w.shape[0]
    updates = 0
    if m == 0:
        return 0
    while updates < max_updates:
        if greedy:
            best = -1
            best_step = 0.0
            for j in range(m):
                hjj = H[j, j]
                if hjj <= 0.0:
                    continue
                new = _prox(w[j] + (q[j] - Hw[j]) / hjj, lam / hjj, nonneg)
                step = abs(new - w[j]) * np.sqrt(hjj)
                if step > best_step:
                    best_step = step
                    best = j
            if best < 0 or best_step <= tol:
                return updates
            hjj = H[best, best]
            new = _prox(w[best] + (q[best] - Hw[best]) / hjj, lam / hjj, nonneg)
            delta = new - w[best]
            w[best] = new
            for i in range(m):
                Hw[i] += H[i, best] * delta
            updates += 1
        else:
            biggest = 0.0
            for j in range(m):
                hjj = H[j, j]
                if hjj <= 0.0:
                    continue
                new = _prox(w[j] + (q[j] - Hw[j]) / hjj, lam / hjj, nonneg)
                delta = new - w[j]
                if delta != 0.0:
                    w[j] = new
                    for i in range(m):
                        Hw[i] += H[i, j] * delta
                    step = abs(delta) * np.sqrt(hjj)
                    if step > biggest:
                        biggest = step
                updates += 1
            if biggest <= tol:
                return updates
    return updates


@jit
def forest_solve(indptr, indices, data, block, rhs, local):
    """Solve ``Q[block][:, block] d = rhs`` when that submatrix's graph is a forest.

    ``Q`` is symmetric CSR (``indptr, indices, data``) with its diagonal stored; ``local`` is a
    work array of length ``Q.shape[0]`` filled with -1 (restored on exit). One elimination pass from
    the leaves to the roots and one substitution pass back: O(|b| + edges of the block's rows).
    Returns ``d`` or raises if the block holds a cycle (detected as a revisited node).
    """
    m = block.shape[0]
    for k in range(m):
        local[block[k]] = k
    diag = np.zeros(m)
    for k in range(m):
        u = block[k]
        for p in range(indptr[u], indptr[u + 1]):
            if indices[p] == u:
                diag[k] += data[p]
    parent = np.full(m, -1, dtype=np.int64)
    parent_w = np.zeros(m)
    order = np.empty(m, dtype=np.int64)
    seen = np.zeros(m, dtype=np.bool_)
    head = 0
    tail = 0
    cycle = False
    for root in range(m):
        if seen[root]:
            continue
        seen[root] = True
        order[tail] = root
        tail += 1
        while head < tail:
            k = order[head]
            head += 1
            u = block[k]
            for p in range(indptr[u], indptr[u + 1]):
                v = indices[p]
                kv = local[v]
                if kv < 0 or v == u or kv == parent[k]:
                    continue
                if seen[kv]:
                    cycle = True
                    continue
                seen[kv] = True
                parent[kv] = k
                parent_w[kv] = data[p]
                order[tail] = kv
                tail += 1
    for k in range(m):
        local[block[k]] = -1
    d = rhs.copy()
    if cycle:
        d[:] = np.nan
        return d
    # eliminate leaves first: reverse BFS order visits children before parents
    for t in range(m - 1, -1, -1):
        k = order[t]
        pk = parent[k]
        if pk >= 0:
            factor = parent_w[k] / diag[k]
            diag[pk] -= factor * parent_w[k]
            d[pk] -= factor * d[k]
    for t in range(m):
        k = order[t]
        pk = parent[k]
        if pk >= 0:
            d[k] = (d[k] - parent_w[k] * d[pk]) / diag[k]
        else:
            d[k] = d[k] / diag[k]
    return d


@jit
def _find(uf, a):
    while uf[a] != a:
        uf[a] = uf[uf[a]]
        a = uf[a]
    return a


@jit
def greedy_forest(indptr, indices, priority, max_size, uf, in_block):
    """Grow a block by ``priority`` order, skipping nodes that would close a cycle.

    ``uf`` (union-find parents, ``uf[i] == i``) and ``in_block`` (all False) are work arrays of
    length ``n_nodes``, restored on exit. A node may join if its neighbours already in the block
    lie in distinct trees; it then links those trees. Returns the block (node ids).
    """
    chosen = np.empty(max_size, dtype=np.int64)
    size = 0
    roots = np.empty(64, dtype=np.int64)
    for t in range(priority.shape[0]):
        if size >= max_size:
            break
        u = priority[t]
        n_roots = 0
        ok = True
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            if v == u or not in_block[v]:
                continue
            rv = _find(uf, v)
            for s in range(n_roots):
                if roots[s] == rv:
                    ok = False
                    break
            if not ok:
                break
            if n_roots == roots.shape[0]:
                bigger = np.empty(2 * n_roots, dtype=np.int64)
                for s in range(n_roots):  # a slice copy would compile numba's shape-error
                    bigger[s] = roots[s]      # message formatting (string code) in this kernel
                roots = bigger
            roots[n_roots] = rv
            n_roots += 1
        if not ok:
            continue
        in_block[u] = True
        for s in range(n_roots):
            uf[roots[s]] = u
        chosen[size] = u
        size += 1
    for s in range(size):
        in_block[chosen[s]] = False
        uf[chosen[s]] = chosen[s]
    return chosen[:size].copy()


@jit
def csr_submatrix(indptr, indices, data, block, local):
    """Dense ``Q[block][:, block]`` of a CSR matrix; ``local`` as in :func:`forest_solve`."""
    m = block.shape[0]
    for k in range(m):
        local[block[k]] = k
    out = np.zeros((m, m))
    for k in range(m):
        u = block[k]
        for p in range(indptr[u], indptr[u + 1]):
            kv = local[indices[p]]
            if kv >= 0:
                out[k, kv] += data[p]
    for k in range(m):
        local[block[k]] = -1
    return out


@jit
def csr_block_update(indptr, indices, data, block, d, local, grad):
    """``grad += Q[:, block] d`` (Q symmetric CSR); returns ``d' Q_bb d``."""
    m = block.shape[0]
    for k in range(m):
        local[block[k]] = k
    quad = 0.0
    for k in range(m):
        u = block[k]
        dk = d[k]
        for p in range(indptr[u], indptr[u + 1]):
            v = indices[p]
            grad[v] += data[p] * dk
            kv = local[v]
            if kv >= 0:
                quad += dk * data[p] * d[kv]
    for k in range(m):
        local[block[k]] = -1
    return quad


@jit
def csr_block_quad(indptr, indices, data, block, d, local):
    """``d' Q_bb d`` for a CSR matrix ``Q``."""
    m = block.shape[0]
    for k in range(m):
        local[block[k]] = k
    quad = 0.0
    for k in range(m):
        u = block[k]
        for p in range(indptr[u], indptr[u + 1]):
            kv = local[indices[p]]
            if kv >= 0:
                quad += d[k] * data[p] * d[kv]
    for k in range(m):
        local[block[k]] = -1
    return quad
