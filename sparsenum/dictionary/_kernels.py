"""Numba kernels of the dictionary module: batch OMP, code merging and K-SVD atom updates.

Sparse codes live in a fixed-width "padded CSR" layout while inside the kernels: ``idx[i, :cnt[i]]``
are the atoms used by sample ``i`` (sorted increasingly) and ``val[i, :cnt[i]]`` their coefficients.
Dictionaries are stored with atoms as rows, ``D[k, :]``, like scikit-learn's ``components_``.
"""

from __future__ import annotations

import numpy as np

from ..utils import jit

# Stop codes of one OMP run (per signal), reported back to Python.
STOP_SPARSITY = 0  # reached n_nonzero atoms
STOP_TOLERANCE = 1  # squared residual norm <= tol
STOP_DEPENDENT = 2  # next atom repeated, linearly dependent or with ~zero correlation

_EPS = float(np.finfo(np.float64).eps)


@jit(inline="always")  # inlined at numba IR level: the split adds no call per atom
def _cholesky_append(G, idx_out, lam, n_active, L, work):
    """Progressive Cholesky: append row ``w = L^{-1} G[I, lam]`` to the factor of ``G[I, I]``.

    False (nothing appended) when atom ``lam`` is linearly dependent on the active ones.
    """
    if n_active == 0:
        L[0, 0] = np.sqrt(G[lam, lam])
        return True
    for j in range(n_active):
        s = G[idx_out[j], lam]
        for m in range(j):
            s -= L[j, m] * work[m]
        work[j] = s / L[j, j]
    v = 0.0
    for j in range(n_active):
        v += work[j] * work[j]
    lkk = G[lam, lam] - v
    if lkk <= _EPS:
        return False
    for j in range(n_active):
        L[n_active, j] = work[j]
    L[n_active, n_active] = np.sqrt(lkk)
    return True


@jit(inline="always")  # inlined at numba IR level: the split adds no call per atom
def _cholesky_solve(L, alpha0, idx_out, n_active, rhs, gamma):
    """``gamma`` solving ``L L^T gamma = alpha0[I]`` (forward then backward substitution)."""
    for j in range(n_active):
        s = alpha0[idx_out[j]]
        for m in range(j):
            s -= L[j, m] * rhs[m]
        rhs[j] = s / L[j, j]
    for j in range(n_active - 1, -1, -1):
        s = rhs[j]
        for m in range(j + 1, n_active):
            s -= L[m, j] * gamma[m]
        gamma[j] = s / L[j, j]


@jit(inline="always")  # inlined at numba IR level: the split adds no call per atom
def _sort_support(idx_out, val_out, n_active):
    """Sort the support increasingly (insertion sort on at most n_nonzero entries)."""
    for j in range(1, n_active):
        key_i = idx_out[j]
        key_v = val_out[j]
        m = j - 1
        while m >= 0 and idx_out[m] > key_i:
            idx_out[m + 1] = idx_out[m]
            val_out[m + 1] = val_out[m]
            m -= 1
        idx_out[m + 1] = key_i
        val_out[m + 1] = key_v


