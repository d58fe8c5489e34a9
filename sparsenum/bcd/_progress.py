"""Progress of the iterative functions (private): ``verbose`` lines and the user's callback.

Every iterative function of the module (:func:`~sparsenum.bcd.block_coordinate_descent`,
:func:`~sparsenum.bcd.solve_lasso`, :func:`~sparsenum.bcd.solve_l1_logistic`) reports each row
it records in its history to a :class:`Progress`: with ``verbose >= 2`` it prints a line per
iteration, with ``verbose >= 1`` a summary at the end, and it calls ``callback(iteration,
state)``, where ``state`` is a read-only mapping of the solver's current quantities (arrays are
read-only views, valid during the call: copy them to keep them). A callback that returns
``True`` stops the solver after that iteration (the result then reports ``converged=False``
unless the tolerance was met).
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

__all__ = ["Progress", "rounding_floor"]

_EPS = float(np.finfo(np.float64).eps)


def rounding_floor(n_terms: int, scale: float) -> float:
    """The smallest gap a sum of ``n_terms`` terms of size about ``scale`` resolves:
    ``16 n eps scale``. A solve asked for machine precision (``tol=0``) that stalls counts as
    converged when its gap is below this."""
    return 16.0 * max(n_terms, 1) * _EPS * scale


def _frozen(value):
    if isinstance(value, np.ndarray):
        view = value.view()
        view.flags.writeable = False
        return view
    return value


class Progress:
    """Prints and calls back for one solve; ``step`` returns True when the callback asks to stop.

    ``criterion`` names the stopping criterion (the history's criterion column) and ``target``
    the value it must reach.
    """

    def __init__(self, name: str, verbose: int, callback, criterion: str, target: float):
        self.name = name
        self.verbose = verbose
        self.callback = callback
        self.criterion = criterion
        self.target = target

    def step(self, iteration: int, **state) -> bool:
        if self.verbose >= 2:
            extra = "  ".join(f"{k}={_fmt(v)}" for k, v in state.items()
                              if k != self.criterion and not isinstance(v, np.ndarray))
            print(f"{self.name}: iteration {iteration:5d}  {self.criterion}="
                  f"{_fmt(state[self.criterion])} (target {self.target:.3e})  {extra}",
                  flush=True)
        if self.callback is None:
            return False
        view = MappingProxyType({k: _frozen(v) for k, v in state.items()})
        return self.callback(iteration, view) is True

    def finish(self, result, stopped_by: str) -> None:
        """``stopped_by``: why the solver ended, in words (printed with ``verbose >= 1``)."""
        if self.verbose >= 1:
            last = result.history.criterion[-1] if len(result.history) else float("nan")
            print(f"{self.name}: {stopped_by} after {result.n_iter} iterations, "
                  f"{self.criterion}={last:.3e} (target {self.target:.3e}), "
                  f"converged={result.converged}", flush=True)


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}" if value == 0 or 1e-3 <= abs(value) < 1e6 else f"{value:.3e}"
    return str(value)
