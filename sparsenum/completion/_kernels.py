"""Numba kernels of the completion module (private): the per-row solves and the evaluation pass.

One half-sweep of alternating minimisation solves, for every row ``i`` of one side (rows of ``M``
for the row step, columns for the column step), the small ridge least-squares problem

    min_x ||A_i x - t_i||^2 + sum_a P_ia x_a^2,

where row ``p`` of ``A_i`` is ``[w_j, 1]`` (the fixed side's factor row, and a 1 for the bias
when biases are fitted), ``t_i`` the observed values minus the global mean and the fixed side's
biases, and ``P_i`` the diagonal penalty. Rows are independent: a kernel solves a chunk of rows
with one workspace, and chunks run in parallel on Python threads (the kernels release the GIL;
see ``_threads.py``). Every row's arithmetic is the same whatever the chunking or the thread
count, so results do not depend on ``n_jobs``.

Three solvers, chosen per row (``solver`` array):

* exact: the normal equations ``G = A^T A + P`` by rank-one updates, Cholesky; a singular ``G``
  (``reg = 0`` and fewer independent observations than unknowns) falls back to the minimum-norm
  solution by a symmetric eigendecomposition (Jacobi), as ``numpy.linalg.lstsq`` returns it, in
  a kernel of its own run on those rows only;
* cg: conjugate gradients on the normal equations in their CGLS form (the residual kept in data
  space), warm-started from the current factors;
* sketch: the same iteration preconditioned by the Cholesky factor of ``(S A)^T (S A) + P``, with
  ``S`` a sparse sign embedding drawn exactly as :class:`sparsenum.sketch.SparseSign` draws it.

Both iterations stop on the relative normal-equation residual ``||A^T (t - A x) - P x|| /
||A^T t||``, confirmed on a recomputed (not recurred) residual before they stop.
"""

from __future__ import annotations

import collections

import numpy as np

from sparsenum.sketch._kernels import _row_hash
from sparsenum.utils import jit

EXACT, CG, SKETCH = 0, 1, 2
#: marks, in a row's iteration count, a row whose normal equations were singular
SINGULAR = -1

#: one side of the observations, compressed by rows of that side (CSR for rows, CSC for columns)
Side = collections.namedtuple("Side", ["ptr", "idx", "vals"])
#: the unknowns of one side (updated in place) and their penalties and solvers
Unknowns = collections.namedtuple(
    "Unknowns", ["factors", "bias", "pen_factor", "pen_bias", "solver", "iterations"])

# a Cholesky pivot below this share of the largest diagonal entry means G is singular in double
# precision: the row is then solved in the minimum-norm sense
_PIVOT = 1e-12
# eigenvalues of a singular G below this share of the largest are treated as zero (they are
# rounding noise of size eps * ||G|| or directions with singular value below 1e-6 * sigma_max)
_EIGEN_CUTOFF = 1e-12


@jit
def _norm(v, d):
    total = 0.0
    for a in range(d):
        total += v[a] * v[a]
    return np.sqrt(total)


@jit
def _dot(u, v, d):
    total = 0.0
    for a in range(d):
        total += u[a] * v[a]
    return total


@jit
def _gather(side, i, factors, bias, offset, fit_bias, A, t):
    """Rows ``[w_j, 1]`` of the design and the targets of row ``i``; returns the row length."""
    k = factors.shape[1]
    start = side.ptr[i]
    n = side.ptr[i + 1] - start
    for p in range(n):
        j = side.idx[start + p]
        for a in range(k):
            A[p, a] = factors[j, a]
        if fit_bias:
            A[p, k] = 1.0
        t[p] = side.vals[start + p] - offset - bias[j]
    return n


