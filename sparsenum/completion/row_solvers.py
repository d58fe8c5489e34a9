"""Per-row least-squares solves of alternating minimisation: exact, CG and sketched, and the
cost model that picks one per row.

With the column factors ``V`` (and biases) fixed, each row ``i`` of ``U`` solves its own ridge
least-squares problem over its ``n_i`` observations (see ``_kernels.py``). Three solvers:

``"exact"``
    normal equations and Cholesky, ``n_i d^2 / 2 + d^3 / 6`` flops (``d = rank + 1`` with
    biases): what ALS implementations do, and the cheapest for short rows and small ranks;
``"cg"``
    conjugate gradients (CGLS) warm-started from the previous sweep's factors, ``2 n_i d`` flops
    per iteration: implicit's choice; fast when few iterations suffice, but their number grows
    with the row's condition number;
``"sketch"``
    the same iteration preconditioned by a sketch of the row (Gu, Song, Yin & Zhang, 2024): a
    sparse sign embedding ``S`` with ``s = ceil(2.5 d)`` rows gives ``(S A)^T (S A) ~ A^T A``,
    whose Cholesky factor makes the iteration converge at a rate set by the sketch, not by the
    row's conditioning. ``O(n_i d)`` per solve plus ``O(s d^2)`` for the preconditioner: linear
    in ``d`` for long rows (``n_i >> d^2``), where the exact solve is quadratic.

``"auto"`` predicts the counted cost of the three for every row and takes the cheapest. CG's
iteration count is predicted for fixed factors whose rows are spread like a random sample of a
well-conditioned matrix: the ``n_i x d`` design then has condition number about ``(1 + r) /
(1 - r)`` with ``r = sqrt(d / n_i)`` (Marchenko-Pastur), so CG contracts by about ``r`` per
step, faster than the sketch's ``sqrt(d / s) ~ 0.63`` once ``n_i > s``: on long rows with
incoherent factors plain CG is the cheapest, and the sketch's advantage, an iteration count
independent of the factors' conditioning, is not visible from the counts alone.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from sparsenum.utils import check_int, check_one_of, check_scalar, random_seed

from . import _kernels
from ._threads import run_chunks

__all__ = ["SOLVERS", "RowSolverSettings", "choose_solvers", "solve_rows"]

SOLVERS = ("auto", "exact", "cg", "sketch")
_CODES = {"exact": _kernels.EXACT, "cg": _kernels.CG, "sketch": _kernels.SKETCH}


@dataclasses.dataclass(frozen=True)
class RowSolverSettings:
    """Tuning constants of the row solvers, each with its reason."""

    #: sketch rows per unknown: 2.5 d rows of a sparse sign embedding make the preconditioned
    #: iteration contract by about sqrt(d / s) ~ 0.6 per step, and the s d^2 / 2 flops of the
    #: sketched normal matrix stay below the exact solve's n_i d^2 / 2 for rows with n_i > s
    sketch_oversampling: float = 2.5
    #: nonzeros per column of the sparse sign sketch (the sketch module's preconditioner uses 4)
    sketch_nnz: int = 4
    #: iterations the cost model expects of a warm-started sketched solve: the inner tolerance
    #: asks for a reduction of about 1e-2 of the current change, ~8 steps at rate 0.6
    expected_sketch_iterations: float = 8.0
    #: cost of a rank-one update's multiply-add relative to a dot product's: the update loads
    #: and stores its accumulator ``G[a, b]`` (three memory-touching operations), the dot
    #: product keeps it in a register (two); this weights the normal equations of the exact
    #: solve and the sketched normal matrix, against the passes of the iterative solves
    update_weight: float = 1.5
    #: largest contraction ``sqrt(d / n_i)`` for which CG's iterations are predicted (rows
    #: with ``n_i >= 4 d``): nearer square, the design's smallest singular value, about
    #: ``1 - sqrt(d / n_i)`` times its typical one, is too close to zero for the prediction to
    #: bound the iterations, and those rows are predicted at the cap
    cg_max_rate: float = 0.5
    #: cap on CG iterations per row, in units of the unknowns d (CG on d unknowns terminates in
    #: d steps in exact arithmetic; rounding on ill-conditioned rows needs a few times more)
    cg_iterations_per_unknown: int = 4
    #: cap on preconditioned iterations per row (the contraction does not depend on the row)
    max_sketch_iterations: int = 60
    #: inner tolerance = this share of the previous sweep's relative change: the analysis of
    #: approximate alternating minimisation needs each solve's error to be a fraction of the
    #: current distance to the solution, not machine precision
    inner_ratio: float = 1e-2
    #: inner tolerance bounds: loosest on the first sweep, tightest near double precision
    inner_ceiling: float = 1e-2
    inner_floor: float = 1e-13


SETTINGS = RowSolverSettings()


def sketch_size(d: int, settings: RowSolverSettings = SETTINGS) -> int:
    """Rows of the sparse sign sketch for a row with ``d`` unknowns."""
    return max(d + 1, math.ceil(settings.sketch_oversampling * d))


def predicted_cg_iterations(counts, d: int, settings: RowSolverSettings = SETTINGS):
    """CG iterations predicted for warm-started rows with ``counts`` observations and ``d``
    unknowns: a residual reduction of ``inner_ratio`` at the contraction ``sqrt(d / n_i)`` of
    a well-conditioned random design; rows shorter than ``d / cg_max_rate^2`` at the cap."""
    counts = np.asarray(counts, dtype=np.float64)
    cap = float(settings.cg_iterations_per_unknown * d)
    rate = np.sqrt(d / np.maximum(counts, 1.0))
    with np.errstate(divide="ignore"):
        steps = np.log(settings.inner_ratio) / np.log(np.minimum(rate, 1.0))
    return np.minimum(np.where(rate <= settings.cg_max_rate, steps, cap), cap)


def predicted_flops(counts, d: int, settings: RowSolverSettings = SETTINGS):
    """Predicted cost, in multiply-adds weighted by ``update_weight`` where they update an
    array in place, of the exact, the CG and the sketched solve of rows with ``counts``
    observations and ``d`` unknowns (counted operations, never timings)."""
    counts = np.asarray(counts, dtype=np.float64)
    s = sketch_size(d, settings)
    gather = counts * d
    w = settings.update_weight
    exact = gather + w * counts * d * (d + 1) / 2 + d**3 / 6
    # each iteration: two passes over the row (A p, then A^T s), plus the start's and the
    # confirmation's residual passes
    cg_steps = predicted_cg_iterations(counts, d, settings)
    cg = gather + (2.0 * cg_steps + 2.0) * counts * d + cg_steps * 2 * d
    steps = settings.expected_sketch_iterations
    sketch = (gather + w * (settings.sketch_nnz * counts * d + s * d * (d + 1) / 2) + d**3 / 6
              + (2.0 * steps + 2.0) * counts * d + steps * 2 * d * d)
    return exact, cg, sketch


def choose_solvers(counts, d: int, solver: str, settings: RowSolverSettings = SETTINGS):
    """Solver code per row: the one asked for, or for ``"auto"`` the cheapest predicted one."""
    counts = np.asarray(counts)
    if solver != "auto":
        return np.full(counts.shape[0], _CODES[solver], dtype=np.int8)
    exact, cg, sketch = predicted_flops(counts, d, settings)
    codes = np.where(sketch < exact, _kernels.SKETCH, _kernels.EXACT)
    return np.where(cg < np.minimum(exact, sketch), _kernels.CG, codes).astype(np.int8)


@functools.lru_cache(maxsize=32)
def sketch_operator(d: int, seed: int, settings: RowSolverSettings = SETTINGS):
    """The sparse sign operator (from :mod:`sparsenum.sketch`) whose columns sketch each row
    (cached: a sweep asks for the same one twice, and every sweep again)."""
    from sparsenum.sketch import SparseSign

    return SparseSign(sketch_size(d, settings), nnz_per_column=settings.sketch_nnz,
                      random_state=int(seed) % 2**32)


def max_inner_iterations(solver_code: int, d: int, settings: RowSolverSettings = SETTINGS):
    if solver_code == _kernels.CG:
        return settings.cg_iterations_per_unknown * d
    return settings.max_sketch_iterations


def run_side(side, counts, fixed_factors, fixed_bias, factors, bias, *, offset, fit_bias,
             pen_factor, pen_bias, solvers, tol, sketch_seed, n_jobs, max_iter=None,
             chunk_cache=None, settings: RowSolverSettings = SETTINGS) -> int:
    """One half-sweep: solve every row of ``side`` in place; returns the inner iterations."""
    m = factors.shape[0]
    d = fixed_factors.shape[1] + (1 if fit_bias else 0)
    if max_iter is None:
        code = _kernels.CG if np.any(solvers == _kernels.CG) else _kernels.SKETCH
        max_iter = max_inner_iterations(code, d, settings)
    iterations = np.zeros(m, dtype=np.int64)
    unknowns = _kernels.Unknowns(factors, bias, pen_factor, pen_bias, solvers, iterations)
    op = sketch_operator(d, int(sketch_seed), settings)
    work = float(side.ptr[-1]) * d * (d + 1) / 2 + m * d**3 / 6
    args = (side, fixed_factors, fixed_bias, unknowns, float(offset), bool(fit_bias), float(tol),
            int(max_iter), np.uint64(op.seed), op.m, min(op.nnz_per_column, op.m))
    # the exact-only kernel does not compile the iterative solvers (see its docstring)
    kernel = (_kernels.solve_chunk_exact if np.all(solvers == _kernels.EXACT)
              else _kernels.solve_chunk)
    run_chunks(kernel, args, side.ptr, n_jobs, work, chunk_cache)
    singular = np.flatnonzero(iterations == _kernels.SINGULAR)
    if singular.size:
        _kernels.min_norm_rows(side, fixed_factors, fixed_bias, unknowns, float(offset),
                               bool(fit_bias), singular)
    return int(iterations.sum())


def solve_rows(M, col_factors, *, col_bias=None, offset=0.0, reg=0.0, bias_reg=None,
               solver="exact", tol=1e-10, max_iter=None, row_factors=None, row_bias=None,
               random_state=None, n_jobs=None):
    """Solve every row of ``M`` against fixed column factors: the row step of alternating
    minimisation, on its own.

    Row ``i`` gets ``argmin_{u, b} sum_j (M_ij - offset - col_bias_j - b - u . v_j)^2 +
    reg n_i ||u||^2 + bias_reg b^2`` over its observed entries ``j`` (``b`` only when
    ``bias_reg`` is given).

    Parameters
    ----------
    M : scipy.sparse matrix or ndarray with NaN for missing entries, shape (m, n)
    col_factors : ndarray of shape (n, k)
    col_bias : ndarray of shape (n,), optional
    offset : float, default=0.0
        A global mean subtracted from every observation.
    reg : float, default=0.0
        Factor penalty (ALS-WR scaling: ``reg * n_i``).
    bias_reg : float, optional
        Fit a row bias with this penalty; ``None`` fits none.
    solver : {"exact", "cg", "sketch", "auto"}, default="exact"
    tol : float, default=1e-10
        Relative normal-equation residual at which ``"cg"`` and ``"sketch"`` stop.
    max_iter : int, optional
        Cap on their iterations per row (default: ``4 d`` for CG, 60 for the sketched solve).
    row_factors, row_bias : ndarray, optional
        Warm start of the iterative solvers (default zeros).
    random_state : None, int or RandomState
        Seeds the sketch.
    n_jobs : int, optional
        Threads.

    Returns
    -------
    row_factors : ndarray of shape (m, k)
    row_bias : ndarray of shape (m,)
        Zeros if ``bias_reg`` is None.
    iterations : int
        Total iterations of the iterative solvers.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.completion.row_solvers import solve_rows
    >>> V = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> M = np.array([[1.0, 2.0, 3.0]])
    >>> U, _, _ = solve_rows(M, V)
    >>> U.round(6)
    array([[1., 2.]])
    """
    from sparsenum.utils import check_array

    from ._observed import Observed
    from ._validation import check_matrix

    obs = Observed(check_matrix(M, "M", allow_empty=True))
    m, n = obs.shape
    V = check_array(col_factors, "col_factors", ndim=2)
    if V.shape[0] != n:
        raise ValueError(f"col_factors must have one row per column of M ({n}); got {V.shape}")
    k = V.shape[1]
    cb = np.zeros(n) if col_bias is None else check_array(col_bias, "col_bias", ndim=1)
    if cb.shape[0] != n:
        raise ValueError(f"col_bias must have length {n}; got {cb.shape[0]}")
    offset = check_scalar(offset, "offset")
    reg = check_scalar(reg, "reg", low=0)
    fit_bias = bias_reg is not None
    bias_reg = check_scalar(bias_reg, "bias_reg", low=0) if fit_bias else 0.0
    check_one_of(solver, "solver", SOLVERS)
    tol = check_scalar(tol, "tol", low=0, high=1, include_low=False)
    d = k + (1 if fit_bias else 0)
    U = np.zeros((m, k)) if row_factors is None else check_array(row_factors, "row_factors",
                                                                 ndim=2, copy=True)
    if U.shape != (m, k):
        raise ValueError(f"row_factors must have shape {(m, k)}; got {U.shape}")
    b = np.zeros(m) if row_bias is None else check_array(row_bias, "row_bias", ndim=1,
                                                         copy=True)
    if b.shape != (m,):
        raise ValueError(f"row_bias must have shape {(m,)}; got {b.shape}")
    codes = choose_solvers(obs.row_counts, d, solver)
    max_iter = check_int(max_iter, "max_iter", low=1, allow_none=True)
    iterations = run_side(obs.rows, obs.row_counts, V, cb, U, b, offset=offset,
                          fit_bias=fit_bias, pen_factor=reg * obs.row_counts.astype(float),
                          pen_bias=np.full(m, bias_reg), solvers=codes, tol=tol,
                          max_iter=max_iter, sketch_seed=random_seed(random_state),
                          n_jobs=n_jobs)
    return U, b, iterations
