"""Progress of the iterative solvers: ``verbose`` lines and ``callback(iteration, state)``.

Both see exactly the rows the solver records in its history: what is printed or passed to the
callback is what ``result.history`` will hold.
"""

from __future__ import annotations

import types

from .validation import check_callback, check_verbose


class Progress:
    """Reports recorded rows; :meth:`update` returns True when the callback asks to stop.

    ``verbose >= 2`` prints a line per recorded row, ``verbose >= 1`` a line at the end. The
    callback gets ``(iteration, state)``, ``state`` a read-only mapping of the row's values plus
    what ``details()`` adds (computed only when a callback is given); returning True stops.
    """

    def __init__(self, solver: str, verbose, callback) -> None:
        self.solver = solver
        self.verbose = check_verbose(verbose)
        self.callback = check_callback(callback)
        self.stopped = False

    @property
    def active(self) -> bool:
        return self.verbose >= 2 or self.callback is not None

    def update(self, iteration: int, values: dict, details=None) -> bool:
        if self.verbose >= 2:
            shown = " ".join(f"{k}={v:.6g}" for k, v in values.items())
            print(f"{self.solver}: iteration {iteration} {shown}", flush=True)
        if self.callback is None:
            return False
        state = dict(values)
        if details is not None:
            state.update(details())
        if self.callback(int(iteration), types.MappingProxyType(state)) is True:
            self.stopped = True
        return self.stopped

    def finish(self, text: str) -> None:
        if self.verbose >= 1:
            print(f"{self.solver}: {text}", flush=True)
