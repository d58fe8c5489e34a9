"""Registration of the graph module: the demo, the warm-up and the solver cases."""

from __future__ import annotations

from pathlib import Path

from sparsenum.utils import DemoRow

ESTIMATORS: tuple = ()

EXPECTED_FAILED_CHECKS: dict = {}


def demo(out_dir: Path) -> list[DemoRow]:
    """Sparsify a Delaunay mesh (kappa against LAPACK) and solve its Laplacian system with the
    sparsifier as preconditioner (against scipy's spsolve); one BLAS and one numba thread."""
    from threadpoolctl import threadpool_limits

    from sparsenum.utils import numba_threads

    from ._demo import demo_rows

    with threadpool_limits(1), numba_threads(1):
        return demo_rows()


def warm_up():
    """The module's main functions once on tiny inputs (fills numba's cache)."""
    from ._cases import warm_up

    warm_up()


def solver_cases():
    from ._cases import solver_cases

    return solver_cases()
