"""Registration of sparsenum.privacy: its estimator, the check instances, the demo, the cases."""

from __future__ import annotations

ESTIMATORS = ("LDPSparseRegression",)


def check_instances():
    from .estimators import LDPSparseRegression

    return [LDPSparseRegression(random_state=0),
            LDPSparseRegression(method="nldp", fit_intercept=True, random_state=0)]


EXPECTED_FAILED_CHECKS: dict = {}


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
