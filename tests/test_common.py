"""scikit-learn's estimator checks over every estimator sparsenum registers.

Each module's ``_register.py`` lists its estimators (``ESTIMATORS``), may build the instances
to check (``check_instances()``, e.g. with small iteration counts so the checks stay fast), and
declares any check an estimator cannot pass in ``EXPECTED_FAILED_CHECKS`` as
``{"EstimatorName": {"check_name": "written reason"}}``. The reasons are collected here and
shown in the test ids' xfail messages.
"""

import importlib

from sklearn.utils.estimator_checks import parametrize_with_checks

from sparsenum.utils import all_estimators, registered_modules


def _registrations():
    return [importlib.import_module(f"sparsenum.{m}._register") for m in registered_modules()]


def _instances():
    instances = []
    for registration in _registrations():
        make = getattr(registration, "check_instances", None)
        if make is not None:
            instances.extend(make())
        else:
            package = importlib.import_module(registration.__name__.rsplit(".", 1)[0])
            instances.extend(getattr(package, name)() for name in registration.ESTIMATORS)
    return instances


def _expected_failed_checks(estimator):
    reasons = {}
    for registration in _registrations():
        declared = getattr(registration, "EXPECTED_FAILED_CHECKS", {})
        reasons.update(declared.get(type(estimator).__name__, {}))
    for check, reason in reasons.items():
        if not isinstance(reason, str) or len(reason.split()) < 3:
            raise AssertionError(f"expected failure {check!r} of {type(estimator).__name__} "
                                 f"needs a written reason; got {reason!r}")
    return reasons


def test_every_registered_estimator_is_checked():
    names = {type(e).__name__ for e in _instances()}
    assert names == {name for name, _ in all_estimators()}


if all_estimators():

    @parametrize_with_checks(_instances(), expected_failed_checks=_expected_failed_checks)
    def test_sklearn_compatible_estimator(estimator, check):
        check(estimator)


# -- contracts of every solver function and estimator (cases from each module's _register) --

import dataclasses  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from sparsenum.base import ConvergenceHistory, SolverResult  # noqa: E402
from sparsenum.utils.registry import all_easy_fits, all_solver_cases  # noqa: E402
from tests._fuzz import busy_machine  # noqa: E402

_CASES = [case for _, case in all_solver_cases()]
_FITS = [fit for _, fit in all_easy_fits()]


@pytest.mark.parametrize("case", _CASES, ids=[c.name for c in _CASES])
def test_history_agrees_with_result(case):
    result = case.run()
    assert isinstance(result, SolverResult)
    history = result.history
    assert len(history) >= 1, "a solver must record at least its final state"
    assert history.iteration[-1] == result.n_iter, (
        f"history ends at iteration {history.iteration[-1]}, result.n_iter={result.n_iter}")
    last = history.criterion[-1]
    if case.criterion is not None:
        recomputed = case.criterion(result)
        assert last == pytest.approx(recomputed, rel=case.rtol, abs=case.atol), (
            f"history's last {history.criterion_name}={last:.3e}, recomputed from the "
            f"returned solution: {recomputed:.3e}")
    if case.tol is not None and result.converged:
        assert last <= case.tol


def _assert_same_value(a, b, where):
    if isinstance(a, ConvergenceHistory):
        assert a.columns == b.columns and len(a) == len(b), where
        for column in a.columns:
            if column != "elapsed":
                np.testing.assert_array_equal(a[column], b[column], err_msg=f"{where}.{column}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif sp.issparse(a):
        assert a.shape == b.shape and (a != b).nnz == 0, where
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        for field in dataclasses.fields(a):
            _assert_same_value(getattr(a, field.name), getattr(b, field.name),
                               f"{where}.{field.name}")
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), where
    elif isinstance(a, (int, float, str, bool, type(None), np.generic)):
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.parametrize("case", [c for c in _CASES if c.deterministic],
                         ids=[c.name for c in _CASES if c.deterministic])
def test_same_input_same_run_under_load(case):
    """Adaptive decisions come from counted work, never the clock: a loaded machine changes
    nothing but the timings."""
    quiet = case.run()
    with busy_machine():
        loaded = case.run()
    _assert_same_value(quiet, loaded, "result")


@pytest.mark.parametrize("fit", _FITS, ids=[f.name for f in _FITS])
def test_defaults_fit_an_easy_problem_without_warning(fit):
    estimator = clone(fit.estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        estimator.fit(fit.X) if fit.y is None else estimator.fit(fit.X, fit.y)
