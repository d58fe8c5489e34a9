"""Registration of the bcd module: estimators, the instances the common checks use, the demo."""

from __future__ import annotations

ESTIMATORS = ("BCDLabelPropagation", "BCDLasso", "BCDLogisticRegression")


def check_instances():
    """Small, fast instances for scikit-learn's common checks."""
    from . import BCDLabelPropagation, BCDLasso, BCDLogisticRegression

    return [BCDLasso(alpha=0.01), BCDLogisticRegression(max_iter=500),
            BCDLogisticRegression(penalty="l1", C=10.0, max_iter=500),
            BCDLabelPropagation(max_iter=500)]


EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "BCDLabelPropagation": {
        "check_classifiers_classes": "the label -1 marks unlabelled samples (scikit-learn's "
                                     "semi-supervised convention), so a class named -1 is never "
                                     "learned",
        "check_non_transformer_estimators_n_iter": "when every sample is labelled (as in this "
                                                   "check) there is nothing to propagate and "
                                                   "n_iter_ is honestly 0",
    },
}


def demo(out_dir):
    """Lasso and L1-logistic against scikit-learn, greedy rules on least squares, message passing
    on two moons."""
    from ._demo import run_demo

    return run_demo(out_dir)


def warm_up():
    """The module's main functions once on tiny inputs (fills numba's cache)."""
    from ._cases import warm_up

    warm_up()


def solver_cases():
    """One small problem per public solver function (criteria from the public gap functions)."""
    from ._cases import solver_cases

    return solver_cases()


def easy_fits():
    """Every estimator with its defaults on an easy problem (must not warn)."""
    from ._cases import easy_fits

    return easy_fits()
