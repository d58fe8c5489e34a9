"""The general block coordinate descent framework: its driver, over any problem, partition,
selection rule and update rule (the working-set Lasso and L1-logistic solvers are in lasso.py and
l1_logistic.py)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.linalg as sla

from sparsenum.base import ConvergenceHistory, SolverResult
from sparsenum.utils import check_int, check_one_of, check_random_state

from ._progress import Progress
from ._validation import check_callback, check_tol, check_verbose
from .partitions import FIXED_PARTITIONS, PARTITION_RULES, PARTITIONS
from .problems import BCDProblem
from .selection import SELECTION_RULES, SELECTIONS
from .updates import UPDATE_RULES, UPDATES

__all__ = ["BCDResult", "block_coordinate_descent"]



@dataclasses.dataclass(frozen=True)
class Tuning:
    """Constants of the driver's stall detection, each with its reason."""

    #: epochs (passes over all blocks) that lower neither the objective (beyond rounding) nor the
    #: optimality measure (to a new minimum): the run can make no more progress at this
    #: precision, and ends; with ``tol=0`` (machine precision) that is the goal
    stall_epochs: int = 20
    #: a decrease of the objective below this fraction of its size is rounding, not progress
    rounding: float = 16.0 * np.finfo(np.float64).eps


TUNING = Tuning()


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class BCDResult(SolverResult):
    """Result of :func:`block_coordinate_descent`.

    Attributes
    ----------
    x : ndarray of shape (n_coords,)
        Final iterate.
    objective : float
        ``F(x) = f(x) + l1 ||x||_1``.
    criterion : float
        Final optimality measure (``history.criterion_name``): ``max|grad f|`` for smooth
        problems, ``max|x - prox(x - grad f)|`` with an L1 penalty or ``x >= 0``.
    n_active : int
        Nonzeros of ``x``.
    """

    x: np.ndarray
    objective: float
    criterion: float
    n_active: int


class _Context:
    """What rules and updates share: the problem, the partition and cached block constants."""

    def __init__(self, problem, partition, rng, partition_rule, selection):
        self.problem = problem
        self.partition = partition
        self.rng = rng
        L = problem.lipschitz
        self.L_max = float(L.max()) if L.size else 1.0
        self.diag_bound = (np.maximum(problem.diag_bound(partition.block_size), 1e-300)
                           if selection.needs_diag_bound(partition.fixed) else None)
        self._factors = {}
        self._scale = {}
        if partition.fixed:
            if partition.block_size == 1:
                self.block_L = np.maximum(L[partition.order], 1e-300)
            else:
                self.block_L = np.array([self._lambda_max(problem.block_bound(b))
                                         for b in partition.blocks])
            self.block_prob = self.block_L / self.block_L.sum()
        partition_rule.prepare(self)
        selection.prepare(self)

    @staticmethod
    def _lambda_max(H):
        if H.shape[0] == 1:
            return max(float(H[0, 0]), 1e-300)
        return max(float(sla.eigvalsh(H, subset_by_index=[H.shape[0] - 1, H.shape[0] - 1])[0]),
                   1e-300)

    def block_constant(self, block, block_id):
        if block_id is not None:
            return self.block_L[block_id]
        if block.shape[0] == 1:
            return max(float(self.problem.lipschitz[block[0]]), 1e-300)
        return self._lambda_max(self.problem.block_bound(block))

    def adaptive_scale(self, block_id):
        return self._scale.get(block_id, 1.0)

    def set_adaptive_scale(self, block_id, value):
        self._scale[block_id] = value

    def block_matrix(self, block, block_id):
        if block_id is not None and block_id in self._factors:
            return self._factors[block_id][0]
        H = self.problem.block_bound(block)
        if block_id is not None:
            self._factors[block_id] = (H, None)
        return H

    def block_solve(self, block, block_id, g):
        entry = self._factors.get(block_id) if block_id is not None else None
        H = entry[0] if entry else self.problem.block_bound(block)
        factor = entry[1] if entry else None
        if factor is None:
            try:
                factor = sla.cho_factor(H, check_finite=False)
            except np.linalg.LinAlgError:
                jitter = 1e-12 * max(float(np.trace(H)), 1e-300) + 1e-300
                factor = sla.cho_factor(H + jitter * np.eye(H.shape[0]), check_finite=False)
            if block_id is not None:
                self._factors[block_id] = (H, factor)
        return sla.cho_solve(factor, g, check_finite=False)


