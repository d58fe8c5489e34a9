"""Registration of the completion module: estimators, check instances, demo, common-test cases."""

from __future__ import annotations

ESTIMATORS = ("AltMinImputer", "AltMinRatingsRegressor")

_IDS = ("X holds two integer id columns (row id, column id); this check feeds")
_REASON_SHAPE = f"{_IDS} a feature matrix of another width, which holds no ids"
_REASON_FLOATS = f"{_IDS} continuous features, which are not ids"


def check_instances():
    from . import AltMinImputer, AltMinRatingsRegressor

    return [AltMinImputer(rank=2, random_state=0),
            AltMinRatingsRegressor(rank=2, random_state=0)]


EXPECTED_FAILED_CHECKS: dict = {
    "AltMinRatingsRegressor": {
        **dict.fromkeys((
            "check_fit_score_takes_y", "check_dont_overwrite_parameters",
            "check_n_features_in_after_fitting", "check_estimators_dtypes",
            "check_dtype_object", "check_pipeline_consistency", "check_estimators_nan_inf",
            "check_estimators_pickle", "check_f_contiguous_array_estimator",
            "check_regressors_train", "check_regressor_data_not_an_array",
            "check_regressors_no_decision_function", "check_supervised_y_2d",
            "check_regressors_int", "check_methods_sample_order_invariance",
            "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature",
            "check_dict_unchanged", "check_fit2d_predict1d",
            "check_positive_only_tag_during_fit"), _REASON_SHAPE),
        **dict.fromkeys((
            "check_estimators_overwrite_params", "check_estimators_fit_returns_self",
            "check_readonly_memmap_input", "check_fit_idempotent", "check_fit_check_is_fitted",
            "check_n_features_in"), _REASON_FLOATS),
    },
}


def demo(out_dir):
    """Ratings completion against the bias baseline, and exact recovery of a low-rank matrix."""
    from ._demo import run_demo

    return run_demo(out_dir)


def warm_up():
    """The module's main function once on tiny inputs (fills numba's cache)."""
    from ._cases import warm_up

    warm_up()


def solver_cases():
    from ._cases import solver_cases

    return solver_cases()


def easy_fits():
    from ._cases import easy_fits

    return easy_fits()