@jit
def _omp_one(G, alpha0, x_sqnorm, n_nonzero, tol, use_tol, idx_out, val_out,
             alpha, L, gamma, rhs, work, active):
    """Batch-OMP for one signal (Rubinstein, Zibulevsky & Elad 2008, algorithm 3).

    ``alpha0 = D x`` (correlations with every atom); the residual is never formed: the
    correlations are updated as ``alpha = alpha0 - G[:, I] gamma`` and, with a tolerance, the
    squared residual norm by the error-update formula ``err = ||x||^2 - gamma . alpha0[I]``.
    Returns (number of atoms, squared residual norm, stop code).
    """
    n_atoms = G.shape[0]
    for k in range(n_atoms):
        alpha[k] = alpha0[k]
        active[k] = False
    err = x_sqnorm
    delta = 0.0
    n_active = 0
    stop = STOP_SPARSITY
    if use_tol and err <= tol:
        return 0, err, STOP_TOLERANCE
    while n_active < n_nonzero:
        # greedy selection: atom most correlated with the current residual
        lam = 0
        best = -1.0
        for k in range(n_atoms):
            a = abs(alpha[k])
            if a > best:
                best = a
                lam = k
        # a correlation within sqrt(eps) of the signal's norm is zero (scikit-learn's test,
        # made relative so that coding does not depend on the scale of x)
        if active[lam] or best * best <= _EPS * x_sqnorm:
            stop = STOP_DEPENDENT
            break
        if not _cholesky_append(G, idx_out, lam, n_active, L, work):
            stop = STOP_DEPENDENT
            break
        idx_out[n_active] = lam
        active[lam] = True
        n_active += 1
        _cholesky_solve(L, alpha0, idx_out, n_active, rhs, gamma)
        # alpha = alpha0 - G[:, I] gamma, with G symmetric so rows G[I[j], :] are contiguous
        for k in range(n_atoms):
            alpha[k] = alpha0[k]
        for j in range(n_active):
            g = gamma[j]
            row = G[idx_out[j]]
            for k in range(n_atoms):
                alpha[k] -= g * row[k]
        if use_tol:
            # err_n = err_{n-1} + delta_{n-1} - delta_n with delta_n = gamma . beta[I]
            new_delta = 0.0
            for j in range(n_active):
                new_delta += gamma[j] * (alpha0[idx_out[j]] - alpha[idx_out[j]])
            err += delta - new_delta
            delta = new_delta
            if abs(err) <= tol:
                stop = STOP_TOLERANCE
                break
    for j in range(n_active):
        val_out[j] = gamma[j]
    if not use_tol:
        # at the least-squares optimum ||x - D_I^T gamma||^2 = ||x||^2 - gamma . alpha0[I]
        s = 0.0
        for j in range(n_active):
            s += gamma[j] * alpha0[idx_out[j]]
        err = x_sqnorm - s
    _sort_support(idx_out, val_out, n_active)
    return n_active, max(err, 0.0), stop


@jit
def batch_omp_range(G, DX, x_sqnorms, n_nonzero, tol, use_tol, idx, val, cnt, err, stop, start,
                    stop_):
    """Batch-OMP for the signals ``start .. stop_ - 1`` (one per row of the correlations
    ``DX``); work arrays allocated once. Serial: the callers run chunks of signals on Python
    threads (a parallel kernel cost seconds of compilation on a user's first call)."""
    n_atoms = G.shape[0]
    alpha = np.empty(n_atoms)
    L = np.zeros((n_nonzero, n_nonzero))
    gamma = np.empty(n_nonzero)
    rhs = np.empty(n_nonzero)
    work = np.empty(n_nonzero)
    active = np.zeros(n_atoms, dtype=np.bool_)
    for i in range(start, stop_):
        n, e, s = _omp_one(G, DX[i], x_sqnorms[i], n_nonzero, tol, use_tol, idx[i], val[i],
                           alpha, L, gamma, rhs, work, active)
        cnt[i] = n
        err[i] = e
        stop[i] = s


@jit
def keep_better_codes(G, DX, x_sqnorms, idx, val, cnt, err, old_idx, old_val, old_cnt):
    """Per signal, keep the previous code if it represents the signal better than the new one.

    OMP is greedy, so re-coding after a dictionary update can occasionally do worse than the
    codes the update was fitted to; keeping the better of the two makes K-SVD's objective
    non-increasing. ``err`` holds the new codes' squared residuals and is updated in place.
    Returns the number of signals that kept their previous code.
    """
    n_signals = DX.shape[0]
    kept = np.zeros(n_signals, dtype=np.int64)
    for i in range(n_signals):
        n = old_cnt[i]
        e = x_sqnorms[i]
        for j in range(n):
            a = old_idx[i, j]
            v = old_val[i, j]
            e -= 2.0 * v * DX[i, a]
            for m in range(n):
                e += v * old_val[i, m] * G[a, old_idx[i, m]]
        if e < err[i]:
            err[i] = max(e, 0.0)
            cnt[i] = n
            for j in range(n):
                idx[i, j] = old_idx[i, j]
                val[i, j] = old_val[i, j]
            kept[i] = 1
    return kept.sum()


@jit
def atom_users(idx, cnt, n_atoms):
    """CSC view of the padded codes: for atom k, ``rows[ptr[k]:ptr[k+1]]`` use it at ``slots``."""
    n_signals = idx.shape[0]
    ptr = np.zeros(n_atoms + 1, dtype=np.int64)
    for i in range(n_signals):
        for j in range(cnt[i]):
            ptr[idx[i, j] + 1] += 1
    fill = np.empty(n_atoms, dtype=np.int64)
    for a in range(n_atoms):  # running sums by hand: np.cumsum costs long compilation
        fill[a] = ptr[a]
        ptr[a + 1] += ptr[a]
    rows = np.empty(ptr[-1], dtype=np.int64)
    slots = np.empty(ptr[-1], dtype=np.int64)
    for i in range(n_signals):
        for j in range(cnt[i]):
            a = idx[i, j]
            rows[fill[a]] = i
            slots[fill[a]] = j
            fill[a] += 1
    return ptr, rows, slots