@jit
def _cholesky(G, d):
    """Lower Cholesky factor of ``G[:d, :d]`` in place; False if a pivot is (numerically) <= 0."""
    largest = 0.0
    for a in range(d):
        largest = max(largest, G[a, a])
    if largest <= 0.0:
        return False
    for a in range(d):
        s = G[a, a]
        for c in range(a):
            s -= G[a, c] * G[a, c]
        if s <= _PIVOT * largest:
            return False
        s = np.sqrt(s)
        G[a, a] = s
        for b in range(a + 1, d):
            v = G[b, a]
            for c in range(a):
                v -= G[b, c] * G[a, c]
            G[b, a] = v / s
    return True


@jit
def _cholesky_solve(L, d, rhs, x):
    """``x = (L L^T)^{-1} rhs`` with ``L`` the lower factor in ``L[:d, :d]``."""
    for a in range(d):
        v = rhs[a]
        for c in range(a):
            v -= L[a, c] * x[c]
        x[a] = v / L[a, a]
    for a in range(d - 1, -1, -1):
        v = x[a]
        for c in range(a + 1, d):
            v -= L[c, a] * x[c]
        x[a] = v / L[a, a]


@jit
def _normal_equations(A, t, n, d, pdiag, G, rhs):
    """``G = A^T A + diag(pdiag)`` (lower triangle) and ``rhs = A^T t``."""
    for a in range(d):
        rhs[a] = 0.0
        for b in range(a + 1):
            G[a, b] = 0.0
    for p in range(n):
        tp = t[p]
        for a in range(d):
            va = A[p, a]
            rhs[a] += va * tp
            for b in range(a + 1):
                G[a, b] += va * A[p, b]
    for a in range(d):
        G[a, a] += pdiag[a]


@jit
def _jacobi_eigen(G, d, Q):
    """Eigendecomposition of the symmetric ``G[:d, :d]`` by cyclic Jacobi rotations, in place.

    On return the diagonal of ``G`` holds the eigenvalues and the columns of ``Q`` the vectors.
    Only rank-deficient rows come here, so a short hand-written routine (cheap to compile)
    serves better than LAPACK's, whose numba binding takes long to compile.
    """
    for a in range(d):
        for b in range(d):
            Q[a, b] = 1.0 if a == b else 0.0
    for _sweep in range(100):
        off = 0.0
        scale = 0.0
        for a in range(d):
            scale += G[a, a] * G[a, a]
            for b in range(a):
                off += G[a, b] * G[a, b]
        if off <= 1e-32 * scale:
            break
        for a in range(d):
            for b in range(a):
                if G[a, b] == 0.0:
                    continue
                theta = (G[b, b] - G[a, a]) / (2.0 * G[a, b])
                tan = np.sign(theta) / (np.abs(theta) + np.sqrt(theta * theta + 1.0))
                if theta == 0.0:
                    tan = 1.0
                cos = 1.0 / np.sqrt(tan * tan + 1.0)
                sin = tan * cos
                for c in range(d):  # rotate rows/columns a and b of the symmetric G
                    gca, gcb = G[c, a], G[c, b]
                    G[c, a] = cos * gca - sin * gcb
                    G[c, b] = sin * gca + cos * gcb
                for c in range(d):
                    gac, gbc = G[a, c], G[b, c]
                    G[a, c] = cos * gac - sin * gbc
                    G[b, c] = sin * gac + cos * gbc
                for c in range(d):
                    qca, qcb = Q[c, a], Q[c, b]
                    Q[c, a] = cos * qca - sin * qcb
                    Q[c, b] = sin * qca + cos * qcb


@jit
def _min_norm_solve(A, t, n, d, pdiag, x):
    """Minimum-norm solution of the (singular) normal equations, by an eigendecomposition."""
    G = np.zeros((d, d))
    rhs = np.zeros(d)
    _normal_equations(A, t, n, d, pdiag, G, rhs)
    _min_norm_from_normal(G, rhs, d, x)


