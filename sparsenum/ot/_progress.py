"""Progress of the iterative OT solvers: ``verbose`` lines and the ``callback(iteration, state)``.

Both see the rows the solver records in its history, and nothing else: what is printed or
passed to the callback is what ``result.history`` will hold.
"""

from __future__ import annotations

import types


class Progress:
    """Reports recorded rows; ``update`` returns True when the callback asks to stop.

    ``verbose >= 2`` prints one line per recorded row, ``verbose >= 1`` one line at the end
    (and one per stage where the solver has stages). The callback receives ``(iteration,
    state)`` with ``state`` a read-only mapping of the row's values (``objective``,
    ``marginal_violation`` and the solver's counters) plus whatever ``details()`` adds
    (potentials, computed only when a callback is given). Returning True stops the solver, which
    then reports ``converged=False`` unless the criterion was already met.
    """

    def __init__(self, solver: str, verbose: int, callback) -> None:
        self.solver = solver
        self.verbose = verbose
        self.callback = callback
        self.stopped = False

    @property
    def active(self) -> bool:
        return self.verbose >= 2 or self.callback is not None

    def update(self, iteration: int, objective: float, violation: float, details=None,
               **counters) -> bool:
        if self.verbose >= 2:
            extra = "".join(f" {k}={int(v)}" for k, v in counters.items())
            print(f"{self.solver}: iteration {iteration} marginal_violation={violation:.3e} "
                  f"objective={objective:.10g}{extra}", flush=True)
        if self.callback is None:
            return False
        state = {"objective": objective, "marginal_violation": violation, **counters}
        if details is not None:
            state.update(details())
        if self.callback(int(iteration), types.MappingProxyType(state)) is True:
            self.stopped = True
        return self.stopped

    def stage(self, text: str) -> None:
        if self.verbose >= 1:
            print(f"{self.solver}: {text}", flush=True)

    def finish(self, result) -> None:
        if self.verbose >= 1:
            why = "stopped by the callback, " if self.stopped else ""
            status = "converged" if result.converged else "did not converge"
            print(f"{self.solver}: {why}{status} after {result.n_iter} iterations, "
                  f"marginal_error={result.marginal_error:.3e}, cost={result.cost:.10g}",
                  flush=True)