@jit
def _residual_times_code(X, D, idx, val, cnt, rows, slots, lo, hi, atom, out, weights):
    """out = E^T g where E = X[rows] - codes[rows] D with ``atom`` left out, g its codes.

    Computed as X_I^T g - D^T (C_I^T g) (Rubinstein et al.): O(users (F + s) + K F) instead of
    O(users s F) for forming E.
    """
    n_atoms, n_features = D.shape
    for f in range(n_features):
        out[f] = 0.0
    for a in range(n_atoms):
        weights[a] = 0.0
    for u in range(lo, hi):
        i = rows[u]
        g = val[i, slots[u]]
        for f in range(n_features):
            out[f] += g * X[i, f]
        for j in range(cnt[i]):
            weights[idx[i, j]] += g * val[i, j]
    weights[atom] = 0.0
    for a in range(n_atoms):
        w = weights[a]
        if w != 0.0:
            for f in range(n_features):
                out[f] -= w * D[a, f]


@jit
def _new_codes(X, D, idx, val, cnt, rows, slots, lo, hi, atom, d):
    """g = E d for unit atom d: the optimal codes of the users of ``atom`` given d."""
    n_atoms = D.shape[0]
    n_features = X.shape[1]
    Dd = np.zeros(n_atoms)
    for a in range(n_atoms):
        if a == atom:
            continue
        s = 0.0
        for f in range(n_features):
            s += D[a, f] * d[f]
        Dd[a] = s
    for u in range(lo, hi):
        i = rows[u]
        s = 0.0
        for f in range(n_features):
            s += X[i, f] * d[f]
        for j in range(cnt[i]):
            a = idx[i, j]
            if a != atom:
                s -= val[i, j] * Dd[a]
        val[i, slots[u]] = s


@jit
def ksvd_update_atoms_approximate(X, D, idx, val, cnt, ptr, rows, slots, n_power):
    """One approximate K-SVD sweep (Rubinstein et al. 2008) over all atoms, in place.

    Per atom, ``n_power`` alternating steps d = E^T g / ||E^T g||, g = E d without forming
    the residual E of its users; the support is kept. Atoms without users are left as they
    are (the caller replaces them).
    """
    n_atoms, n_features = D.shape
    d = np.empty(n_features)
    weights = np.empty(n_atoms)
    for atom in range(n_atoms):
        lo = ptr[atom]
        hi = ptr[atom + 1]
        if hi == lo:
            continue
        for _ in range(n_power):
            _residual_times_code(X, D, idx, val, cnt, rows, slots, lo, hi, atom, d, weights)
            # explicit loops: array expressions here would multiply the compilation time
            total = 0.0
            for f in range(n_features):
                total += d[f] * d[f]
            nrm = np.sqrt(total)
            if nrm <= 0.0:
                break
            for f in range(n_features):
                d[f] /= nrm
            _new_codes(X, D, idx, val, cnt, rows, slots, lo, hi, atom, d)
            for f in range(n_features):
                D[atom, f] = d[f]


@jit
def atom_residual(X, D, idx, val, cnt, rows, slots, lo, hi, atom):
    """The (users x features) residual E of ``atom`` without its own contribution."""
    n_features = X.shape[1]
    E = np.empty((hi - lo, n_features))
    for u in range(lo, hi):
        i = rows[u]
        for f in range(n_features):
            E[u - lo, f] = X[i, f]
        for j in range(cnt[i]):
            a = idx[i, j]
            if a == atom:
                continue
            c = val[i, j]
            for f in range(n_features):
                E[u - lo, f] -= c * D[a, f]
    return E


@jit
def squared_residuals(X, D, idx, val, cnt):
    """||x_i - codes_i D||^2 for every signal (exact, from the dense data)."""
    n_signals, n_features = X.shape
    out = np.empty(n_signals)
    for i in range(n_signals):
        s = 0.0
        for f in range(n_features):
            r = X[i, f]
            for j in range(cnt[i]):
                r -= val[i, j] * D[idx[i, j], f]
            s += r * r
        out[i] = s
    return out
