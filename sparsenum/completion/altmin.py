"""Low-rank matrix completion by alternating minimisation (AltMin) with biases and ridge.

The model is ``X = mu + a 1^T + 1 c^T + U V^T``; the objective over the observed set Omega is

    F = sum_Omega (M_ij - X_ij)^2 + reg (sum_i n_i ||u_i||^2 + sum_j n_j ||v_j||^2)
        + beta_r ||a||^2 + beta_c ||c||^2,

with ``n_i`` the observations of row ``i`` (ALS-WR scaling, Zhou et al. 2008), ``mu`` the mean
of the observed values and ``bias_reg = (beta_r, beta_c)``. With the implicit prior
(:mod:`.implicit`) the row term is ``reg sum_i n_i ||u_i - Y^T x_i||^2 + implicit_reg
||Y||^2``. A sweep solves every row of ``(U, a)`` with ``(V, c)`` fixed, then every column:
each is a small least-squares problem (see :mod:`.row_solvers`). With ``reg = 0`` and no
biases this is the AltMin of Jain, Netrapalli &
Sanghavi (2013), which recovers an incoherent low-rank matrix from few entries; Gu, Song, Yin &
Zhang (2024) show the row problems may be solved approximately, by sketch-preconditioned
iterations, at nearly linear cost. The sample splitting and the clipping of the initial factors
that these analyses use are devices of the proofs; like practical implementations, we use all
the observations every sweep.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sparsenum.base import ConvergenceHistory
from sparsenum.utils import (
    check_bool,
    check_int,
    check_n_jobs,
    check_one_of,
    check_random_state,
    check_scalar,
    spawn_seeds,
)

from ._result import CompletionResult
from ._validation import (
    check_bias_reg,
    check_implicit,
    check_matrix,
    check_rank,
    check_reg,
    check_triplets,
    is_dask_array,
)
from .row_solvers import SETTINGS, SOLVERS, choose_solvers

__all__ = ["altmin_complete"]

_LABELS = {
    "regularised_objective": "regularised objective F (sum of squares + penalties)",
    "relative_change": "relative change ||X_t - X_{t-1}||_Omega / ||X_t||_Omega",
    "train_rmse": "training RMSE (value units)",
    "validation_rmse": "validation RMSE (value units)",
    "inner_iterations": "CG / sketched iterations in the sweep (count)",
}


def altmin_complete(M, rank, *, reg="auto", bias_reg="auto", biases=True, implicit="auto",
                    solver="auto", n_sweeps=30, tol=1e-6, init="svd", validation=None,
                    random_state=None, n_jobs=None, verbose=0, callback=None
                    ) -> CompletionResult:
    """Complete a partially observed matrix with a rank-``rank`` factorisation and biases.

    Alternating minimisation of the regularised squared error over the observed entries:
    ``X = mu + a 1^T + 1 c^T + U V^T`` minimises ``sum_Omega (M_ij - X_ij)^2 +
    reg (sum_i n_i ||u_i||^2 + sum_j n_j ||v_j||^2) + beta_r ||a||^2 + beta_c ||c||^2``, where
    ``n_i`` counts the observations of row ``i`` (ALS-WR scaling). Each sweep solves every row,
    then every column, as an independent small least-squares problem, in parallel.

    With ``implicit`` (the default ``"auto"`` decides on the validation split) the row factors
    get an implicit-feedback prior, as in SVD++ (Koren, 2008): the penalty of ``u_i`` is
    centred at ``Y^T x_i`` instead of zero, ``x_i`` the indicator of the columns row ``i``
    observed over ``sqrt(n_i)``, and ``Y`` (``n x rank``) is learned with the penalty
    ``implicit_reg ||Y||^2``. It helps when *which* entries a row has is informative (ratings:
    people rate what they chose to watch or attend), most for rows with few observations.

    Parameters
    ----------
    M : scipy.sparse matrix, ndarray or dask array of shape (m, n)
        The observations. Sparse: the stored entries (explicit zeros included). Dense: the
        entries that are not NaN. Dask: an array chunked by rows whose blocks are NaN-masked
        dense arrays or scipy.sparse matrices. Rows or columns without any observation are
        allowed: their entries are predicted from the biases (and the global mean) alone.
    rank : int
        Rank ``k`` of ``U V^T``, ``1 <= rank < min(m, n)``.
    reg : "auto" or float >= 0, default="auto"
        Factor penalty ``lambda``. ``"auto"`` picks it on a validation split of the
        observations (10%, drawn from ``random_state``) along a decreasing path, then refits on
        all of them.
    bias_reg : "auto", float >= 0 or (float, float), default="auto"
        Bias penalty, or a pair (rows, columns): a bias with ``n`` observations is shrunk by
        about ``n / (n + bias_reg)``. ``"auto"`` picks the pair on the validation split with a
        bias-only model. Ignored without biases.
    biases : bool, default=True
        Fit the global mean and row and column biases. ``reg=0, biases=False`` is plain AltMin.
    implicit : "auto", None or float > 0, default="auto"
        Penalty ``implicit_reg`` of the implicit prior's ``Y``; None: no prior. ``"auto"``
        tries a few multiples of ``reg`` times the mean column count on the validation split
        of ``reg="auto"``, after ``reg`` is chosen, and keeps the prior only if it lowers the
        held-out error (rows are then solved jointly with ``Y`` by the exact solver, whatever
        ``solver`` says; ``solver`` still applies to the columns). Ignored when ``reg=0`` (the
        prior would carry no weight) or ``rank`` is 0.
    solver : {"auto", "exact", "cg", "sketch"}, default="auto"
        Row solver (see :mod:`sparsenum.completion.row_solvers`); ``"auto"`` picks, per row,
        the exact or sketched solve with the lower predicted cost.
    n_sweeps : int, default=30
        Maximum number of sweeps of the final fit.
    tol : float, default=1e-6
        Stop when the relative change of the fitted values on the observed entries,
        ``||X_t - X_{t-1}||_Omega / ||X_t||_Omega``, falls to ``tol``.
    init : {"svd", "random"}, default="svd"
        Starting column factors: the top singular vectors of the rescaled observed matrix
        ``P_Omega(M - mu) / p`` (Jain et al.'s start, by a randomised SVD) or Gaussian.
    validation : matrix like ``M`` or (rows, cols, values) tuple, optional
        Held-out entries whose RMSE is recorded every sweep (``validation_rmse``). They do not
        influence the fit.
    random_state : None, int, numpy RandomState or Generator
        Seeds the validation split of ``"auto"``, the start and the sketches.
    n_jobs : int, optional
        Threads of the row solves (``None``: numba's default, one thread for small problems;
        ``-1``: all cores). Results do not depend on it.
    verbose : int, default=0
        ``1``: the chosen penalties and the final state; ``2``: a line per sweep.
    callback : callable, optional
        ``callback(sweep, state)`` after every sweep, ``state`` a dict with the current
        factors, biases and history values (read-only views); returning True stops the fit.

    Returns
    -------
    CompletionResult

    Raises
    ------
    ValueError
        If ``rank`` is out of range, ``M`` has no observation, a repeated ``(row, col)`` pair,
        NaN among stored sparse values or infinity anywhere, or a penalty is negative.
    TypeError
        If an argument has the wrong type.

    References
    ----------
    Y. Gu, Z. Song, J. Yin, L. Zhang, "Low Rank Matrix Completion via Robust Alternating
    Minimization in Nearly Linear Time", ICLR 2024 (arXiv:2302.11068).
    P. Jain, P. Netrapalli, S. Sanghavi, "Low-rank Matrix Completion using Alternating
    Minimization", STOC 2013.
    Y. Zhou, D. Wilkinson, R. Schreiber, R. Pan, "Large-Scale Parallel Collaborative Filtering
    for the Netflix Prize", AAIM 2008 (ALS-WR).
    Y. Koren, "Factorization Meets the Neighborhood: a Multifaceted Collaborative Filtering
    Model", KDD 2008 (SVD++); A. Paterek, "Improving Regularized Singular Value Decomposition
    for Collaborative Filtering", KDD Cup 2007 (NSVD).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.completion import altmin_complete
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 2)) @ rng.standard_normal((2, 50))
    >>> M = np.where(rng.random(X.shape) < 0.5, X, np.nan)
    >>> result = altmin_complete(M, 2, reg=0, biases=False, tol=1e-10, n_sweeps=100,
    ...                          random_state=0)
    >>> bool(result.converged), float(np.abs(result.to_dense() - X).max()) < 1e-6
    (True, True)
    """
    rank, settings = _check_arguments(rank, reg, bias_reg, biases, solver, n_sweeps, tol, init,
                                      n_jobs, verbose, callback)
    settings["implicit"] = check_implicit(implicit)
    seeds = spawn_seeds(check_random_state(random_state), 4)
    if is_dask_array(M):
        from ._dask import DaskObserved  # dask is imported only for dask input

        data = DaskObserved(M, "M")
    else:
        from ._observed import Observed

        data = Observed(check_matrix(M, "M"))
    rank = check_rank(rank, data.shape)
    heldout = None
    if validation is not None:
        from ._observed import HeldOut

        heldout = HeldOut(check_triplets(validation, data.shape, "validation"))
    return fit(data, rank, seeds=seeds, heldout=heldout, **settings)


def _check_arguments(rank, reg, bias_reg, biases, solver, n_sweeps, tol, init, n_jobs, verbose,
                     callback):
    check_int(rank, "rank")
    settings = {
        "reg": check_reg(reg, "reg"),
        "bias_reg": check_bias_reg(bias_reg),
        "biases": check_bool(biases, "biases"),
        "solver": check_one_of(solver, "solver", SOLVERS),
        "n_sweeps": check_int(n_sweeps, "n_sweeps", low=1),
        "tol": check_scalar(tol, "tol", low=0),
        "init": check_one_of(init, "init", ("svd", "random")),
        "n_jobs": check_n_jobs(n_jobs),
        "verbose": check_int(verbose, "verbose", low=0),
        "callback": callback,
    }
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None; got {callback!r}")
    return rank, settings


def fit(data, rank, *, reg, bias_reg, biases, solver, n_sweeps, tol, init, n_jobs, verbose,
        callback, seeds, implicit=None, heldout=None) -> CompletionResult:
    """Validated inputs -> result: the penalty search when asked, then the final fit."""
    from .regularization import select_penalties

    mu = data.values_sum() / data.nnz if biases else 0.0
    search = np.empty((0, 5))
    start = None
    if rank == 0:  # biases only (estimators on a single row or column): no factor penalty
        reg = 0.0
    if rank == 0 or (reg != "auto" and reg == 0):
        implicit = None  # the prior would have no weight: plain alternating minimisation
    if not biases:
        bias_reg = (0.0, 0.0)
    elif not isinstance(bias_reg, (tuple, str)):
        bias_reg = (bias_reg, bias_reg)
    if (reg == "auto") or (biases and bias_reg == "auto") or implicit == "auto":
        reg, bias_reg, implicit, search, start = select_penalties(
            data, rank, reg=reg, bias_reg=bias_reg, biases=biases, solver=solver, tol=tol,
            init=init, seeds=seeds, n_jobs=n_jobs, implicit=implicit, verbose=verbose)
    if start is None:
        start = initial_factors(data, rank, mu, init, seeds[1])
    state = sweeps(data, start, mu=mu, reg=reg, bias_reg=bias_reg, biases=biases,
                   solver=solver, n_sweeps=n_sweeps, tol=tol, seed=int(seeds[2]),
                   n_jobs=n_jobs, implicit_reg=implicit, verbose=verbose, callback=callback,
                   heldout=heldout)
    return CompletionResult(
        row_factors=state.U, col_factors=state.V, row_bias=state.a, col_bias=state.c,
        global_mean=float(mu), reg=float(reg), bias_reg=tuple(float(b) for b in bias_reg),
        implicit_reg=None if implicit is None else float(implicit), implicit_factors=state.Y,
        train_rmse=state.train_rmse, reg_search=search, solver_rows=state.solver_rows,
        converged=state.converged, n_iter=state.n_iter, history=state.history)


class Start:
    """Starting point of a fit: factors, biases and the implicit prior's ``Y`` (``None``:
    zeros), copied before use."""

    def __init__(self, U, V, a, c, Y=None):
        self.U, self.V, self.a, self.c, self.Y = U, V, a, c, Y


def initial_factors(data, rank, mu, init, seed) -> Start:
    """Zero row factors and biases, and column factors from a randomised SVD or Gaussian."""
    m, n = data.shape
    rng = np.random.default_rng(int(seed))
    if rank == 0:
        V = np.zeros((n, 0))
    elif init == "random":
        scale = math.sqrt(max(data.rms(mu), 1e-300))
        V = rng.standard_normal((n, rank)) * scale / math.sqrt(rank)
    else:
        V = _svd_start(data, rank, mu, rng)
    return Start(np.zeros((m, rank)), V, np.zeros(m), np.zeros(n))


# power iterations of the randomised SVD start: the start only needs the dominant subspace
# roughly (the sweeps refine it), and 4 iterations separate it well even for slowly decaying
# spectra (Halko, Martinsson & Tropp, 2011)
_POWER_ITERATIONS = 4
_OVERSAMPLING = 5


def _svd_start(data, rank, mu, rng):
    from threadpoolctl import threadpool_limits

    # QR of tall-thin blocks gains nothing from BLAS threads, and their spinning made each
    # one take hundreds of milliseconds on a busy machine
    with threadpool_limits(1):
        return _randomised_svd_start(data, rank, mu, rng)


def _randomised_svd_start(data, rank, mu, rng):
    m, n = data.shape
    p = data.nnz / (m * n)
    width = min(rank + _OVERSAMPLING, min(m, n))
    Q, _ = np.linalg.qr(data.matmat(rng.standard_normal((n, width)), mu))
    for _ in range(_POWER_ITERATIONS):
        Z, _ = np.linalg.qr(data.rmatmat(Q, mu))
        Q, _ = np.linalg.qr(data.matmat(Z, mu))
    B = data.rmatmat(Q, mu).T  # width x n
    _, s, Vt = np.linalg.svd(B, full_matrices=False)
    return np.ascontiguousarray(Vt[:rank].T * np.sqrt(s[:rank] / p))


class _State:
    pass


@dataclasses.dataclass(frozen=True)
class Extrapolation:
    """Line search along each sweep's update (as in accelerated ALS for tensor factorisations):
    after a sweep from ``x0`` to ``x``, try ``x + step (x - x0)`` and keep it only if the
    objective is lower, so the objective still never increases. Alternating minimisation
    creeps along shallow valleys (a row bias traded against the factors' constant part, with a
    contraction ``rho`` near 1 per sweep); for a sequence contracting by ``rho`` the rest of
    the way is ``rho / (1 - rho)`` times the last step, which is the step tried, with ``rho``
    the ratio of the last two changes of the fitted values."""

    #: off only to study the plain iteration
    enabled: bool = True
    #: contractions faster than this need no help (and the evaluation would be wasted)
    slowest: float = 0.5
    #: largest step, so that a ratio near 1 cannot fling the factors far
    largest: float = 50.0


EXTRAPOLATION = Extrapolation()


def sweeps(data, start, *, mu, reg, bias_reg, biases, solver, n_sweeps, tol, seed, n_jobs,
           implicit_reg=None, verbose=0, callback=None, heldout=None,
           label="altmin") -> _State:
    """Alternate row and column steps from ``start`` until ``tol`` or ``n_sweeps``; with
    ``implicit_reg`` (and ``reg > 0``) the row factors have the implicit prior of
    :mod:`.implicit`, whose ``Y`` is updated after every row step."""
    from .implicit import ImplicitPrior

    m, n = data.shape
    U, V = start.U.copy(), start.V.copy()
    a, c = start.a.copy(), start.c.copy()
    k = V.shape[1]
    prior = ImplicitPrior(data, reg, implicit_reg, n_jobs) if (
        implicit_reg is not None and reg > 0 and k > 0) else None
    Y = np.zeros((n, k)) if (prior is None or start.Y is None) else start.Y.copy()
    d = k + (1 if biases else 0)
    row_counts, col_counts = data.row_counts, data.col_counts
    row_pen = reg * row_counts.astype(np.float64)
    col_pen = reg * col_counts.astype(np.float64)
    row_bias_pen, col_bias_pen = np.full(m, bias_reg[0]), np.full(n, bias_reg[1])
    row_solvers = choose_solvers(row_counts, d, solver)
    col_solvers = choose_solvers(col_counts, d, solver)
    history = ConvergenceHistory(n_sweeps, ("train_rmse", "validation_rmse", "inner_iterations"),
                                 objective_name="regularised_objective",
                                 criterion_name="relative_change", labels=_LABELS)
    data.start(U, V, a, c, mu, n_jobs)
    start_point = (U.copy(), V.copy(), a.copy(), c.copy(), Y.copy())
    last_change, extrapolated = 0.0, 0

    def penalty(point):
        pU, pV, pa, pc, pY = point
        row_part = prior.penalty(pU, pY) if prior is not None else \
            float(row_pen @ np.einsum("ij,ij->i", pU, pU))
        return (row_part + float(col_pen @ np.einsum("ij,ij->i", pV, pV))
                + bias_reg[0] * float(pa @ pa) + bias_reg[1] * float(pc @ pc))

    change = np.inf
    converged = False
    sweep = 0
    train_rmse = float("nan")
    history.restart_clock()
    while sweep < n_sweeps:
        sweep += 1
        inner_tol = float(np.clip(SETTINGS.inner_ratio * change, SETTINGS.inner_floor,
                                  SETTINGS.inner_ceiling))
        solve = {"offset": mu, "fit_bias": biases, "tol": inner_tol, "n_jobs": n_jobs}
        if prior is None:
            inner = data.step("rows", V, c, U, a, pen_factor=row_pen, pen_bias=row_bias_pen,
                              solvers=row_solvers, sketch_seed=seed, **solve)
        else:
            Y, inner = prior.joint_step(V, c, U, a, Y, offset=mu, fit_bias=biases,
                                        pen_bias=row_bias_pen, tol=inner_tol)
        inner += data.step("cols", U, a, V, c, pen_factor=col_pen, pen_bias=col_bias_pen,
                           solvers=col_solvers, sketch_seed=seed, **solve)
        if reg > 0 and k > 0:
            U, V, Y = rebalance(U, V, row_pen, col_pen, start_point[0], prior=prior, Y=Y)
        point = (U, V, a, c, Y)
        (sse, sq_change, sq_fit), fitted = data.evaluate(U, V, a, c, mu, n_jobs)
        objective = sse + penalty(point)
        plain_change = math.sqrt(sq_change)
        ratio = plain_change / last_change if last_change > 0 else 0.0
        if EXTRAPOLATION.enabled and EXTRAPOLATION.slowest <= ratio < 1.0:
            step = min(ratio / (1.0 - ratio), EXTRAPOLATION.largest)
            candidate = tuple(x + step * (x - x0) for x, x0 in zip(point, start_point))
            sums, fitted_c = data.evaluate(*candidate[:4], mu, n_jobs)
            objective_c = sums[0] + penalty(candidate)
            if objective_c < objective:
                U, V, a, c, Y = point = candidate
                (sse, sq_change, sq_fit), fitted, objective = sums, fitted_c, objective_c
                extrapolated += 1
        last_change = plain_change
        data.commit(fitted)
        start_point = tuple(x.copy() for x in point)
        change = math.sqrt(sq_change) / math.sqrt(sq_fit) if sq_fit > 0 else \
            (0.0 if sq_change == 0 else np.inf)
        train_rmse = math.sqrt(sse / data.nnz)
        val_rmse = heldout.rmse(U, V, a, c, mu) if heldout is not None else float("nan")
        history.record(sweep, objective, change, train_rmse=train_rmse,
                       validation_rmse=val_rmse, inner_iterations=inner)
        if verbose >= 2:
            print(f"[{label}] sweep {sweep:3d}  objective {objective:.6e}  change {change:.3e}"
                  f"  train RMSE {train_rmse:.5f}"
                  + (f"  validation RMSE {val_rmse:.5f}" if heldout is not None else ""))
        stop = callback is not None and callback(sweep, {
            "row_factors": U, "col_factors": V, "row_bias": a, "col_bias": c,
            "objective": objective, "relative_change": change, "train_rmse": train_rmse,
            "validation_rmse": val_rmse})
        if change <= tol:
            converged = True
            break
        if stop:
            break
    if verbose >= 1:
        status = "converged" if converged else "stopped"
        print(f"[{label}] {status} after {sweep} sweeps: relative change {change:.3e}, "
              f"train RMSE {train_rmse:.5f}")
    state = _State()
    state.U, state.V, state.a, state.c, state.Y = U, V, a, c, Y
    state.history, state.converged, state.n_iter = history, converged, sweep
    state.train_rmse = train_rmse
    names = {0: "exact", 1: "cg", 2: "sketch"}
    counts = np.bincount(np.concatenate([row_solvers, col_solvers]), minlength=3)
    state.solver_rows = {names[i]: int(counts[i]) for i in range(3)}
    return state


def rebalance(U, V, row_weights, col_weights, previous, *, prior=None, Y=None):
    """The factorisation of ``U V^T`` with the least penalty ``sum_i w_i ||u_i||^2 +
    sum_j w_j ||v_j||^2``: ``U T`` and ``V T^{-T}`` for a ``k x k`` matrix ``T``.

    With ``R_u^T R_u = U^T W_u U``, ``R_v^T R_v = V^T W_v V`` and ``R_u R_v^T = P S Q^T``,
    ``T = R_u^{-1} P S^{1/2}`` balances both penalties at ``trace(S)``, their minimum. The
    fitted values do not change, the objective can only decrease, and the slow mode of
    alternating minimisation that trades scale between ``U`` and ``V`` (its contraction tends
    to 1 as the penalty vanishes) is removed at once. The balanced pair is unique up to an
    orthogonal ``Q`` (``U T Q``, ``V T^{-T} Q``); ``Q`` is chosen to bring ``U`` closest to
    ``previous`` (orthogonal Procrustes), so consecutive sweeps stay comparable (the
    extrapolation needs that). Skipped if a factor is rank deficient.

    With the implicit prior (:mod:`.implicit`) the row penalty is ``sum_i w_i ||u_i - q_i||^2
    + implicit_reg ||Y||^2``: ``Y T`` moves every ``q_i`` to ``q_i T``, so the same ``T``
    balances it with ``R_u^T R_u = (U - Q)^T W_u (U - Q) + implicit_reg Y^T Y``. Returns
    ``(U, V, Y)``.
    """
    from ._kernels import weighted_cross

    if prior is None:
        Gu = weighted_cross(U, U, row_weights)
    else:
        D = U - prior.means(Y)
        Gu = weighted_cross(D, D, row_weights) + prior.implicit_reg * (Y.T @ Y)
    Gv = weighted_cross(V, V, col_weights)
    try:
        Ru = np.linalg.cholesky(Gu).T
        Rv = np.linalg.cholesky(Gv).T
    except np.linalg.LinAlgError:
        return U, V, Y
    P, S, Qt = np.linalg.svd(Ru @ Rv.T)
    if S[-1] <= 1e-12 * S[0]:
        return U, V, Y
    root = np.sqrt(S)
    Tu = np.linalg.solve(Ru, P * root)
    Tv = np.linalg.solve(Rv, Qt.T * root)
    # Procrustes on the k x k cross product (U T)^T W previous = T^T (U^T W previous), so the
    # tall factors are multiplied once each
    A, _, Bt = np.linalg.svd(Tu.T @ weighted_cross(U, previous, row_weights))
    Q = A @ Bt
    Tu = Tu @ Q
    return U @ Tu, V @ (Tv @ Q), (None if Y is None else Y @ Tu)
