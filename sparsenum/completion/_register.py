"""Registration of the completion module: estimators, check instances, demo, common-test cases."""

from __future__ import annotations

from pathlib import Path

ESTIMATORS = ("AltMinImputer", "AltMinRatingsRegressor")


def check_instances():
    from . import AltMinImputer, AltMinRatingsRegressor

    return [AltMinImputer(rank=2, random_state=0),
            AltMinRatingsRegressor(rank=2, random_state=0)]


EXPECTED_FAILED_CHECKS: dict = {}
