"""Test-wide settings: hypothesis without deadlines (numba compiles on first call), Agg plots."""

import os

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

settings.register_profile(
    "default",
    deadline=None,
    max_examples=int(os.environ.get("SPARSENUM_HYPOTHESIS_EXAMPLES", "30")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# CI runs a fixed, reproducible set of examples (hypothesis' advice for CI): a failure there is
# then the same on every rerun; local runs keep exploring new examples
settings.register_profile("ci", settings.get_profile("default"), derandomize=True)
settings.load_profile(os.environ.get("SPARSENUM_HYPOTHESIS_PROFILE", "default"))
