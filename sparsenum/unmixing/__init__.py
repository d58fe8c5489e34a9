"""Hyperspectral unmixing: robust l2,1 fits over bands with guided l_p sparsity (RRLbS), exact
fully constrained least squares, band-noise estimation and band-weighted endmember extraction.

Pixels are rows (scikit-learn's orientation, like :class:`sklearn.decomposition.NMF`):
``X ~= abundances @ endmembers``; a cube (height, width, n_bands) is accepted wherever ``X``
is, and per-pixel results come back as maps.
"""

from ..utils._lazy import lazy_exports
from ._result import AbundanceResult, EndmemberResult, UnmixingResult
from .endmembers import extract_endmembers
from .fcls import fcls
from .metrics import abundance_rmse, match_endmembers, spectral_angles
from .noise import estimate_band_noise
from .rrlbs import rrlbs
from .scenes import Scene, load_spectra, make_scene

__all__ = [
    "AbundanceResult",
    "EndmemberResult",
    "FCLSUnmixing",
    "RobustUnmixing",
    "Scene",
    "UnmixingResult",
    "abundance_rmse",
    "estimate_band_noise",
    "extract_endmembers",
    "fcls",
    "load_spectra",
    "make_scene",
    "match_endmembers",
    "rrlbs",
    "spectral_angles",
]

# estimators import scikit-learn: loaded when first used
__getattr__, __dir__ = lazy_exports(__name__, {
    "FCLSUnmixing": ".estimators",
    "RobustUnmixing": ".estimators",
})
