"""Result types of the privacy module: the users' NLDP messages and the server's estimate."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..base import SolverResult

__all__ = ["LDPRegressionResult", "NLDPReports"]


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class LDPRegressionResult(SolverResult):
    """A sparse linear model estimated under local differential privacy.

    Attributes
    ----------
    coef : ndarray of shape (d,)
        The estimate, with at most ``n_nonzero`` nonzeros when a sparsity level was asked for.
    support : ndarray of int
        Indices of the nonzeros of ``coef``, sorted.
    epsilon : float
        Per-user privacy budget: every user's data influenced the output through messages that
        are together ``(epsilon, delta)``-LDP.
    delta : float
        0 for pure epsilon-LDP (the Duchi and Laplace randomisers).
    n_users : int
        Users whose messages were used (each exactly once).
    method : str
        ``"ldp_iht"`` or ``"nldp"`` (``"nldp_public_covariance"`` with public data).
    coef_path : ndarray of shape (n_iter + 1, d)
        Iterates ``theta_0 .. theta_T`` (one row for the one-shot NLDP estimate); the last row
        is ``coef``.
    budget : str
        How the per-user budget was spent, in words.
    converged, n_iter, history
        As in :class:`~sparsenum.base.SolverResult`; one iteration is one round of users.
    """

    coef: np.ndarray
    support: np.ndarray
    epsilon: float
    delta: float
    n_users: int
    method: str
    coef_path: np.ndarray
    budget: str


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class NLDPReports:
    """The messages users send in the non-interactive protocol, or their sums.

    Each user ``i`` sends the upper triangle of ``x_i x_i^T`` (row-major, ``a <= b``) plus noise
    and ``x_i y_i`` plus noise, where ``x_i`` and ``y_i`` are clipped to the public bounds. With
    ``aggregated=True`` only the sums over users are kept. Reports of disjoint groups of users
    with the same settings add up with ``+``.

    Attributes
    ----------
    cov : ndarray of shape (n_users, d(d+1)/2) or (d(d+1)/2,), or None
        Covariance messages (or their sum); None when ``split=0`` (no covariance released).
    xy : ndarray of shape (n_users, d) or (d,)
        ``x y`` messages (or their sum).
    n_users : int
    n_features : int
    aggregated : bool
    epsilon, delta : float
        Each user's total budget; ``delta = 0`` for the Laplace mechanism.
    mechanism : str
        ``"gaussian"`` or ``"laplace"``.
    split : float
        Fraction of ``epsilon`` (and of ``delta``) spent on the covariance message.
    feature_bound, target_bound : float
        The public clipping bounds (``|x_ij| <= feature_bound``, ``|y_i| <= target_bound``).
    cov_noise_scale, xy_noise_scale : float
        Standard deviation (Gaussian) or scale ``b`` (Laplace) of each noise entry: public.
    sensitivity_cov, sensitivity_xy : float
        The sensitivities the noise was calibrated to (l2 for Gaussian, l1 for Laplace).
    """

    cov: np.ndarray | None
    xy: np.ndarray
    n_users: int
    n_features: int
    aggregated: bool
    epsilon: float
    delta: float
    mechanism: str
    split: float
    feature_bound: float
    target_bound: float
    cov_noise_scale: float
    xy_noise_scale: float
    sensitivity_cov: float
    sensitivity_xy: float

    def __repr__(self) -> str:
        shape = "sums" if self.aggregated else "per-user messages"
        return (f"NLDPReports({shape} of {self.n_users} users, d={self.n_features}, "
                f"epsilon={self.epsilon:g}, delta={self.delta:g}, {self.mechanism}, "
                f"split={self.split:g})")

    def sums(self) -> NLDPReports:
        """The same reports summed over users (``aggregated=True``)."""
        if self.aggregated:
            return self
        cov = None if self.cov is None else self.cov.sum(axis=0)
        return dataclasses.replace(self, cov=cov, xy=self.xy.sum(axis=0), aggregated=True)

    def _settings(self) -> tuple:
        return (self.n_features, self.epsilon, self.delta, self.mechanism, self.split,
                self.feature_bound, self.target_bound, self.cov is None)

    def __add__(self, other: NLDPReports) -> NLDPReports:
        if not isinstance(other, NLDPReports):
            return NotImplemented
        if self._settings() != other._settings():
            raise ValueError("only reports made with the same settings (n_features, epsilon, "
                             "delta, mechanism, split, bounds) can be added; got "
                             f"{self!r} and {other!r}")
        a, b = self.sums(), other.sums()
        cov = None if a.cov is None else a.cov + b.cov
        return dataclasses.replace(a, cov=cov, xy=a.xy + b.xy,
                                   n_users=a.n_users + b.n_users)
