"""Registration of the dictionary module: estimators, check instances, expected failures, demo."""

from __future__ import annotations

from ..utils.registry import DemoRow

ESTIMATORS = ("CalibratedDictionaryCompressor", "KSVD", "OnlineOrthogonalDictionary")

_TOO_SMALL = ("a weight matrix with a single row or column cannot be stored in fewer "
              "parameters as a dictionary and codes: the compression ratio is unreachable")
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "CalibratedDictionaryCompressor": {"check_fit2d_1sample": _TOO_SMALL,
                                       "check_fit2d_1feature": _TOO_SMALL,
                                       "check_fit_score_takes_y": (
                                           "fit's arguments are named (W, X_calibration): a "
                                           "weight matrix and the activations that calibrate "
                                           "it, which is what the names say"),
                                       "check_dtype_object": (
                                           "the second argument holds activations, not labels: "
                                           "an object array is rejected by a TypeError naming "
                                           "X_calibration, not 'Unknown label type'")},
}


def check_instances():
    from . import KSVD, CalibratedDictionaryCompressor, OnlineOrthogonalDictionary

    return [
        CalibratedDictionaryCompressor(0.3, max_iter=2, random_state=0),
        KSVD(n_components=6, n_nonzero=2, max_iter=3, random_state=0),
        OnlineOrthogonalDictionary(batch_size=16, max_iter=2, random_state=0),
    ]


def demo(out_dir) -> list[DemoRow]:
    """Batch-OMP vs scikit-learn, K-SVD on image patches, CoSpaDi vs whitened SVD."""
    from ._demo import run_demo

    return run_demo(out_dir)


def warm_up():
    """The module's main functions once on tiny inputs (fills numba's cache)."""
    from ._cases import warm_up

    warm_up()


def solver_cases():
    """One small problem per public solver function returning a result with a history."""
    from ._cases import solver_cases

    return solver_cases()


def easy_fits():
    """Every estimator with its defaults on an easy problem (none may warn)."""
    from ._cases import easy_fits

    return easy_fits()
