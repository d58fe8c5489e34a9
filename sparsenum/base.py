"""Types shared by every module: solver results, convergence histories, iterative estimators.

These are the only cross-module types of sparsenum. A solver function returns a subclass of
:class:`SolverResult`; an estimator that wraps an iterative solver mixes in
:class:`IterativeEstimatorMixin` to expose ``n_iter_``, ``converged_`` and ``history_``.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

__all__ = ["ConvergenceHistory", "IterativeEstimatorMixin", "SolverResult"]

_CORE_COLUMNS = ("iteration", "elapsed", "objective", "criterion")
# rows allocated up front at most: a history is usually short, and max_iter=10**12 must not
# allocate terabytes (rows are added by doubling when needed)
_MAX_PREALLOCATED = 1024


class ConvergenceHistory:
    """Per-iteration record of an iterative solver, stored in preallocated columns.

    Four columns always exist: ``iteration`` (int), ``elapsed`` (seconds since the history was
    created, or as given), ``objective`` and ``criterion`` (the stopping criterion, whose meaning
    is named by ``criterion_name``). Solvers add their own float columns (``extra``), such as
    inner CG iterations. Recording appends one row; the storage doubles when full, so recording is
    O(1) amortised and creates no Python object per step. Values not recorded are NaN.

    Parameters
    ----------
    capacity : int, default=64
        Rows expected, typically ``max_iter + 1``. At most ``_MAX_PREALLOCATED`` rows are
        allocated up front (a generous ``max_iter`` costs no memory); storage grows as needed.
    extra : sequence of str, default=()
        Names of solver-specific columns.
    criterion_name : str, default="criterion"
        What the stopping criterion is, e.g. ``"marginal_violation"`` or ``"duality_gap"``.
    objective_name : str, default="objective"
        What the objective is, e.g. ``"dual_objective"``.
    labels : mapping of str to str, optional
        Human-readable axis labels, with units, for columns whose names are terse, e.g.
        ``{"marginal_violation": "marginal violation ||P1 - a||_1 + ||P^T 1 - b||_1"}``;
        :meth:`plot` and the demo use them.

    Examples
    --------
    >>> from sparsenum.base import ConvergenceHistory
    >>> h = ConvergenceHistory(capacity=4, extra=("cg_iterations",), criterion_name="residual")
    >>> for k in range(3):
    ...     h.record(k, objective=1.0 / (k + 1), criterion=10.0 ** -k, cg_iterations=2 * k)
    >>> len(h)
    3
    >>> h.criterion
    array([1.  , 0.1 , 0.01])
    >>> sorted(h.as_dict())
    ['cg_iterations', 'elapsed', 'iteration', 'objective', 'residual']
    """

    def __init__(
        self,
        capacity: int = 64,
        extra: tuple[str, ...] | list[str] = (),
        *,
        criterion_name: str = "criterion",
        objective_name: str = "objective",
        labels: Mapping[str, str] | None = None,
    ) -> None:
        from .utils.validation import check_int

        capacity = min(check_int(capacity, "capacity", low=1), _MAX_PREALLOCATED)
        if isinstance(extra, str) or not isinstance(extra, (tuple, list)):
            raise TypeError(f"extra must be a tuple or list of column names; got {extra!r}")
        extra = tuple(extra)
        for value, what in ((criterion_name, "criterion_name"), (objective_name, "objective_name")):
            if not isinstance(value, str) or not value.isidentifier():
                raise ValueError(f"{what} must be an identifier string; got {value!r}")
        reserved = set(_CORE_COLUMNS) | {criterion_name, objective_name}
        for name in extra:
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"extra column names must be identifiers; got {name!r}")
            if name in reserved:
                raise ValueError(f"extra column {name!r} clashes with a core column name")
        if len(set(extra)) != len(extra):
            raise ValueError(f"extra column names must be unique; got {extra!r}")
        self.criterion_name = criterion_name
        self.objective_name = objective_name
        self.labels = dict(labels or {})
        self.extra_names = extra
        self._n = 0
        self._t0 = time.perf_counter()
        self._iteration = np.zeros(capacity, dtype=np.int64)
        self._floats = np.full((3 + len(extra), capacity), np.nan)  # elapsed, obj., crit., extras

    # -- recording -------------------------------------------------------------------------
    def _grow(self, needed: int) -> None:
        capacity = self._iteration.shape[0]
        if needed <= capacity:
            return
        new_capacity = max(needed, 2 * capacity)
        grown = np.zeros(new_capacity - capacity, np.int64)
        self._iteration = np.concatenate([self._iteration, grown])
        pad = np.full((self._floats.shape[0], new_capacity - capacity), np.nan)
        self._floats = np.concatenate([self._floats, pad], axis=1)

    def record(
        self,
        iteration: int,
        objective: float = np.nan,
        criterion: float = np.nan,
        *,
        elapsed: float | None = None,
        **extra: float,
    ) -> None:
        """Append one row; ``elapsed`` defaults to the time since the history was created."""
        self._grow(self._n + 1)
        i = self._n
        self._iteration[i] = iteration
        self._floats[0, i] = time.perf_counter() - self._t0 if elapsed is None else elapsed
        self._floats[1, i] = objective
        self._floats[2, i] = criterion
        for name, value in extra.items():
            self._floats[3 + self._extra_index(name), i] = value
        self._n += 1

    def _extra_index(self, name: str) -> int:
        try:
            return self.extra_names.index(name)
        except ValueError:
            raise KeyError(
                f"unknown history column {name!r}; declared extra columns: {self.extra_names}"
            ) from None

    def restart_clock(self) -> None:
        """Measure ``elapsed`` from now on (e.g. after input validation and compilation)."""
        self._t0 = time.perf_counter()

    @classmethod
    def from_arrays(
        cls,
        iteration,
        objective=None,
        criterion=None,
        *,
        elapsed=None,
        criterion_name: str = "criterion",
        objective_name: str = "objective",
        labels: Mapping[str, str] | None = None,
        **extra,
    ) -> ConvergenceHistory:
        """Build a history from columns a numba kernel filled (all of the same length)."""
        iteration = np.asarray(iteration, dtype=np.int64).ravel()
        n = iteration.shape[0]
        history = cls(max(n, 1), tuple(extra), criterion_name=criterion_name,
                      objective_name=objective_name, labels=labels)
        history._grow(n)
        columns = {"elapsed": elapsed, "objective": objective, "criterion": criterion, **extra}
        for row, (name, values) in enumerate(columns.items()):
            if values is None:
                continue
            values = np.asarray(values, dtype=np.float64).ravel()
            if values.shape[0] != n:
                raise ValueError(
                    f"history column {name!r} has {values.shape[0]} rows; iteration has {n}"
                )
            history._floats[row, :n] = values
        history._iteration[:n] = iteration
        history._n = n
        return history

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names in storage order (objective and criterion under their given names)."""
        return ("iteration", "elapsed", self.objective_name, self.criterion_name, *self.extra_names)

    @property
    def iteration(self) -> np.ndarray:
        return self._iteration[: self._n]

    @property
    def elapsed(self) -> np.ndarray:
        return self._floats[0, : self._n]

    @property
    def objective(self) -> np.ndarray:
        return self._floats[1, : self._n]

    @property
    def criterion(self) -> np.ndarray:
        return self._floats[2, : self._n]

    def __getitem__(self, name: str) -> np.ndarray:
        if name == "iteration":
            return self.iteration
        aliases = {"elapsed": 0, "objective": 1, self.objective_name: 1,
                   "criterion": 2, self.criterion_name: 2}
        if name in aliases:
            return self._floats[aliases[name], : self._n]
        return self._floats[3 + self._extra_index(name), : self._n]

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def label(self, column: str) -> str:
        """The human-readable label of ``column`` (its name, spaced, if none was given)."""
        return self.labels.get(column, column.replace("_", " "))

    def as_dict(self) -> dict[str, np.ndarray]:
        """Copies of every column, keyed by name; ``pandas.DataFrame(h.as_dict())`` works."""
        return {name: np.array(self[name]) for name in self.columns}

    def __repr__(self) -> str:
        last = ""
        if self._n:
            last = f", last {self.criterion_name}={self.criterion[-1]:.3e}"
        return f"ConvergenceHistory({self._n} rows, columns={list(self.columns)}{last})"

    def plot(self, ax=None, *, x: str = "iteration", y: str | None = None, logy: bool = True,
             label: str | None = None, **plot_kwargs):
        """Plot a column (default: the stopping criterion) against iterations or time.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Axes to draw on; a new figure is made if omitted.
        x : {"iteration", "time"}, default="iteration"
            Horizontal axis: iteration number or elapsed seconds.
        y : str, optional
            Column to plot; defaults to the stopping criterion.
        logy : bool, default=True
            Logarithmic vertical axis (non-positive values are masked).
        label : str, optional
            Legend label.
        **plot_kwargs
            Passed to ``Axes.plot``.

        Returns
        -------
        ax : matplotlib Axes
        """
        if x not in ("iteration", "time"):
            raise ValueError(f"x must be 'iteration' or 'time'; got {x!r}")
        import matplotlib.pyplot as plt  # lazy: matplotlib is optional

        y = self.criterion_name if y is None else y
        values = self[y]
        xs = self.iteration if x == "iteration" else self.elapsed
        if ax is None:
            _, ax = plt.subplots()
        if logy:
            values = np.where(values > 0, values, np.nan)
            ax.set_yscale("log")
        ax.plot(xs, values, label=label, **plot_kwargs)
        ax.set_xlabel("iteration" if x == "iteration" else "time [s]")
        ax.set_ylabel(self.label(y))
        return ax


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<{'x'.join(map(str, value.shape)) or 'scalar'} {value.dtype} array>"
    if hasattr(value, "shape") and hasattr(value, "nnz"):
        return f"<{'x'.join(map(str, value.shape))} sparse, nnz={value.nnz}>"
    if isinstance(value, ConvergenceHistory):
        return f"<history, {len(value)} rows>"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class SolverResult:
    """Base of every solver's result: whether it converged, iterations used, and its history.

    Subclasses are frozen keyword-only dataclasses adding their own fields, e.g.::

        @dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
        class TransportResult(SolverResult):
            plan: np.ndarray
            cost: float

    Attributes
    ----------
    converged : bool
        True if the stopping criterion was met before ``max_iter``.
    n_iter : int
        Iterations performed (each solver documents what one iteration is).
    history : ConvergenceHistory
        Per-iteration record.

    Examples
    --------
    >>> from sparsenum.base import SolverResult, ConvergenceHistory
    >>> r = SolverResult(converged=True, n_iter=3, history=ConvergenceHistory())
    >>> r
    SolverResult(converged=True, n_iter=3, history=<history, 0 rows>)
    >>> r.to_dict()["n_iter"]
    3
    """

    converged: bool
    n_iter: int
    history: ConvergenceHistory

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{f.name}={_describe(getattr(self, f.name))}" for f in dataclasses.fields(self)
        )
        return f"{type(self).__name__}({fields})"

    def to_dict(self) -> dict[str, Any]:
        """Shallow mapping of field names to values (arrays are not copied)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def replace(self, **changes: Any) -> SolverResult:
        """A copy with some fields changed (results are frozen)."""
        return dataclasses.replace(self, **changes)


class IterativeEstimatorMixin:
    """Gives an estimator ``n_iter_``, ``converged_`` and ``history_`` from a solver result.

    Call :meth:`_record_convergence` at the end of ``fit``; it warns with
    :class:`sklearn.exceptions.ConvergenceWarning` if the solver stopped on ``max_iter``.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.base import BaseEstimator
    >>> from sparsenum.base import ConvergenceHistory, IterativeEstimatorMixin, SolverResult
    >>> class Toy(IterativeEstimatorMixin, BaseEstimator):
    ...     def __init__(self, max_iter=10):
    ...         self.max_iter = max_iter
    ...     def fit(self, X=None, y=None):
    ...         result = SolverResult(converged=False, n_iter=self.max_iter,
    ...                               history=ConvergenceHistory())
    ...         return self._record_convergence(result)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     toy = Toy().fit()
    >>> toy.n_iter_, toy.converged_, caught[0].category.__name__
    (10, False, 'ConvergenceWarning')
    """

    def _record_convergence(self, result: SolverResult | Mapping[str, Any], *,
                            what: str | None = None, limit: str = "max_iter"):
        """Store ``n_iter_``, ``converged_``, ``history_``; warn if not converged. Returns self.

        ``limit`` names the estimator's parameter that caps the iterations, for the warning."""
        if isinstance(result, Mapping):
            converged, n_iter, history = result["converged"], result["n_iter"], result["history"]
        else:
            converged, n_iter, history = result.converged, result.n_iter, result.history
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)
        self.history_ = history
        if not self.converged_:
            name = what or type(self).__name__
            criterion = ""
            if history is not None and len(history):
                criterion = f" ({history.criterion_name}={history.criterion[-1]:.3e})"
            from sklearn.exceptions import ConvergenceWarning  # estimators import sklearn anyway

            warnings.warn(
                f"{name} did not meet its tolerance in {self.n_iter_} iterations{criterion}; "
                f"increase {limit} or loosen tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self