@jit
def _min_norm_from_normal(G, rhs, d, x):
    """Minimum-norm solution of ``G x = rhs`` for the lower triangle ``G`` (overwritten)."""
    Q = np.zeros((d, d))
    for a in range(d):
        for b in range(a):
            G[b, a] = G[a, b]
    _jacobi_eigen(G, d, Q)
    largest = 0.0
    for a in range(d):
        largest = max(largest, G[a, a])
    for a in range(d):
        x[a] = 0.0
    for b in range(d):
        if G[b, b] > _EIGEN_CUTOFF * largest:
            coef = 0.0
            for a in range(d):
                coef += Q[a, b] * rhs[a]
            coef /= G[b, b]
            for a in range(d):
                x[a] += coef * Q[a, b]


@jit
def _exact_in_place(side, i, factors, bias, offset, fit_bias, d, pdiag, G, rhs, x):
    """The exact solve of row ``i`` reading the fixed factors in place (no gathered copy);
    False if ``G`` is singular (the caller leaves the row to :func:`min_norm_rows`)."""
    k = factors.shape[1]
    for a in range(d):
        rhs[a] = 0.0
        for b in range(a + 1):
            G[a, b] = 0.0
    for pos in range(side.ptr[i], side.ptr[i + 1]):
        j = side.idx[pos]
        tp = side.vals[pos] - offset - bias[j]
        w = factors[j]
        for a in range(k):
            va = w[a]
            rhs[a] += va * tp
            for b in range(a + 1):
                G[a, b] += va * w[b]
        if fit_bias:
            rhs[k] += tp
            for b in range(k):
                G[k, b] += w[b]
            G[k, k] += 1.0
    for a in range(d):
        G[a, a] += pdiag[a]
    if not _cholesky(G, d):
        return False
    _cholesky_solve(G, d, rhs, x)
    return True


@jit
def _exact(A, t, n, d, pdiag, G, rhs, x):
    """The exact solve of a gathered row; False (``x`` untouched) when its normal equations
    are singular, a row the caller leaves to :func:`min_norm_rows`."""
    _normal_equations(A, t, n, d, pdiag, G, rhs)
    if _cholesky(G, d):
        _cholesky_solve(G, d, rhs, x)
        return True
    return False


@jit
def _residuals(A, t, n, d, pdiag, x, s, r):
    """``s = t - A x`` and ``r = A^T s - P x`` in one pass; returns ``||A^T t||``."""
    norm_rhs = np.zeros(d)
    for a in range(d):
        r[a] = -pdiag[a] * x[a]
    for p in range(n):
        v = t[p]
        for a in range(d):
            v -= A[p, a] * x[a]
        s[p] = v
        for a in range(d):
            r[a] += A[p, a] * v
            norm_rhs[a] += A[p, a] * t[p]
    return _norm(norm_rhs, d)


@jit
def _pcgls(A, t, n, d, pdiag, x, tol, max_iter, L, precondition, s, q, r, z, p):
    """(Preconditioned) CGLS from the warm start ``x``; returns the iterations performed.

    With ``precondition`` the normal-equation residual is preconditioned by ``(L L^T)^{-1}``.
    """
    norm_rhs = _residuals(A, t, n, d, pdiag, x, s, r)
    if norm_rhs == 0.0:
        for a in range(d):
            x[a] = 0.0
        return 0
    target = tol * norm_rhs
    if _norm(r, d) <= target:
        return 0
    if precondition:
        _cholesky_solve(L, d, r, z)
    else:
        for a in range(d):
            z[a] = r[a]
    for a in range(d):
        p[a] = z[a]
    gamma = _dot(r, z, d)
    it = 0
    while it < max_iter:
        it += 1
        delta = 0.0
        for a in range(d):
            delta += pdiag[a] * p[a] * p[a]
        for row in range(n):
            v = 0.0
            for a in range(d):
                v += A[row, a] * p[a]
            q[row] = v
            delta += v * v
        if delta <= 0.0:
            break
        alpha = gamma / delta
        for a in range(d):
            x[a] += alpha * p[a]
            r[a] = -pdiag[a] * x[a]
        for row in range(n):
            s[row] -= alpha * q[row]
            for a in range(d):
                r[a] += A[row, a] * s[row]
        if _norm(r, d) <= target:
            # confirm on the recomputed residual: the recurrence for s drifts from t - A x
            _residuals(A, t, n, d, pdiag, x, s, r)
            if _norm(r, d) <= target:
                break
        if precondition:
            _cholesky_solve(L, d, r, z)
        else:
            for a in range(d):
                z[a] = r[a]
        gamma_new = _dot(r, z, d)
        beta = gamma_new / gamma
        gamma = gamma_new
        for a in range(d):
            p[a] = z[a] + beta * p[a]
    return it


