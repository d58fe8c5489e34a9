"""Registration of sparsenum.neighbors: estimators for the common checks, the demo, the warm-up
and the easy fits. (No solver_cases: no function here returns a SolverResult; an HNSW build is
not iterative.)"""

from __future__ import annotations

ESTIMATORS = ("HNSWTransformer",)


def check_instances():
    from .transformer import HNSWTransformer

    return [HNSWTransformer(M=8, ef_construction=32, random_state=0)]


def demo(out_dir):
    from ._demo import run_demo

    return run_demo(out_dir)


def warm_up():
    """The module's main functions once on tiny inputs (fills numba's cache)."""
    from ._cases import warm_up

    warm_up()


def easy_fits():
    from ._cases import easy_fits

    return easy_fits()
