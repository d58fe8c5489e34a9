"""Result types of the sparse Bayesian solvers."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..base import SolverResult

__all__ = ["KroneckerSBLResult", "SBLResult", "TurboVBIResult"]


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class SBLResult(SolverResult):
    """Posterior of ``x`` in ``y = A x + w`` under a Gaussian prior with learned variances.

    Attributes
    ----------
    coef : ndarray of shape (N,)
        Posterior mean of ``x`` (float64, or complex128 for complex data); 0 off the support.
    posterior_var : ndarray of shape (N,)
        Posterior variances (the diagonal of the posterior covariance); 0 off the support.
    prior_var : ndarray of shape (N,)
        Prior variances ``gamma`` the posterior was computed with; 0 for pruned coefficients.
    noise_var : float
        Noise variance ``sigma^2`` the posterior was computed with (learned, or as given).
    support : ndarray of int64
        Indices of the coefficients kept (not pruned), in increasing order.
    log_evidence : float
        ``log p(y | prior_var, noise_var)``, the Gaussian marginal likelihood at the returned
        hyperparameters (for complex data, of the circular complex Gaussian).
    converged, n_iter, history
        See :class:`~sparsenum.base.SolverResult`. One iteration is one E-step followed by one
        hyperparameter update; the history records the negative log evidence (objective), the
        relative change of the posterior mean (criterion), the number of coefficients kept and
        the noise variance.
    """

    coef: np.ndarray
    posterior_var: np.ndarray
    prior_var: np.ndarray
    noise_var: float
    support: np.ndarray
    log_evidence: float


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class TurboVBIResult(SBLResult):
    """Turbo-VBI posterior: an :class:`SBLResult` plus the support's posterior.

    Attributes
    ----------
    support_proba : ndarray of shape (N,)
        Posterior probability that each coefficient is active (support module's marginals).
    transition : ndarray of shape (2,)
        ``(p01, p10)``: probability that the support switches on after an inactive neighbour
        and off after an active one (learned, or as given). For ``support="iid"`` it is
        ``(lambda, 1 - lambda)`` with ``lambda`` the probability of being active.
    evidence_bound : float
        The variational lower bound of the returned state (the history's objective is its
        negative).
    support : ndarray of int64
        Indices with ``support_proba > 0.5``.
    prior_var
        ``1 / E[rho]``, the variances the Gaussian posterior ``q(x)`` was computed with.
    """

    support_proba: np.ndarray
    transition: np.ndarray
    evidence_bound: float


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class KroneckerSBLResult(SBLResult):
    """KroSBL posterior: an :class:`SBLResult` with Kronecker-structured prior variances.

    Attributes
    ----------
    factor_prior_var : list of ndarray
        ``gamma_1, ..., gamma_D`` with ``prior_var = kron(gamma_1, ..., gamma_D)``; pruned
        entries are 0. The factors are scaled so that all but the last have unit norm.
    """

    factor_prior_var: list
