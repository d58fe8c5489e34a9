"""Result types of sparsenum.unmixing."""

from __future__ import annotations

import dataclasses

import numpy as np

from sparsenum.base import SolverResult

__all__ = ["AbundanceResult", "EndmemberResult", "UnmixingResult"]


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class EndmemberResult(SolverResult):
    """Endmembers picked among the pixels (VCA or SPA).

    Attributes
    ----------
    endmembers : ndarray of shape (n_endmembers, n_bands)
        The chosen pixels' spectra, as given in ``X`` (not weighted).
    indices : ndarray of shape (n_endmembers,)
        Row indices of the chosen pixels in ``X`` (flattened row-major for a cube).
    method : str
        ``"vca"`` or ``"spa"``.
    converged, n_iter, history
        One iteration per endmember picked; the history's objective is the volume proxy
        ``|det|`` of the picked simplex in the projected space (VCA) or the residual norm of
        the picked pixel (SPA), and its criterion is 0 (the picks are final).
    """

    endmembers: np.ndarray
    indices: np.ndarray
    method: str


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class AbundanceResult(SolverResult):
    """Abundances of fixed endmembers (fully constrained least squares).

    Attributes
    ----------
    abundances : ndarray of shape (n_pixels, K), or (height, width, K) for a cube
        Nonnegative; every pixel's row sums to one.
    objective : float
        ``1/2 sum_l w_l ||x^l - A e_l||^2`` (``loss="l2"``) or ``sum_l w_l ||x^l - A e_l||``
        (``loss="l21"``), ``x^l`` the band ``l`` over all pixels, ``e_l`` the endmembers' values
        in that band, ``w`` the band weights; recomputed from ``abundances``.
    band_residuals : ndarray of shape (n_bands,)
        ``||x^l - A e_l||`` per band.
    loss : str
    converged, n_iter, history
        ``n_iter`` counts weighted least-squares solves (1 for ``loss="l2"``; the reweighting
        passes for ``"l21"``). The criterion is the stationarity
        ``max_n ||a_n - P(a_n - grad_n / s)||_inf`` of the returned abundances (``P`` the
        projection onto the simplex, ``s`` the largest curvature of the loss).
    """

    abundances: np.ndarray
    objective: float
    band_residuals: np.ndarray
    loss: str


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class UnmixingResult(SolverResult):
    """Endmembers, abundances and guidance map learnt by :func:`~sparsenum.unmixing.rrlbs`.

    Attributes
    ----------
    endmembers : ndarray of shape (n_endmembers, n_bands)
        Nonnegative endmember spectra.
    abundances : ndarray of shape (n_pixels, n_endmembers), or (height, width, n_endmembers)
        Nonnegative, every pixel's row sums to one.
    guidance : ndarray of shape (n_pixels,), or (height, width)
        The learnt guidance map ``h`` (nonnegative, sums to ``n_pixels``): how strongly each
        pixel's abundances are pushed towards sparsity. Ones when ``guided=False``.
    band_weights : ndarray of shape (n_bands,)
        The weight each band carries in the last abundance update, ``1 / ||x^l - A e_l||``
        scaled to mean one (``loss="l21"``): ruined bands get the smallest. Ones for ``"l2"``.
    objective : float
        The objective at the returned point (data term + sparsity term + guidance term).
    data_term, sparsity_term : float
        Its first two parts (``sparsity_term`` includes ``lam``).
    lam, gamma : float
        The weights of the sparsity and the guidance terms used (``gamma`` is 0 when
        ``guided=False``).
    p : float
        The sparsity exponent.
    loss : str
    init_indices : ndarray of shape (n_endmembers,)
        The pixels the start picked.
    converged, n_iter, history
        One iteration updates the abundances, the endmembers and the guidance map once each.
        History columns: ``objective``, ``relative_change`` (the criterion, ``|F_{t-1} - F_t|
        / F_t``), ``data_term``, ``sparsity_term``.
    """

    endmembers: np.ndarray
    abundances: np.ndarray
    guidance: np.ndarray
    band_weights: np.ndarray
    objective: float
    data_term: float
    sparsity_term: float
    lam: float
    gamma: float
    p: float
    loss: str
    init_indices: np.ndarray
