"""Registration of sparsenum.sketch: its estimator for the common checks, and the demo."""

from __future__ import annotations

ESTIMATORS = ("SketchedRegression",)


def check_instances():
    from .estimators import SketchedRegression

    return [SketchedRegression(random_state=0),
            SketchedRegression(method="solve", sketch="gaussian", random_state=0)]


EXPECTED_FAILED_CHECKS: dict = {}


def demo(out_dir):
    """Tall least squares (n=50000, d=100, condition number 1e6) against numpy.linalg.lstsq."""
    from ._demo import run_demo

    return run_demo(out_dir)


def warm_up():
    """The module's main functions once on tiny inputs (fills numba's cache)."""
    from ._cases import warm_up

    warm_up()


def solver_cases():
    """One small problem per public solver function (and the fused and sparse paths)."""
    from ._cases import solver_cases

    return solver_cases()


def easy_fits():
    """The estimator with its defaults on an easy problem (must not warn)."""
    from ._cases import easy_fits

    return easy_fits()
