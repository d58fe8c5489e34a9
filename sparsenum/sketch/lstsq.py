"""Sketched least squares: sketch-and-solve and sketch-and-precondition.

Both solvers draw one sketch ``S`` (``_sketch_choice.py`` decides its kind and size), sketch
the problem (rescaled by powers of two if its entries are extreme), and either solve the small
problem ``min ||S A x - S b||`` or use it as a preconditioner (:func:`_preconditioner`) for CGLS
on the full problem (``_cgls.py``).

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
from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..base import ConvergenceHistory
from ..utils import check_int, check_scalar
from ..utils.progress import Progress
from ._cgls import cgls
from ._matrix import as_matrix, sketch_both
from ._result import LstsqResult
from ._scaling import rescale, unscale_coef, unscale_norm
from ._sketch_choice import _resolve_sketch, auto_oversampling
from ._validation import check_problem, check_rcond
from .linf import linf_rows

__all__ = [
    "RankDeficientWarning",
    "sketch_and_precondition",
    "sketch_and_solve",
]


class RankDeficientWarning(UserWarning):
    """``A`` (as seen through its sketch) has numerical rank below its number of columns.

    The solvers then return the minimum-norm least-squares solution restricted to the numerical
    row space of ``S A`` (which equals that of ``A`` when ``S`` embeds the column space of
    ``A``), as ``numpy.linalg.lstsq`` does.
    """


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
        Rows ``m`` of the sketch, ``d <= m <= n``. Default ``min(n, 4 d)``, or the size set by
        ``eps`` or by a given operator; giving two of ``sketch_size``, ``eps`` and an operator
        of another size is an error.
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
    op = _resolve_sketch(sketch, n, d, sketch_size=sketch_size, m=m, default_size=4 * d,
                         eps=eps, delta=delta, random_state=random_state, n_jobs=n_jobs)
    if op is None:
        warnings.warn(f"the l_inf row count eps^-2 d log^3(n/delta) = "
                      f"{linf_rows(n, d, eps, delta):.4g} is not below n = {n}: no sketch can "
                      "help, solving the full problem exactly instead (with "
                      "sketch_and_precondition), which meets the bound trivially",
                      UserWarning, stacklevel=2)
        return sketch_and_precondition(A, b, sketch=sketch, random_state=random_state,
                                       rcond=rcond, n_jobs=n_jobs)
    rcond = check_rcond(rcond, n, d)
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


class _Preconditioner(NamedTuple):
    """``S A = Q U diag(s) V^T`` turned into the preconditioner ``N = V diag(1/s)``."""

    N: np.ndarray  # d x rank: A N is well conditioned
    x0: np.ndarray  # the sketch-and-solve solution, the warm start
    rank: int
    singular_values: np.ndarray  # of S A
    cond: float  # s_max / s_min over the numerical rank


def _preconditioner(SA, Sb, rcond) -> _Preconditioner:
    """A QR of the sketch, then an SVD of its small ``R`` (stable for any conditioning)."""
    Q, R = scipy.linalg.qr(SA, mode="economic")
    Ur, s, Vt = scipy.linalg.svd(R)
    rank = _numerical_rank(s, rcond)
    N = Vt[:rank].T / s[:rank]
    x0 = N @ (Ur[:, :rank].T @ (Q.T @ Sb))
    cond = s[0] / s[rank - 1] if rank else 1.0
    return _Preconditioner(N=N, x0=x0, rank=rank, singular_values=s, cond=cond)


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
        ``sketch_size = ceil(oversampling * d)`` (capped at ``n``). Default
        :func:`auto_oversampling` ``(n, d)``: 32 for very tall ``A``, less as ``d / n`` grows.
    sketch_size : int, optional
        Rows ``m`` of the sketch, ``d <= m <= n``. Giving two of ``oversampling``,
        ``sketch_size`` and an operator of another size is an error (one would be ignored).
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
    oversampling = check_scalar(oversampling, "oversampling", low=1, allow_none=True)
    tol = check_scalar(tol, "tol", low=0, include_low=False, high=1)
    max_iter = check_int(max_iter, "max_iter", low=0)
    default_size = None if oversampling is not None else math.ceil(auto_oversampling(n, d) * d)
    op = _resolve_sketch(sketch, n, d, sketch_size=sketch_size, m=m, default_size=default_size,
                         oversampling=oversampling, random_state=random_state, n_jobs=n_jobs,
                         preconditioner=True)
    rcond = check_rcond(rcond, n, d)
    progress = Progress("sketch_and_precondition", verbose, callback)
    SA, Sb, A, b, ea, eb = _sketch_scaled(op, A, b, kind)
    pre = _preconditioner(SA, Sb, rcond)
    _warn_rank(pre.rank, d, "sketch_and_precondition")
    matrix = as_matrix(A, b, kind, n_jobs)
    out = cgls(matrix, pre.N, pre.x0, tol=tol, max_iter=max_iter, cond=pre.cond,
               progress=progress, exponents=(ea, eb))
    result = _finish(matrix, out.coef, converged=out.converged, n_iter=out.n_iter,
                     history=out.history, rank=pre.rank, s=pre.singular_values, op=op,
                     r=out.residual, stop_reason=out.stop_reason, ea=ea, eb=eb)
    progress.finish(f"{out.stop_reason.replace('_', ' ')} after {out.n_iter} steps, "
                    f"normal_equation_residual={out.history.criterion[-1]:.3e}, "
                    f"relative_residual={result.relative_residual:.6g}")
    return result


def solve_wide(design, target) -> LstsqResult:
    """Direct minimum-norm solution of an underdetermined problem (nothing to sketch).

    For :class:`SketchedRegression` on data with fewer samples than columns, with LAPACK as
    :class:`~sklearn.linear_model.LinearRegression`.
    """
    dense = design.toarray() if sp.issparse(design) else design
    coef, _, rank, s = scipy.linalg.lstsq(dense, target)
    residual = float(np.linalg.norm(dense @ coef - target))
    norm = float(np.linalg.norm(target))
    history = ConvergenceHistory(1, criterion_name="relative_residual",
                                 objective_name="residual_norm")
    history.record(0, residual, residual / norm if norm > 0 else 0.0)
    return LstsqResult(coef=coef, residual_norm=residual,
                       relative_residual=residual / norm if norm > 0 else 0.0, rank=int(rank),
                       singular_values=s, sketch="none", sketch_size=dense.shape[0],
                       stop_reason="direct", converged=True, n_iter=0, history=history)
