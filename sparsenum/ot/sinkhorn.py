"""Log-stabilised Sinkhorn scaling with absorption (Schmitzer 2019): the public function."""

from __future__ import annotations

import time

import numpy as np

from ..utils import check_int, check_n_jobs, numba_threads
from . import _kernels
from ._progress import Progress
from ._result import TransportResult, make_history
from ._scaling import ScalingState, finish_entropic, scaling_chunks, scaling_plan, start_potential
from ._validation import Problem, check_callback, check_init, check_tol_max_iter, check_verbose

__all__ = ["sinkhorn"]


def sinkhorn(a, b, C, reg, *, tol=1e-9, max_iter=100_000, init=None, check_every=10,
             n_jobs=None, verbose=0, callback=None) -> TransportResult:
    r"""Entropic optimal transport by log-stabilised Sinkhorn scaling.

    Solves :math:`\min_P \langle C, P\rangle + \mathrm{reg} \sum_{ij} P_{ij}(\log P_{ij} - 1)`
    subject to :math:`P 1 = a,\ P^T 1 = b`. Each iteration costs two products with the kernel
    :math:`K = \exp((f \oplus g - C)/\mathrm{reg})`; large scalings are absorbed into the
    potentials ``f, g`` and the kernel is recomputed only then (Schmitzer's stabilised scaling),
    so it stays finite for ``reg`` down to ``1e-4`` with costs in ``[0, 1]``, where the plain
    kernel of ``ot.sinkhorn`` underflows.

    Parameters
    ----------
    a : array-like of shape (n,)
        Source weights, nonnegative, with finite positive total mass. Zero-mass entries get
        zero rows and ``f = -inf``. Float32 input is cast to float64.
    b : array-like of shape (m,)
        Target weights, nonnegative, same total mass as ``a`` (relative tolerance 1e-6; the
        solver rescales ``b`` to the mass of ``a``, absorbing float32 rounding).
    C : array-like of shape (n, m)
        Finite ground cost, ``max|C| <= 1e300``.
    reg : float
        Entropic regularisation, ``> 0`` (``eta = 1 / reg`` in the SNS paper), and at least
        ``1e-10 * max|C|``: below that, float64 rounding of ``C`` decides the plan (the error
        names the smallest usable value).
    tol : float, default=1e-9
        Stop when the marginal violation relative to the total mass,
        ``(||P1 - a||_1 + ||P^T 1 - b||_1) / sum(a)``, is at most ``tol`` (for weights summing
        to one, the plain violation).
    max_iter : int, default=100_000
        Maximum number of iterations (one iteration = a row and a column update).
    init : tuple (f, g), optional
        Warm-start potentials (for instance from a previous solve at a larger ``reg``); ``-inf``
        is accepted at zero weights, as returned.
    check_every : int, default=10
        Iterations between evaluations of the stopping criterion.
    n_jobs : int, optional
        Numba threads for the exp passes over ``C`` (``None``: numba's default for problems of
        at least 250,000 entries, one thread below, where starting threads costs more than the
        pass; ``-1``: all cores). The results do not depend on it.
    verbose : int or bool, default=0
        ``1``: a line when done; ``2``: a line per check of the criterion.
    callback : callable, optional
        ``callback(iteration, state)`` at every check, with ``state`` a read-only mapping of
        ``objective``, ``marginal_violation``, ``sinkhorn_iterations`` and the potentials ``f``,
        ``g`` (of the unit-mass problem on the support); returning True stops the solver.

    Returns
    -------
    TransportResult
        ``history`` has one row per check: iteration, dual objective, marginal violation and
        ``sinkhorn_iterations``; ``elapsed`` is interpolated inside chunks of iterations.

    Raises
    ------
    ValueError
        For weights that are negative, not finite, of zero or infinite total mass or of
        unequal masses; a cost matrix of the wrong shape or not finite; ``reg`` too small for
        the costs; and out-of-range parameters. ``TypeError`` for arguments of the wrong type.

    References
    ----------
    B. Schmitzer, "Stabilized sparse scaling algorithms for entropy regularized transport
    problems", SIAM J. Sci. Comput. 41(3), 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.ot import sinkhorn
    >>> x = np.linspace(0, 1, 5)
    >>> C = (x[:, None] - x[None, :]) ** 2
    >>> res = sinkhorn(np.full(5, 0.2), np.full(5, 0.2), C, reg=1e-3)
    >>> res.converged, round(res.cost, 6), res.marginal_error < 1e-9
    (True, 0.0, True)
    """
    problem = Problem.of(a, b, C, reg)
    tol, max_iter = check_tol_max_iter(tol, max_iter)
    check_every = check_int(check_every, "check_every", low=1)
    init = check_init(init, problem.marginals)
    check_n_jobs(n_jobs)
    progress = Progress("sinkhorn", check_verbose(verbose), check_callback(callback))
    a_s, b_s, C_s, reg = problem.a, problem.b, problem.C, problem.reg
    with numba_threads(n_jobs, work=_kernels.pass_work(C_s)):
        start = time.perf_counter()
        state = ScalingState(C_s, a_s, b_s, reg, start_potential(problem, init))
        errors, objectives, iterations, elapsed = [], [], [], []
        done = 0
        converged = False
        for chunk in scaling_chunks(check_every, progress):
            if done >= max_iter:
                break
            t0 = time.perf_counter() - start
            n_it, its, errs, objs = state.run(min(chunk, max_iter - done), tol, check_every)
            t1 = time.perf_counter() - start
            k = errs.shape[0]
            iterations.append(done + its)
            elapsed.append(t0 + (t1 - t0) * (np.arange(1, k + 1) / max(k, 1)))
            errors.append(errs)
            objectives.append(objs)
            done += n_it
            if k and progress.active and progress.update(
                    done, float(objs[-1]), float(errs[-1]), _potentials_of(state),
                    sinkhorn_iterations=done) and not errs[-1] <= tol:
                break
            if k and (errs[-1] <= tol or not np.isfinite(errs[-1])):
                converged = bool(errs[-1] <= tol)
                break
        f, g = state.potentials()
        iters = np.concatenate(iterations) if iterations else np.zeros(0)
        history = make_history(np.concatenate(errors) if errors else [],
                               np.concatenate(objectives) if objectives else [],
                               iteration=iters,
                               elapsed=np.concatenate(elapsed) if elapsed else None,
                               sinkhorn_iterations=iters.astype(float))
        result = finish_entropic(problem, f, g, converged=converged, n_iter=done,
                                 history=history, plan=scaling_plan(state))
    progress.finish(result)
    return result


def _potentials_of(state):
    return lambda: dict(zip(("f", "g"), state.potentials()))