@jit
def _sketch_preconditioner(A, n, d, pdiag, seed, m, nnz, SA, L, rows, signs):
    """Cholesky factor of ``(S A)^T (S A) + P`` in ``L``; False if it is singular.

    Column ``p`` of ``S`` (the one that meets observation ``p`` of the row) holds ``nnz``
    entries ``+-1/sqrt(nnz)`` at the rows :class:`sparsenum.sketch.SparseSign` gives it for
    global row ``p`` and ``seed``, so ``S A`` equals ``SparseSign(m, nnz_per_column=nnz).apply(A)``
    for an operator with that seed.
    """
    scale = 1.0 / np.sqrt(nnz)
    SA[:m, :d] = 0.0
    for p in range(n):
        _row_hash(seed, p, nnz, m, rows, signs)
        for e in range(nnz):
            row = rows[e]
            sign = signs[e] * scale
            for a in range(d):
                SA[row, a] += sign * A[p, a]
    # (S A)^T (S A) by rank-one updates over the rows of S A: contiguous reads (by columns,
    # each product strides over whole rows of S A, which leave the L1 cache from d ~ 64)
    for a in range(d):
        for b in range(a + 1):
            L[a, b] = 0.0
    for row in range(m):
        for a in range(d):
            va = SA[row, a]
            if va == 0.0:
                continue
            for b in range(a + 1):
                L[a, b] += va * SA[row, b]
    for a in range(d):
        L[a, a] += pdiag[a]
    return _cholesky(L, d)


@jit
def _warm_start_suffices(A, t, n, d, pdiag, x, tol, s, r):
    """True if ``x`` already meets ``tol`` (then :func:`_pcgls` would stop before its first
    step; a zero right-hand side sets ``x`` to zero, as it does)."""
    norm_rhs = _residuals(A, t, n, d, pdiag, x, s, r)
    if norm_rhs == 0.0:
        for a in range(d):
            x[a] = 0.0
        return True
    return _norm(r, d) <= tol * norm_rhs


@jit
def _row_length_bound(ptr, start, stop):
    longest = 0
    for i in range(start, stop):
        longest = max(longest, ptr[i + 1] - ptr[i])
    return longest


@jit(inline="always")
def _load_row(unknowns, i, k, fit_bias, pdiag, x):
    """Row ``i``'s penalties into ``pdiag`` and its current factors (and bias) into ``x``."""
    for a in range(k):
        pdiag[a] = unknowns.pen_factor[i]
        x[a] = unknowns.factors[i, a]
    if fit_bias:
        pdiag[k] = unknowns.pen_bias[i]
        x[k] = unknowns.bias[i]


@jit(inline="always")
def _store_row(unknowns, i, k, fit_bias, x, iterations):
    for a in range(k):
        unknowns.factors[i, a] = x[a]
    if fit_bias:
        unknowns.bias[i] = x[k]
    unknowns.iterations[i] = iterations


