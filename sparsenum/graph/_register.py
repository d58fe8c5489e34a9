"""Registration of the graph module: the demo, the warm-up and the solver cases."""

from __future__ import annotations

from pathlib import Path

from sparsenum.utils import DemoRow

ESTIMATORS = ("SpectralSparsifier",)


def check_instances():
    from . import SpectralSparsifier

    return [SpectralSparsifier(random_state=0)]


_ADJACENCY = ("X must be a graph adjacency matrix: square, symmetric, nonnegative and without "
              "self-loops; scikit-learn's pairwise test matrices are kernel matrices with a "
              "nonzero diagonal (self-loops) or non-square, so fit rejects them with a "
              "ValueError naming G by design")
_MESSAGES = ("fit rejects this input with a clean ValueError/TypeError naming G, worded for "
             "graphs rather than with scikit-learn's check_array phrases")
_CHECKS = {
    "check_fit_score_takes_y": _ADJACENCY, "check_estimators_overwrite_params": _ADJACENCY,
    "check_n_features_in_after_fitting": _ADJACENCY,
    "check_dont_overwrite_parameters": _ADJACENCY,
    "check_positive_only_tag_during_fit": _ADJACENCY,
    "check_estimators_fit_returns_self": _ADJACENCY, "check_estimators_dtypes": _ADJACENCY,
    "check_readonly_memmap_input": _ADJACENCY, "check_complex_data": _MESSAGES,
    "check_estimators_empty_data_messages": _MESSAGES, "check_dtype_object": _MESSAGES,
    "check_pipeline_consistency": _ADJACENCY, "check_estimators_pickle": _ADJACENCY,
    "check_estimators_nan_inf": _MESSAGES,
    "check_estimators_pickle(readonly_memmap=True)": _ADJACENCY,
    "check_estimator_sparse_tag": _ADJACENCY, "check_estimator_sparse_array": _ADJACENCY,
    "check_f_contiguous_array_estimator": _ADJACENCY, "check_estimator_sparse_matrix": _ADJACENCY,
    "check_transformer_data_not_an_array": _ADJACENCY,
    "check_methods_sample_order_invariance": _ADJACENCY, "check_transformer_general": _ADJACENCY,
    "check_methods_subset_invariance": _ADJACENCY,
    "check_transformer_preserve_dtypes": _ADJACENCY, "check_fit2d_1sample": _ADJACENCY,
    "check_fit2d_1feature": _ADJACENCY,
    "check_transformer_general(readonly_memmap=True)": _ADJACENCY,
    "check_fit_check_is_fitted": _ADJACENCY, "check_dict_unchanged": _ADJACENCY,
    "check_n_features_in": _ADJACENCY, "check_fit_idempotent": _ADJACENCY,
    "check_fit2d_predict1d": _ADJACENCY,
}
EXPECTED_FAILED_CHECKS: dict = {"SpectralSparsifier": _CHECKS}


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


def easy_fits():
    from sparsenum.utils.registry import EasyFit

    from . import SpectralSparsifier
    from ._cases import delaunay_graph

    return [EasyFit(name="SpectralSparsifier delaunay 300",
                    estimator=SpectralSparsifier(random_state=0), X=delaunay_graph(300))]