def _check_combination(problem, partition, selection, update):
    """Check what the chosen rules declare they require against the problem and each other."""
    smooth = not (problem.l1 or problem.nonneg)
    if update.needs_quadratic and not problem.is_quadratic:
        raise ValueError(f"update={update.name!r} needs a quadratic problem; "
                         f"{type(problem).__name__} is not: use 'matrix' (upper-bound) or "
                         "'newton'")
    if update.needs_forest_blocks or partition.grows_forests:
        if not getattr(problem, "supports_message_passing", False):
            raise ValueError(f"update='message_passing' and partition='forest' need a sparse "
                             f"quadratic problem (SparseQuadratic, LabelPropagationProblem); got "
                             f"{type(problem).__name__}")
        if not smooth:
            raise ValueError("message passing solves smooth quadratics: it does not support the "
                             "L1 penalty or x >= 0")
    if update.needs_forest_blocks and not partition.may_hold_forests:
        raise ValueError(f"update={update.name!r} needs forest-structured blocks: use "
                         f"partition='forest'; got partition={partition.name!r}")
    if selection.smooth_only and not smooth:
        raise ValueError(f"selection={selection.name!r} is defined here for smooth problems "
                         f"only; {selection.alternative}")
    if selection.needs_fixed_partition and not partition.fixed:
        raise ValueError(f"selection={selection.name!r} needs a fixed partition "
                         f"{FIXED_PARTITIONS}; got partition={partition.name!r}")
    if partition.grows_forests and not selection.scores_coordinates:
        ranking = [name for name, rule in SELECTION_RULES.items() if rule.scores_coordinates]
        raise ValueError(f"partition={partition.name!r} grows blocks greedily: use selection "
                         f"{', '.join(map(repr, ranking[:-1]))} or {ranking[-1]!r}; got "
                         f"{selection.name!r}")


