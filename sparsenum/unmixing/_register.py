"""Registration of sparsenum.unmixing: estimators, check instances, demo, warm-up, cases."""

from __future__ import annotations

ESTIMATORS = ("FCLSUnmixing", "RobustUnmixing")

_THREE_BANDS = ("the endmembers are a parameter with 3 bands, like scikit-learn's SparseCoder "
                "dictionary; this check passes data with another number of features")

EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {"FCLSUnmixing": dict.fromkeys((
    "check_estimators_overwrite_params", "check_estimators_fit_returns_self",
    "check_estimators_dtypes", "check_readonly_memmap_input",
    "check_transformers_unfitted_stateless", "check_n_features_in_after_fitting",
    "check_fit2d_1sample", "check_dtype_object", "check_fit2d_1feature",
    "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in"), _THREE_BANDS)}


def check_instances():
    import numpy as np

    from . import FCLSUnmixing, RobustUnmixing

    endmembers = np.array([[1.0, 0.2, 0.1], [0.1, 0.9, 0.3]])
    return [RobustUnmixing(n_endmembers=2, max_iter=50, random_state=0),
            RobustUnmixing(n_endmembers=2, loss="l2", guided=False, init="spa", max_iter=50),
            FCLSUnmixing(endmembers)]


def demo(out_dir):
    """One BLAS and one numba thread for every solver, so the comparison is fair on a shared
    machine."""
    from threadpoolctl import threadpool_limits

    from sparsenum.utils import numba_threads

    from ._demo import run_demo

    with threadpool_limits(1), numba_threads(1):
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