@jit
def solve_chunk(side, fixed_factors, fixed_bias, unknowns, offset, fit_bias, tol, max_iter,
                 sketch_seed, sketch_rows, sketch_nnz, lo, hi):
    """Solve rows ``lo .. hi - 1`` of ``side`` against the fixed factors, updating
    ``unknowns`` in place, with one workspace for the chunk; ``unknowns.iterations[i]``
    receives the CG / sketch iterations of row ``i`` (0 for exact)."""
    k = fixed_factors.shape[1]
    d = k + 1 if fit_bias else k
    seed = np.uint64(sketch_seed)
    longest = max(_row_length_bound(side.ptr, lo, hi), 1)
    A = np.empty((longest, d))
    t = np.empty(longest)
    s = np.empty(longest)
    q = np.empty(longest)
    G = np.empty((d, d))
    SA = np.empty((max(sketch_rows, 1), d))
    rows = np.empty(max(sketch_nnz, 1), dtype=np.int64)
    signs = np.empty(max(sketch_nnz, 1))
    rhs = np.empty(d)
    x = np.empty(d)
    r = np.empty(d)
    z = np.empty(d)
    p = np.empty(d)
    pdiag = np.empty(d)
    for i in range(lo, hi):
        _load_row(unknowns, i, k, fit_bias, pdiag, x)
        method = unknowns.solver[i]
        iterations = 0
        if method == EXACT:
            if _exact_in_place(side, i, fixed_factors, fixed_bias, offset, fit_bias, d, pdiag,
                               G, rhs, x):
                _store_row(unknowns, i, k, fit_bias, x, 0)
            else:  # singular normal equations: left to min_norm_rows
                unknowns.iterations[i] = SINGULAR
            continue
        n = _gather(side, i, fixed_factors, fixed_bias, offset, fit_bias, A, t)
        if method == SKETCH and _warm_start_suffices(A, t, n, d, pdiag, x, tol, s, r):
            pass  # the preconditioner would not be used: do not build it
        elif method == CG or (method == SKETCH and _sketch_preconditioner(
                A, n, d, pdiag, seed, sketch_rows, sketch_nnz, SA, G, rows, signs)):
            # one call site with a computed flag: literal True and False arguments would make
            # numba compile the iteration twice
            iterations = _pcgls(A, t, n, d, pdiag, x, tol, max_iter, G, method == SKETCH, s, q,
                                r, z, p)
        elif not _exact(A, t, n, d, pdiag, G, rhs, x):
            # a sketch whose preconditioner is singular (rank-deficient row), with singular
            # normal equations: left to min_norm_rows
            unknowns.iterations[i] = SINGULAR
            continue
        _store_row(unknowns, i, k, fit_bias, x, iterations)


@jit
def solve_chunk_exact(side, fixed_factors, fixed_bias, unknowns, offset, fit_bias, tol, max_iter,
                      sketch_seed, sketch_rows, sketch_nnz, lo, hi):
    """:func:`solve_chunk` for chunks whose rows all use the exact solver (``tol`` to
    ``sketch_nnz`` are unused), with the same arithmetic row by row.

    A separate kernel because compiling the two iterative solvers is most of
    :func:`solve_chunk`'s compile time, and small problems, the ones a first call meets, solve
    every row exactly: they then never compile the iterative solvers.
    """
    k = fixed_factors.shape[1]
    d = k + 1 if fit_bias else k
    G = np.empty((d, d))
    rhs = np.empty(d)
    x = np.empty(d)
    pdiag = np.empty(d)
    for i in range(lo, hi):
        _load_row(unknowns, i, k, fit_bias, pdiag, x)
        if _exact_in_place(side, i, fixed_factors, fixed_bias, offset, fit_bias, d, pdiag, G,
                           rhs, x):
            _store_row(unknowns, i, k, fit_bias, x, 0)
        else:  # singular normal equations: left to min_norm_rows
            unknowns.iterations[i] = SINGULAR


