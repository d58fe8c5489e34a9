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
