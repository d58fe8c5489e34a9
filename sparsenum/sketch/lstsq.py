"""Sketched least squares: sketch-and-solve with the l_inf guarantee, and sketch-and-precondition.

References
----------
Z. Song, M. Ye, J. Yin, L. Zhang, "A Nearly-Optimal Bound for Fast Regression with l_inf
Guarantee", ICML 2023 (arXiv:2302.00248). H. Avron, P. Maymounkov, S. Toledo, "Blendenpik:
Supercharging LAPACK's least-squares solver", SISC 2010. X. Meng, M. Saunders, M. Mahoney,
"LSRN: a parallel iterative solver for strongly over- or under-determined systems", SISC 2014.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from sparsenum.base import ConvergenceHistory
from sparsenum.utils import check_int, check_scalar

from ._inputs import check_problem, check_sketch_size
from ._matrix import as_matrix, sketch_both
from ._result import LstsqResult, RankDeficientWarning
from .operators import SparseSign, make_sketch

_FLOOR = 0.05  # typical criterion floor, in units of eps_machine * cond(A), see the CG loop
_STALL = 5  # steps without progress before the iteration gives up
_ACCEPT = 2.0  # an exactly computed criterion within this many eps * cond(A) is converged
# The sketch size that minimises predicted time: a QR of the m x d sketch costs about
# _QR_COST * m * d^2 / (n d) passes over A (single-thread LAPACK against a memory-bound pass,
# measured at n=5e5, d=200), and CG gains sqrt(d/m) per pass, so reaching 1e-14 from the warm
# start takes about 64 / ln(m/d) passes.
_QR_COST = 0.66
_OVERSAMPLING_GRID = (4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
_PRECONDITION_SPARSITY = 4  # nonzeros per column of the sparse sign preconditioner
_REPLACE_EVERY = 8  # exact r and A^T r every this many fused iterations, on ill-conditioned A
_DRIFT_SHARE = 1.0  # ... where eps * cond(A) exceeds this share of the target

__all__ = [
    "auto_oversampling",
    "linf_error_bound",
    "linf_sketch_size",
    "sketch_and_precondition",
    "sketch_and_solve",
]


def linf_sketch_size(n, d, eps, delta=0.01) -> int:
    """Rows a dense sketch needs for the l_inf guarantee: ``ceil(eps**-2 d log(n/delta)**3)``.

    This is the row count of Song, Ye, Yin & Zhang (2023), Theorem 1 / abstract, with the
    constant hidden by their O-notation taken as 1. The log-cube factor comes from the proof;
    in practice dense sketches meet the bound with far fewer rows (see the user guide), so this
    size is conservative and often exceeds ``n`` for moderate ``n``.

    Examples
    --------
    >>> from sparsenum.sketch import linf_sketch_size
    >>> linf_sketch_size(20_000, 2, eps=1.0, delta=0.5)
    2380
    """
    n = check_int(n, "n", low=1)
    d = check_int(d, "d", low=1)
    eps = check_scalar(eps, "eps", low=0, include_low=False)
    delta = check_scalar(delta, "delta", low=0, high=1, include_low=False, include_high=False)
    return math.ceil(d * math.log(n / delta) ** 3 / eps**2)


def _dense_solution(A):
    A = A.toarray() if sp.issparse(A) else np.asarray(A.compute() if hasattr(A, "compute") else A)
    return A


def linf_error_bound(A, b, eps) -> float:
    """The per-coordinate bound ``eps / sqrt(d) * ||A x* - b||_2 * ||A^+||_2`` of the paper.

    ``x*`` is the exact least-squares solution and ``||A^+|| = 1 / sigma_min(A)`` (smallest
    nonzero singular value). Both are computed exactly with LAPACK (an SVD of ``A``, densified
    if sparse or Dask): this function is for analysis and tests, not for large problems.

    Parameters
    ----------
    A : array-like or sparse matrix of shape (n, d)
    b : array-like of shape (n,)
    eps : float
        Accuracy parameter, > 0.

    Returns
    -------
    bound : float

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.sketch import linf_error_bound
    >>> A = np.vstack([np.eye(2), np.zeros((2, 2))]); b = np.array([1.0, 2.0, 3.0, 4.0])
    >>> round(linf_error_bound(A, b, eps=0.5), 6)  # 0.5 / sqrt(2) * 5 * 1
    1.767767
    """
    A, b, _ = check_problem(A, b)
    eps = check_scalar(eps, "eps", low=0, include_low=False)
    dense = _dense_solution(A)
    b = np.asarray(b.compute() if hasattr(b, "compute") else b, dtype=float)
    U, s, Vt = scipy.linalg.svd(dense, full_matrices=False)
    rank = int(np.sum(s > s[0] * max(dense.shape) * np.finfo(float).eps)) if s[0] > 0 else 0
    if rank == 0:
        return 0.0
    x = Vt[:rank].T @ ((U[:, :rank].T @ b) / s[:rank])
    residual = float(np.linalg.norm(dense @ x - b))
    return eps / math.sqrt(dense.shape[1]) * residual / float(s[rank - 1])


def _resolve_m(m, eps, delta, n, d, default):
    if m is not None and eps is not None:
        raise ValueError("give either m or eps, not both")
    if eps is not None:
        return linf_sketch_size(n, d, eps, delta)
    if m is None:
        return min(n, default)
    return check_sketch_size(m, n, d)


def _rcond(rcond, n, d):
    if rcond is None:
        return np.finfo(float).eps * max(n, d)
    return check_scalar(rcond, "rcond", low=0, high=1)


def _numerical_rank(s, rcond):
    return int(np.sum(s > rcond * s[0])) if s.size and s[0] > 0 else 0


def _warn_rank(rank, d, what):
    if rank < d:
        warnings.warn(f"{what}: A is numerically rank deficient (rank {rank} < {d} columns, "
                      "judged on the sketch S A); returning the minimum-norm least-squares "
                      "solution", RankDeficientWarning, stacklevel=3)


def _residual_and_gram(matrix, x):
    r = matrix.residual(x)
    return r, matrix.rmatvec(r)


def _finish(matrix, x, *, converged, n_iter, history, rank, s, op, r=None):
    """The result, with the residual of ``x`` recomputed unless the caller has it exactly."""
    if r is None:
        r = matrix.residual(x)
    residual_norm = math.sqrt(max(matrix.dot(r, r), 0.0))
    norm_b = matrix.norm_b()
    return LstsqResult(coef=x, residual_norm=residual_norm,
                       relative_residual=residual_norm / norm_b if norm_b > 0 else 0.0,
                       rank=rank, singular_values=s, sketch=op.name, sketch_size=op.m,
                       converged=bool(converged), n_iter=int(n_iter), history=history)


def sketch_and_solve(A, b, *, sketch="srht", m=None, eps=None, delta=0.01, random_state=None,
                     rcond=None, n_jobs=None) -> LstsqResult:
    """Approximate ``argmin ||A x - b||`` by ``x' = argmin ||S A x - S b||`` for a random ``S``.

    With a dense sketch (``"srht"``, ``"gaussian"``) of ``m = eps^-2 d log^3(n/delta)`` rows,
    with probability ``1 - delta`` every coordinate satisfies
    ``|x'_i - x*_i| <= eps / sqrt(d) * ||A x* - b|| * ||A^+||`` (Song et al., 2023); see
    :func:`linf_error_bound`. Sparse sketches (``"countsketch"``, ``"sparse_sign"``) are faster
    but carry no such guarantee: they fail on coherent matrices.

    Parameters
    ----------
    A : ndarray, sparse matrix (CSR/CSC/COO) or dask array of shape (n, d), n >= d
        The design; a Dask array must be chunked by rows.
    b : array-like or dask array of shape (n,)
        The right-hand side.
    sketch : str or SketchOperator, default="srht"
        ``"srht"``, ``"gaussian"``, ``"sparse_sign"``, ``"countsketch"`` or an operator.
    m : int, optional
        Sketch rows, ``d <= m <= n``. Default ``min(n, 4 d)`` unless ``eps`` is given.
    eps : float, optional
        Target accuracy: ``m`` is then :func:`linf_sketch_size` ``(n, d, eps, delta)``. If that
        is not below ``n`` (the paper's constant-free row count is conservative), the full
        problem is solved exactly with :func:`sketch_and_precondition` instead, with a warning.
    delta : float, default=0.01
        Failure probability used with ``eps``.
    random_state : None, int, RandomState or Generator
        Seeds the sketch.
    rcond : float, optional
        Singular values of ``S A`` below ``rcond * s_max`` are treated as zero. Default
        ``eps_machine * max(n, d)``, as ``numpy.linalg.lstsq``.
    n_jobs : int, optional
        Threads for ``scipy.fft`` when the sketch is ``SRHT(transform="dct")`` (``None``: one
        thread for transforms of fewer than ``2e7`` flops).

    Returns
    -------
    LstsqResult
        ``n_iter=0``; ``residual_norm`` is recomputed on the full problem.

    Warns
    -----
    RankDeficientWarning
        If ``S A`` is numerically rank deficient (the minimum-norm solution is returned).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.sketch import sketch_and_solve
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((4000, 10)); b = A @ np.ones(10) + 0.01 * rng.standard_normal(4000)
    >>> res = sketch_and_solve(A, b, m=400, random_state=0)
    >>> bool(np.abs(res.coef - 1).max() < 0.01), res.sketch, res.sketch_size
    (True, 'srht', 400)
    """
    A, b, kind = check_problem(A, b)
    n, d = A.shape
    delta = check_scalar(delta, "delta", low=0, high=1, include_low=False, include_high=False)
    eps = check_scalar(eps, "eps", low=0, include_low=False, allow_none=True)
    if hasattr(sketch, "m") and m is None and eps is None:
        m = sketch.m
    m = _resolve_m(m, eps, delta, n, d, 4 * d)
    if m >= n and eps is not None:
        warnings.warn(f"the l_inf row count eps^-2 d log^3(n/delta) = {m} is not below n = {n}: "
                      "no sketch can help, solving the full problem exactly instead (with "
                      "sketch_and_precondition), which meets the bound trivially",
                      UserWarning, stacklevel=2)
        return sketch_and_precondition(A, b, sketch=sketch if isinstance(sketch, str) else "srht",
                                       random_state=random_state, rcond=rcond, n_jobs=n_jobs)
    op = make_sketch(sketch, m, random_state=random_state, n_jobs=n_jobs)
    rcond = _rcond(rcond, n, d)
    history = ConvergenceHistory(1, criterion_name="relative_residual",
                                 objective_name="residual_norm")
    SA, Sb = sketch_both(op, A, b, kind)
    U, s, Vt = scipy.linalg.svd(SA, full_matrices=False, lapack_driver="gesdd")
    rank = _numerical_rank(s, rcond)
    _warn_rank(rank, d, "sketch_and_solve")
    x = Vt[:rank].T @ ((U[:, :rank].T @ Sb) / s[:rank])
    result = _finish(as_matrix(A, b, kind), x, converged=True, n_iter=0, history=history,
                     rank=rank, s=s, op=op)
    history.record(0, objective=result.residual_norm, criterion=result.relative_residual)
    return result


def auto_oversampling(n, d) -> float:
    """The ``m / d`` that :func:`sketch_and_precondition` uses by default for an ``n x d`` ``A``.

    It minimises a cost model, in passes over ``A``: the QR of the sketch,
    ``0.66 (m/d) d^2 / n`` passes, plus the CG steps to ``tol=1e-14``, about
    ``64 / ln(m/d)`` passes, over ``m/d`` in {4, 6, 8, 12, 16, 24, 32}. Very tall matrices get a
    large sketch (fewer, expensive passes); wide-ish ones a small sketch (a costly QR).

    Examples
    --------
    >>> from sparsenum.sketch import auto_oversampling
    >>> auto_oversampling(500_000, 200), auto_oversampling(100_000, 2000)
    (32.0, 4.0)
    """
    n = check_int(n, "n", low=1)
    d = check_int(d, "d", low=1)
    return min(_OVERSAMPLING_GRID,
               key=lambda over: _QR_COST * over * d * d / n + 64.0 / math.log(over))


def _preconditioner_sketch(sketch, m, random_state, n_jobs):
    if isinstance(sketch, str) and sketch == "sparse_sign":
        # four nonzeros per column embed as well as eight for preconditioning (same CG steps,
        # measured) at half the cost of forming S A
        return SparseSign(m, nnz_per_column=_PRECONDITION_SPARSITY, random_state=random_state,
                          n_jobs=n_jobs)
    return make_sketch(sketch, m, random_state=random_state, n_jobs=n_jobs)


def sketch_and_precondition(A, b, *, sketch="sparse_sign", oversampling=None, m=None, tol=1e-14,
                            max_iter=100, random_state=None, rcond=None,
                            n_jobs=None) -> LstsqResult:
    """Solve ``min ||A x - b||`` to full accuracy, preconditioned by a sketch (Blendenpik/LSRN).

    The sketch ``S A = Q U diag(s) V^T`` (a QR, then an SVD of the small ``R``) gives the
    preconditioner ``N = V diag(1/s)``: ``A N`` has singular values in
    ``[1 - sqrt(d/m), 1 + sqrt(d/m)]`` roughly, so conjugate gradients on the normal equations
    of ``A N`` (CGLS, mathematically LSQR) gain a factor of about ``sqrt(d/m)`` per step,
    independently of the conditioning of ``A``. The iteration starts from the sketch-and-solve
    solution (which Meier et al., 2023, show is needed for forward stability). Each step costs
    one product with ``A`` and one with ``A^T``; for a dense row-major ``A`` in memory both come
    from a single pass over ``A`` (``A^T r`` then follows by recurrence, recomputed exactly
    every few steps and before the stopping test).

    Parameters
    ----------
    A : ndarray, sparse matrix (CSR/CSC/COO) or dask array of shape (n, d), n >= d
        The design; a Dask array must be chunked by rows.
    b : array-like or dask array of shape (n,)
        The right-hand side.
    sketch : str or SketchOperator, default="sparse_sign"
        Any sketch works as a preconditioner; the sparse sign embedding (here with 4 nonzeros
        per column) is the cheapest to apply (see the benchmarks), ``"srht"`` is the classical
        Blendenpik choice.
    oversampling : float, optional
        ``m = ceil(oversampling * d)`` (capped at ``n``) when ``m`` is not given. Default
        :func:`auto_oversampling` ``(n, d)``: 32 for very tall ``A``, less as ``d / n`` grows.
    m : int, optional
        Sketch rows, ``d <= m <= n``.
    tol : float, default=1e-14
        Stop when ``||(A N)^T r|| <= tol ||r||`` (normwise backward error of the preconditioned
        problem, whose norm is about 1) or ``||r|| <= tol ||b||`` (consistent systems). Rounding
        in ``N^T A^T r`` puts a floor of order ``eps_machine cond(A)`` under the first test
        (the accuracy of a backward-stable direct solver such as LAPACK's): the iteration stops
        at ``max(tol, 0.05 eps_machine cond(S A))``, as soon as an exactly recomputed
        criterion is within ``2 eps_machine cond(S A)`` (no step can reduce it further), or
        after 5 steps without progress, returning its best iterate; it reports
        ``converged=True`` if that iterate's criterion is within
        ``max(tol, 2 eps_machine cond(S A))``.
    max_iter : int, default=100
        Maximum CG steps.
    random_state, rcond
        As in :func:`sketch_and_solve`.
    n_jobs : int, optional
        Threads for the fused passes over a dense ``A`` and for ``scipy.fft`` (DCT sketch).
        ``None``: one thread when a pass costs fewer than ``2e7`` flops (``4 n d``), numba's
        current thread count above; ``-1``: all cores. Results do not depend on it: the passes
        sum fixed row chunks in a fixed order.

    Returns
    -------
    LstsqResult
        ``history`` holds, per step, the residual norm (objective) and
        ``normal_equation_residual`` (criterion).

    Warns
    -----
    RankDeficientWarning
        If ``A`` is numerically rank deficient: the minimum-norm solution is returned (LSRN).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.sketch import sketch_and_precondition
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((3000, 20)) * np.logspace(0, 6, 20); b = rng.standard_normal(3000)
    >>> res = sketch_and_precondition(A, b, random_state=0)
    >>> x_ref = np.linalg.lstsq(A, b, rcond=None)[0]
    >>> res.converged, bool(abs(res.residual_norm - np.linalg.norm(A @ x_ref - b)) < 1e-10)
    (True, True)
    """
    A, b, kind = check_problem(A, b)
    n, d = A.shape
    if oversampling is None:
        oversampling = auto_oversampling(n, d)
    oversampling = check_scalar(oversampling, "oversampling", low=1)
    tol = check_scalar(tol, "tol", low=0, include_low=False, high=1)
    max_iter = check_int(max_iter, "max_iter", low=0)
    if hasattr(sketch, "m") and m is None:
        m = sketch.m
    m = _resolve_m(m, None, None, n, d, math.ceil(oversampling * d))
    op = _preconditioner_sketch(sketch, m, random_state, n_jobs)
    rcond = _rcond(rcond, n, d)
    history = ConvergenceHistory(max_iter + 1, criterion_name="normal_equation_residual",
                                 objective_name="residual_norm")

    SA, Sb = sketch_both(op, A, b, kind)
    Q, R = scipy.linalg.qr(SA, mode="economic")
    Ur, s, Vt = scipy.linalg.svd(R)
    rank = _numerical_rank(s, rcond)
    _warn_rank(rank, d, "sketch_and_precondition")
    N = Vt[:rank].T / s[:rank]  # d x rank: A N is well conditioned
    x0 = N @ (Ur[:, :rank].T @ (Q.T @ Sb))  # the sketch-and-solve solution, as warm start

    matrix = as_matrix(A, b, kind, n_jobs)
    # For a dense row-major A in memory one pass over A yields both A p and A^T A p (half the
    # memory traffic of two products), and A^T r is carried by recurrence; see the loop.
    fused = getattr(matrix, "can_fuse", False)
    history.restart_clock()
    r, At_r = matrix.residual_and_gram(x0) if fused else _residual_and_gram(matrix, x0)
    y = np.zeros(rank)
    g = N.T @ At_r
    p = g.copy()
    gamma = float(g @ g)
    norm_r = math.sqrt(max(matrix.dot(r, r), 0.0))
    norm_b = matrix.norm_b()

    def criterion(norm_g, norm_r):
        return norm_g / norm_r if norm_r > 0 else 0.0

    # The computed N^T A^T r carries rounding errors of order eps * cond(A) * ||r|| (N scales by
    # 1 / sigma_min), so the criterion cannot go below that floor: stop there, as a
    # backward-stable direct solver would, instead of iterating on rounding noise.
    unit = np.finfo(float).eps * (s[0] / s[rank - 1]) if rank else 0.0
    target = max(tol, _FLOOR * unit)
    crit = criterion(math.sqrt(gamma), norm_r)
    history.record(0, objective=norm_r, criterion=crit)
    converged = norm_r <= tol * norm_b or crit <= target
    # The recurrence for A^T r drifts by about eps * cond(A) * ||r|| per step. Where that can
    # matter against the target, r and A^T r are replaced by exact values every few steps; in any
    # case they are recomputed exactly (one fused pass) before convergence is accepted, so the
    # drift never decides the stopping test.
    replace_every = _REPLACE_EVERY if unit > _DRIFT_SHARE * target else max_iter + 1
    n_iter, best, y_best, stalled, r_is_exact = 0, crit, y.copy(), 0, True
    while not converged and n_iter < max_iter and stalled < _STALL:
        if fused:
            q, At_q = matrix.matvec_and_gram(N @ p)
        else:
            q = matrix.matvec(N @ p)
        qq = matrix.dot(q, q)
        if qq <= 0.0:
            break
        alpha = gamma / qq
        y += alpha * p
        r = matrix.axpy(-alpha, q, r)
        norm_r = math.sqrt(max(matrix.dot(r, r), 0.0))
        n_iter += 1
        r_is_exact = False
        if fused:
            At_r -= alpha * At_q
            g = N.T @ At_r
            guess = criterion(math.sqrt(float(g @ g)), norm_r)
            if n_iter % replace_every == 0 or guess <= target or guess >= best:
                r, At_r = matrix.residual_and_gram(x0 + N @ y)
                g = N.T @ At_r
                norm_r = math.sqrt(max(matrix.dot(r, r), 0.0))
                r_is_exact = True
        else:
            g = N.T @ matrix.rmatvec(r)
        gamma_next = float(g @ g)
        crit = criterion(math.sqrt(gamma_next), norm_r)
        history.record(n_iter, objective=norm_r, criterion=crit)
        # at the rounding floor of N^T A^T r (only an exact value can tell) more steps cannot help
        converged = (norm_r <= tol * norm_b or crit <= target
                     or (r_is_exact and crit <= max(tol, _ACCEPT * unit)))
        if crit < best:
            best, stalled = crit, 0
            y_best[:] = y
        else:  # rounding noise dominates: keep the best iterate
            stalled += 1
        p = g + (gamma_next / gamma) * p
        gamma = gamma_next
    if not converged:
        r_is_exact = r_is_exact and stalled == 0
        y = y_best
        # stalled on rounding noise at the accuracy of a backward-stable solver: that is success
        converged = stalled >= _STALL and best <= max(tol, _ACCEPT * unit)
    x = x0 + N @ y
    return _finish(matrix, x, converged=converged, n_iter=n_iter, history=history, rank=rank,
                   s=s, op=op, r=r if r_is_exact else None)
