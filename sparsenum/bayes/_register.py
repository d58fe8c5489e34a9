"""Registration of sparsenum.bayes: its estimators, their check instances, the demo and the
common-test cases."""

from __future__ import annotations

ESTIMATORS = ("SBLRegressor", "TurboVBIRegressor")

EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}


def check_instances():
    from .estimators import SBLRegressor, TurboVBIRegressor

    return [SBLRegressor(), SBLRegressor(coupling=1.0, update="em", tol=1e-3, max_iter=200),
            TurboVBIRegressor(random_state=0, max_iter=100)]


def demo(out_dir):
    from ._demo import run_demo

    return run_demo(out_dir)


def warm_up():
    """The module's main functions once on tiny inputs (fills numba's cache)."""
    from ._cases import warm_up

    warm_up()


def solver_cases():
    from ._cases import solver_cases

    return solver_cases()


def easy_fits():
    from ._cases import easy_fits

    return easy_fits()