def block_coordinate_descent(problem, *, partition="order", selection="gsl", update="gradient",
                             block_size=1, tol=1e-6, max_iter=1000, x0=None,
                             random_state=None, verbose=0, callback=None) -> BCDResult:
    """Minimise ``f(x) + l1 ||x||_1`` by block coordinate descent.

    Each iteration picks a block ``b`` with the ``selection`` rule among the blocks of
    ``partition`` and moves ``x_b`` by the ``update`` rule; the gradient is kept incrementally by
    the problem, so greedy rules cost O(n_coords) per iteration rather than a full gradient.

    Parameters
    ----------
    problem : BCDProblem
        :class:`LeastSquares`, :class:`BinaryLogistic`, :class:`MultinomialLogistic`,
        :class:`SparseQuadratic` or :class:`LabelPropagationProblem`.
    partition : {"order", "random", "sort", "avg", "variable", "forest"}, default="order"
        Fixed partitions, variable blocks, or variable forest-structured blocks.
    selection : {"cyclic", "random", "lipschitz", "gs", "gsl", "gsq", "gsd"}, default="gsl"
        Block selection rule (see :mod:`sparsenum.bcd.selection`).
    update : {"gradient", "adaptive", "matrix", "newton", "exact", "message_passing"}
        Block update rule (see :mod:`sparsenum.bcd.updates`); default "gradient".
    block_size : int, default=1
        Coordinates per block (the maximal size for forest blocks).
    tol : float, default=1e-6
        Stop when the optimality measure (``history.criterion_name``) is at most ``tol``.
        Whatever ``tol``, the run also ends when it stalls: 20 epochs (passes over all blocks)
        that lower neither the objective beyond rounding nor the optimality measure to a new
        minimum. ``tol=0`` asks for machine precision, and such a stop then counts as
        converged; with ``tol > 0`` it reports ``converged=False``.
    max_iter : int, default=1000
        Maximum number of block updates.
    x0 : array-like of shape (n_coords,), optional
        Starting point (default zeros).
    random_state : int, RandomState or None
        Seeds random partitions and random / Lipschitz sampling.
    verbose : int or bool, default=0
        ``1``: a summary line at the end; ``2``: a line per block update as well.
    callback : callable, optional
        ``callback(iteration, state)`` after each block update; ``state`` is a read-only
        mapping with ``objective``, the optimality measure under its name
        (``history.criterion_name``), ``x`` (a read-only view: copy it to keep it) and
        ``block`` (the coordinates just updated). Returning ``True`` stops the run.

    Returns
    -------
    BCDResult
        With ``history`` recording, per iteration, the objective ``F``, the optimality measure and
        the number of nonzeros (``n_active``).

    Raises
    ------
    ValueError
        For unknown or unsupported choices (the message says what to use instead) and bad
        values of the numeric arguments.
    TypeError
        For a ``problem`` that is not a :class:`BCDProblem` and arguments of the wrong type.

    References
    ----------
    J. Nutini, I. Laradji, M. Schmidt. Let's Make Block Coordinate Descent Converge Faster: Faster
    Greedy Rules, Message-Passing, Active-Set Complexity, and Superlinear Convergence.
    JMLR 23, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd import LeastSquares, block_coordinate_descent
    >>> rng = np.random.default_rng(0)
    >>> A, b = rng.standard_normal((30, 8)), rng.standard_normal(30)
    >>> res = block_coordinate_descent(LeastSquares(A, b), selection="gsl", update="matrix",
    ...                                block_size=4, tol=1e-10)
    >>> res.converged, bool(np.allclose(res.x, np.linalg.lstsq(A, b, rcond=None)[0]))
    (True, True)
    """
    if not isinstance(problem, BCDProblem):
        raise TypeError(f"problem must be a BCDProblem (e.g. LeastSquares); got "
                        f"{type(problem).__name__}")
    partition = PARTITION_RULES[check_one_of(partition, "partition", PARTITIONS)]
    selection = SELECTION_RULES[check_one_of(selection, "selection", SELECTIONS)]
    update = UPDATE_RULES[check_one_of(update, "update", UPDATES)]
    block_size = check_int(block_size, "block_size", low=1)
    tol = check_tol(tol)
    max_iter = check_int(max_iter, "max_iter", low=0)
    verbose = check_verbose(verbose)
    callback = check_callback(callback)
    _check_combination(problem, partition, selection, update)
    rng = check_random_state(random_state)
    rng = np.random.default_rng(rng.randint(0, 2**31 - 1))
    block_size = min(block_size, problem.n_coords)

    state = problem.start(x0)
    part = partition.build(problem.n_coords, block_size, problem.lipschitz, rng)
    ctx = _Context(problem, part, rng, partition, selection)
    history = ConvergenceHistory(max_iter + 1, ("n_active",),
                                 criterion_name=problem.criterion_name,
                                 labels=_labels(problem.criterion_name))
    progress = Progress("block_coordinate_descent", verbose, callback, problem.criterion_name,
                        tol)
    crit = problem.optimality(state)
    objective = problem.objective(state)
    history.record(0, objective, crit, elapsed=0.0, n_active=float(np.count_nonzero(state.x)))
    start = time.perf_counter()
    n_blocks = part.n_blocks if part.fixed else -(-problem.n_coords // block_size)
    patience = TUNING.stall_epochs * max(n_blocks, 1)
    best_crit, best_objective, last_progress = crit, objective, 0
    stalled = False
    stopped = progress.step(0, **{problem.criterion_name: crit}, objective=objective, x=state.x,
                            block=np.empty(0, dtype=np.int64))
    it = 0
    while crit > tol and it < max_iter and not stopped:
        block, block_id = partition.choose(selection, ctx, state, it)
        d = update.step(ctx, state, block, block_id)
        if np.any(d):
            problem.apply(state, block, d)
        it += 1
        crit = problem.optimality(state)
        objective = problem.objective(state)
        history.record(it, objective, crit, elapsed=time.perf_counter() - start,
                       n_active=float(np.count_nonzero(state.x)))
        stopped = progress.step(it, **{problem.criterion_name: crit}, objective=objective,
                                x=state.x, block=block)
        if crit < best_crit or objective < best_objective - TUNING.rounding * abs(best_objective):
            best_crit = min(best_crit, crit)
            best_objective = min(best_objective, objective)
            last_progress = it
        elif it - last_progress >= patience and crit > tol:
            stalled = True
            break
    converged = bool(crit <= tol or (stalled and tol == 0.0))
    result = BCDResult(converged=converged, n_iter=it, history=history, x=state.x.copy(),
                       objective=problem.objective(state), criterion=crit,
                       n_active=int(np.count_nonzero(state.x)))
    reason = ("optimality measure below tol" if crit <= tol else
              "no progress left at machine precision" if stalled else
              "stopped by the callback" if stopped else "max_iter reached")
    progress.finish(result, reason)
    return result


def _labels(criterion_name):
    return {"max_abs_gradient": "largest gradient entry |grad f|_inf",
            "prox_gradient_residual": "proximal-gradient residual |x - prox(x - grad f)|_inf",
            "n_active": "nonzero coordinates"}