@jit
def min_norm_rows(side, fixed_factors, fixed_bias, unknowns, offset, fit_bias, rows):
    """The minimum-norm solve of the listed rows, whose normal equations were singular (the
    row kernels marked them :data:`SINGULAR`), as ``numpy.linalg.lstsq`` returns it.

    A kernel of its own, called only when such rows exist (``reg = 0`` and rows with fewer
    independent observations than unknowns): the eigendecomposition it needs was a large
    share of the row kernels' compile time, which every first call paid.
    """
    k = fixed_factors.shape[1]
    d = k + 1 if fit_bias else k
    longest = 1
    for r in range(rows.shape[0]):
        longest = max(longest, side.ptr[rows[r] + 1] - side.ptr[rows[r]])
    A = np.empty((longest, d))
    t = np.empty(longest)
    x = np.empty(d)
    pdiag = np.empty(d)
    for r in range(rows.shape[0]):
        i = rows[r]
        _load_row(unknowns, i, k, fit_bias, pdiag, x)
        n = _gather(side, i, fixed_factors, fixed_bias, offset, fit_bias, A, t)
        _min_norm_solve(A, t, n, d, pdiag, x)
        _store_row(unknowns, i, k, fit_bias, x, 0)


@jit
def bias_sums(side, fixed_bias, offset, out):
    """``out[i]``: the sum over row ``i``'s observations of the value minus ``offset`` and the
    fixed side's bias (the right-hand side of a bias-only row step)."""
    for i in range(side.ptr.shape[0] - 1):
        total = 0.0
        for pos in range(side.ptr[i], side.ptr[i + 1]):
            total += side.vals[pos] - offset - fixed_bias[side.idx[pos]]
        out[i] = total


@jit
def evaluate_chunk(side, row_factors, col_factors, row_bias, col_bias, offset, previous,
                   current, out, lo, hi):
    """Fitted values on the observations of rows ``lo .. hi - 1`` (stored in ``current``, CSR
    order) and per-row sums ``out[i] = (squared errors, squared changes against ``previous``,
    squared fitted values)``."""
    k = row_factors.shape[1]
    for i in range(lo, hi):
        err = 0.0
        change = 0.0
        size = 0.0
        for pos in range(side.ptr[i], side.ptr[i + 1]):
            j = side.idx[pos]
            v = offset + row_bias[i] + col_bias[j]
            for a in range(k):
                v += row_factors[i, a] * col_factors[j, a]
            current[pos] = v
            e = side.vals[pos] - v
            err += e * e
            dv = v - previous[pos]
            change += dv * dv
            size += v * v
        out[i, 0] = err
        out[i, 1] = change
        out[i, 2] = size


@jit
def weighted_cross(F, H, w):
    """``F^T diag(w) H`` (serial: ``F`` and ``H`` are thin factor matrices)."""
    m, k = F.shape
    G = np.zeros((k, H.shape[1]))
    for i in range(m):
        wi = w[i]
        if wi == 0.0:
            continue
        for a in range(k):
            fa = wi * F[i, a]
            for b in range(H.shape[1]):
                G[a, b] += fa * H[i, b]
    return G


