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

from ._cgls import cgls
from ._inputs import check_problem, check_sketch_size
from ._matrix import as_matrix, sketch_both
from ._progress import Progress
from ._result import LstsqResult, RankDeficientWarning
from ._scaling import rescale, unscale_coef, unscale_norm
from .operators import SparseSign, make_sketch

# The sketch size that minimises predicted time: a QR of the m x d sketch costs about
# _QR_COST * m * d^2 / (n d) passes over A (single-thread LAPACK against a memory-bound pass,
# measured at n=5e5, d=200), and CG gains sqrt(d/m) per pass, so reaching 1e-14 from the warm
# start takes about 64 / ln(m/d) passes.
_QR_COST = 0.66
_OVERSAMPLING_GRID = (4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
_PRECONDITION_SPARSITY = 4  # nonzeros per column of the sparse sign preconditioner

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
    rows = _linf_rows(n, d, eps, delta)
    if not math.isfinite(rows):
        raise ValueError(f"eps={eps!r} asks for more than 1e308 sketch rows "
                         f"(eps^-2 d log^3(n/delta) overflows); use a larger eps")
    return math.ceil(rows)


def _linf_rows(n: int, d: int, eps: float, delta: float) -> float:
    """``d log(n/delta)^3 / eps^2`` as a float (inf when it overflows), for any size of n."""
    log_n = math.log(n) - math.log(delta)
    with np.errstate(over="ignore"):
        return float(np.float64(d) * np.float64(log_n) ** 3 / np.float64(eps) / np.float64(eps))


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


def _renamed_m(sketch_size, m):
    """``m`` is the former name of ``sketch_size``: still accepted, with a FutureWarning."""
    if m is None:
        return sketch_size, "sketch_size"
    warnings.warn("m is renamed sketch_size, as in SketchedRegression; the name m will be "
                  "removed in the next release", FutureWarning, stacklevel=3)
    if sketch_size is not None:
        raise TypeError("give sketch_size or its former name m, not both")
    return m, "m"


def _resolve_size(size, name, eps, delta, n, d, default):
    if size is not None and eps is not None:
        raise ValueError(f"give either {name} or eps, not both")
    if eps is not None:
        rows = _linf_rows(n, d, eps, delta)
        return n if rows >= n else math.ceil(rows)  # m >= n: the caller solves exactly
    if size is None:
        return min(n, default)
    return check_sketch_size(size, n, d, name)


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


def _finish(matrix, x, *, converged, n_iter, history, rank, s, op, r=None, stop_reason,
            ea=0, eb=0):
    """The result, with the residual of ``x`` recomputed unless the caller has it exactly.

    ``matrix`` holds the problem divided by ``2**ea`` (A) and ``2**eb`` (b); the result is
    for the caller's problem.
    """
    if r is None:
        r = matrix.residual(x)
    scaled_norm = math.sqrt(max(matrix.dot(r, r), 0.0))
    norm_b = matrix.norm_b()
    relative = scaled_norm / norm_b if norm_b > 0 else 0.0
    residual_norm = unscale_norm(scaled_norm, eb)
    x = unscale_coef(x, ea, eb)
    if ea:
        with np.errstate(over="ignore"):
            s = np.ldexp(s, ea)  # the singular values of the caller's S A
    return LstsqResult(coef=x, residual_norm=residual_norm, relative_residual=relative,
                       rank=rank, singular_values=s, sketch=op.name, sketch_size=op.m,
                       converged=bool(converged), n_iter=int(n_iter), history=history,
                       stop_reason=stop_reason)


def _sketch_scaled(op, A, b, kind):
    """``(S A, S b)`` and the problem they sketch, rescaled by powers of two if extreme."""
    SA, Sb = sketch_both(op, A, b, kind)
    A, b, ea, eb = rescale(SA, Sb, A, b, kind)
    if ea or eb:
        SA, Sb = sketch_both(op, A, b, kind)
    return SA, Sb, A, b, ea, eb


def sketch_and_solve(A, b, *, sketch="srht", sketch_size=None, eps=None, delta=0.01,
                     random_state=None, rcond=None, n_jobs=None, m=None) -> LstsqResult:
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
    sketch_size : int, optional
        Rows ``m`` of the sketch, ``d <= m <= n``. Default ``min(n, 4 d)`` unless ``eps`` is
        given (or the size of a given operator).
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
    m : int, optional
        Former name of ``sketch_size`` (deprecated, removed in the next release).

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
    >>> res = sketch_and_solve(A, b, sketch_size=400, random_state=0)
    >>> bool(np.abs(res.coef - 1).max() < 0.01), res.sketch, res.sketch_size
    (True, 'srht', 400)
    """
    A, b, kind = check_problem(A, b)
    n, d = A.shape
    delta = check_scalar(delta, "delta", low=0, high=1, include_low=False, include_high=False)
    eps = check_scalar(eps, "eps", low=0, include_low=False, allow_none=True)
    size, name = _renamed_m(sketch_size, m)
    if hasattr(sketch, "m") and size is None and eps is None:
        size = sketch.m
    m = _resolve_size(size, name, eps, delta, n, d, 4 * d)
    if m >= n and eps is not None:
        rows = _linf_rows(n, d, eps, delta)
        warnings.warn(f"the l_inf row count eps^-2 d log^3(n/delta) = {rows:.4g} is not below "
                      f"n = {n}: "
                      "no sketch can help, solving the full problem exactly instead (with "
                      "sketch_and_precondition), which meets the bound trivially",
                      UserWarning, stacklevel=2)
        return sketch_and_precondition(A, b, sketch=sketch if isinstance(sketch, str) else "srht",
                                       random_state=random_state, rcond=rcond, n_jobs=n_jobs)
    op = make_sketch(sketch, m, random_state=random_state, n_jobs=n_jobs)
    rcond = _rcond(rcond, n, d)
    history = ConvergenceHistory(1, criterion_name="relative_residual",
                                 objective_name="residual_norm")
    SA, Sb, A, b, ea, eb = _sketch_scaled(op, A, b, kind)
    U, s, Vt = scipy.linalg.svd(SA, full_matrices=False, lapack_driver="gesdd")
    rank = _numerical_rank(s, rcond)
    _warn_rank(rank, d, "sketch_and_solve")
    x = Vt[:rank].T @ ((U[:, :rank].T @ Sb) / s[:rank])
    result = _finish(as_matrix(A, b, kind), x, converged=True, n_iter=0, history=history,
                     rank=rank, s=s, op=op, stop_reason="direct", ea=ea, eb=eb)
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


def sketch_and_precondition(A, b, *, sketch="sparse_sign", oversampling=None, sketch_size=None,
                            tol=1e-14, max_iter=100, random_state=None, rcond=None,
                            n_jobs=None, verbose=0, callback=None, m=None) -> LstsqResult:
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
        ``sketch_size = ceil(oversampling * d)`` (capped at ``n``) when ``sketch_size`` is not
        given. Default :func:`auto_oversampling` ``(n, d)``: 32 for very tall ``A``, less as
        ``d / n`` grows.
    sketch_size : int, optional
        Rows ``m`` of the sketch, ``d <= m <= n``.
    tol : float, default=1e-14
        Stop when ``||(A N)^T r|| <= tol ||r||`` (the normal-equation residual of the
        preconditioned problem, whose matrix has norm about 1) or ``||r|| <= tol ||b||``
        (consistent systems). Computed in floating point, the first quantity has a rounding
        floor ``eps_machine (cond(S A) + sqrt(d) (2 ||b|| + ||r||) / ||r||)``: from ``N``, which
        scales by up to ``1 / sigma_min``, and from the rounding of ``r = b - A x`` itself,
        which dominates when ``||r|| << ||b||``. A backward-stable direct solver such as
        LAPACK's lands at about that floor. Convergence is decided on an exactly recomputed
        criterion: it is accepted within ``max(tol, 2 floor)`` (no step can reduce it further,
        ``stop_reason="rounding_floor"`` when above ``tol``); after 5 steps without a new best
        value the iteration returns its best iterate.
    max_iter : int, default=100
        Maximum CG steps.
    random_state, rcond
        As in :func:`sketch_and_solve`.
    n_jobs : int, optional
        Threads for the fused passes over a dense ``A`` and for ``scipy.fft`` (DCT sketch).
        ``None``: one thread when a pass costs fewer than ``2e7`` flops (``4 n d``), numba's
        current thread count above; ``-1``: all cores. Results do not depend on it: the passes
        sum fixed row chunks in a fixed order.
    verbose : int or bool, default=0
        ``1``: a line when done; ``2``: a line per step.
    callback : callable, optional
        ``callback(iteration, state)`` after every recorded step, ``state`` a read-only
        mapping of ``residual_norm``, ``normal_equation_residual`` and the current ``coef``;
        returning True stops the iteration (``stop_reason="callback"``).
    m : int, optional
        Former name of ``sketch_size`` (deprecated, removed in the next release).

    Returns
    -------
    LstsqResult
        ``history`` holds, per step, the residual norm (objective) and
        ``normal_equation_residual`` (criterion); its last row describes the returned ``coef``,
        computed exactly. ``stop_reason`` says why the iteration ended.

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
    size, name = _renamed_m(sketch_size, m)
    if hasattr(sketch, "m") and size is None:
        size = sketch.m
    m = _resolve_size(size, name, None, None, n, d, math.ceil(oversampling * d))
    op = _preconditioner_sketch(sketch, m, random_state, n_jobs)
    rcond = _rcond(rcond, n, d)
    progress = Progress("sketch_and_precondition", verbose, callback)
    SA, Sb, A, b, ea, eb = _sketch_scaled(op, A, b, kind)
    Q, R = scipy.linalg.qr(SA, mode="economic")
    Ur, s, Vt = scipy.linalg.svd(R)
    rank = _numerical_rank(s, rcond)
    _warn_rank(rank, d, "sketch_and_precondition")
    N = Vt[:rank].T / s[:rank]  # d x rank: A N is well conditioned
    x0 = N @ (Ur[:, :rank].T @ (Q.T @ Sb))  # the sketch-and-solve solution, as warm start
    cond = s[0] / s[rank - 1] if rank else 1.0
    matrix = as_matrix(A, b, kind, n_jobs)
    out = cgls(matrix, N, x0, tol=tol, max_iter=max_iter, cond=cond, progress=progress,
               exponents=(ea, eb))
    result = _finish(matrix, out.coef, converged=out.converged, n_iter=out.n_iter,
                     history=out.history, rank=rank, s=s, op=op, r=out.residual,
                     stop_reason=out.stop_reason, ea=ea, eb=eb)
    progress.finish(f"{out.stop_reason.replace('_', ' ')} after {out.n_iter} steps, "
                    f"normal_equation_residual={out.history.criterion[-1]:.3e}, "
                    f"relative_residual={result.relative_residual:.6g}")
    return result
