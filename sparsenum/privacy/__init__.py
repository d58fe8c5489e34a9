"""Sparse linear regression under local differential privacy.

Every user holds one record and releases only randomised messages: Duchi et al.'s randomiser,
the non-interactive protocol (sufficient statistics with exactly calibrated noise, server-side
sparse estimate) and the sequentially interactive LDP-IHT of Zhu, Ding, Aggarwal, Xu and Wang
(ICLR 2024), with a scikit-learn regressor.
"""

from ..utils._lazy import lazy_exports
from ._result import LDPRegressionResult, NLDPReports
from .calibration import analytic_gaussian_sigma, gaussian_privacy_profile, laplace_scale
from .iht import IHTDefaults, ldp_iht
from .nldp import nldp_regression, nldp_reports
from .randomizers import duchi_randomizer, duchi_sphere_radius

__all__ = [
    "IHTDefaults",
    "LDPRegressionResult",
    "LDPSparseRegression",
    "NLDPReports",
    "analytic_gaussian_sigma",
    "duchi_randomizer",
    "duchi_sphere_radius",
    "gaussian_privacy_profile",
    "laplace_scale",
    "ldp_iht",
    "nldp_regression",
    "nldp_reports",
]

# estimators import scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {
    "LDPSparseRegression": ".estimators",
})