@jit
def implicit_row_systems(side, fixed_factors, fixed_bias, offset, fit_bias, diagonal, L, ok,
                         H, b, rhs, lo, hi):
    """Each row's system of the joint step of the implicit prior (see ``implicit.py``):
    ``K_i = A_i^T A_i + diag(diagonal[i])`` by its Cholesky factor ``L[i]`` (``ok[i]`` False
    when it is not numerically positive definite: no observations), ``rhs[i] = A_i^T t_i``,
    and with ``w = diagonal[i, 0]`` the factor block ``H[i] = w I - w^2 (K_i^{-1})_{kk}`` and
    ``b[i] = w (K_i^{-1} rhs_i)_k`` (zeros for rows that are not ``ok``), for rows ``lo .. hi -
    1``."""
    k = fixed_factors.shape[1]
    d = k + 1 if fit_bias else k
    row = np.empty(d)
    inverse = np.empty((d, d))
    x = np.empty(d)
    for i in range(lo, hi):
        G = L[i]
        for a in range(d):
            rhs[i, a] = 0.0
            for c in range(a + 1):
                G[a, c] = 0.0
        for pos in range(side.ptr[i], side.ptr[i + 1]):
            j = side.idx[pos]
            for a in range(k):
                row[a] = fixed_factors[j, a]
            if fit_bias:
                row[k] = 1.0
            t = side.vals[pos] - offset - fixed_bias[j]
            for a in range(d):
                rhs[i, a] += row[a] * t
                for c in range(a + 1):
                    G[a, c] += row[a] * row[c]
        for a in range(d):
            G[a, a] += diagonal[i, a]
        ok[i] = _cholesky(G, d)
        for a in range(k):
            b[i, a] = 0.0
            for c in range(k):
                H[i, a, c] = 0.0
        if not ok[i]:
            continue
        # inverse of the lower factor by forward substitution, then the factor block of
        # K^{-1} = L^{-T} L^{-1}
        for c in range(d):
            for a in range(d):
                inverse[a, c] = 0.0
            inverse[c, c] = 1.0 / G[c, c]
            for a in range(c + 1, d):
                v = 0.0
                for e in range(c, a):
                    v -= G[a, e] * inverse[e, c]
                inverse[a, c] = v / G[a, a]
        w = diagonal[i, 0]
        for a in range(k):
            for c in range(a + 1):
                v = 0.0
                for e in range(max(a, c), d):
                    v += inverse[e, a] * inverse[e, c]
                H[i, a, c] = -w * w * v
                H[i, c, a] = H[i, a, c]
            H[i, a, a] += w
        _cholesky_solve(G, d, rhs[i], x)
        for a in range(k):
            b[i, a] = w * x[a]


@jit
def implicit_row_solutions(L, ok, rhs, diagonal, centres, out):
    """``out[i] = K_i^{-1} (rhs_i + diag(diagonal[i]) centre_i)`` (the centre has the row's
    prior mean in its factor entries and 0 for the bias), zeros for rows that are not ok."""
    m, d = rhs.shape
    k = centres.shape[1]
    y = np.empty(d)
    x = np.empty(d)
    for i in range(m):
        if not ok[i]:
            for a in range(d):
                out[i, a] = 0.0
            continue
        for a in range(d):
            y[a] = rhs[i, a]
        for a in range(k):
            y[a] += diagonal[i, a] * centres[i, a]
        _cholesky_solve(L[i], d, y, x)
        for a in range(d):
            out[i, a] = x[a]


@jit
def implicit_row_products(side, scaled_H, W, out, lo, hi):
    """``out[i] = scaled_H[i] (B W)_i`` for rows ``lo .. hi - 1``, ``B`` the 0/1 pattern of
    ``side``'s rows: the first half of ``B^T (scaled_H (B W))``."""
    k = W.shape[1]
    q = np.empty(k)
    for i in range(lo, hi):
        for a in range(k):
            q[a] = 0.0
        for pos in range(side.ptr[i], side.ptr[i + 1]):
            j = side.idx[pos]
            for a in range(k):
                q[a] += W[j, a]
        for a in range(k):
            v = 0.0
            for c in range(k):
                v += scaled_H[i, a, c] * q[c]
            out[i, a] = v


@jit
def pattern_sums(side, W, out, lo, hi):
    """``out[i] = sum of W[j]`` over the entries ``j`` of ``side``'s rows ``lo .. hi - 1``,
    in their stored order: with the column side, ``B^T W`` summed row by row ascending, so a
    column's sum does not depend on how the columns are chunked."""
    k = W.shape[1]
    for i in range(lo, hi):
        for a in range(k):
            out[i, a] = 0.0
        for pos in range(side.ptr[i], side.ptr[i + 1]):
            j = side.idx[pos]
            for a in range(k):
                out[i, a] += W[j, a]
