"""The Gaussian E-step shared by every solver: the posterior of ``x`` for given variances.

For ``y = A x + w``, ``x ~ N(0, diag(gamma))`` and ``w ~ N(0, sigma^2 I)`` (circular complex
Gaussians for complex data) the posterior is Gaussian with

    Sigma = (A^H A / sigma^2 + Gamma^-1)^-1,    mu = Sigma A^H y / sigma^2.

Sigma is never formed. With ``B = A Gamma^(1/2)``:

* more columns than rows (Woodbury): ``C = sigma^2 I + B B^H = L L^H`` (M x M, LAPACK potrf),
  ``W = L^-1 B`` (trtrs), ``mu = Gamma^(1/2) W^H L^-1 y`` and
  ``diag Sigma = gamma (1 - colsum |W|^2)``, in ``O(M^2 N)``;
* at most as many columns as rows: ``K = I + B^H B / sigma^2 = R^H R`` (N x N, eigenvalues
  >= 1 however small gamma is), ``Sigma = Gamma^(1/2) K^-1 Gamma^(1/2)`` and
  ``diag Sigma = gamma rowsum |R^-1|^2`` (trtri), in ``O(N^2 M)``.

The marginal likelihood comes with it: ``log det C`` from the Cholesky factor and
``y^H C^-1 y = ||y - A mu||^2 / sigma^2 + sum |mu|^2 / gamma``, a sum of nonnegative terms (no
cancellation).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math

import numpy as np
from scipy.linalg import get_blas_funcs, get_lapack_funcs

from ._step_kernels import posterior_moments

__all__ = ["Posterior", "blas_threads_for", "gaussian_posterior", "negative_log_evidence",
           "posterior_step"]

# E-steps below this many multiply-adds (min(M, N)^2 max(M, N)) run on one BLAS thread: on
# matrices this small, threads cost more in start-up and spinning than they save, and on a busy
# machine a multi-threaded syrk of a 100 x 256 matrix was measured 300 times slower
SERIAL_BLAS = 1e8
_CONTROLLER: list = []


def blas_threads_for(m: int, n: int):
    """A context running BLAS on one thread when an ``m x n`` E-step is small (see
    ``SERIAL_BLAS``); otherwise BLAS keeps its own thread count."""
    if min(m, n) ** 2 * max(m, n) >= SERIAL_BLAS:
        return contextlib.nullcontext()
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController  # built once: a lookup costs ~0.1 ms

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


@dataclasses.dataclass(frozen=True)
class Posterior:
    """E-step output on the columns it was given."""

    mean: np.ndarray  # posterior mean
    var: np.ndarray  # diagonal of the posterior covariance
    shrinkage: np.ndarray  # 1 - var / gamma: how much each coefficient is determined by data
    residual_sq: float  # ||y - A mean||^2
    log_det_c: float  # log det(sigma^2 I + A Gamma A^H)
    quad: float  # y^H C^-1 y

    @property
    def dof(self) -> float:
        """Effective number of parameters ``sum(1 - var / gamma) = tr(A Sigma A^H) / sigma^2``."""
        return float(self.shrinkage.sum())


class _NotPositiveDefinite(np.linalg.LinAlgError):
    pass


_ROUTINES: dict = {}


def _lapack(name: str, dtype: np.dtype):
    """The LAPACK (or BLAS, for ``trsm``) routine for ``dtype``, looked up once (the lookup
    costs more than a small factorisation)."""
    key = (name, dtype.char)
    if key not in _ROUTINES:
        get = get_blas_funcs if name == "trsm" else get_lapack_funcs
        (_ROUTINES[key],) = get((name,), dtype=dtype)
    return _ROUTINES[key]


def _cholesky(matrix: np.ndarray, lower: bool) -> np.ndarray:
    factor, info = _lapack("potrf", matrix.dtype)(matrix, lower=lower, clean=True,
                                                  overwrite_a=True)
    if info != 0:
        raise _NotPositiveDefinite(f"potrf failed with info={info}")
    return factor


def _solve_triangular(factor: np.ndarray, rhs: np.ndarray, lower: bool) -> np.ndarray:
    out, info = _lapack("trtrs", factor.dtype)(factor, rhs, lower=lower)
    if info != 0:  # pragma: no cover - a Cholesky factor of an SPD matrix is nonsingular
        raise np.linalg.LinAlgError(f"trtrs failed with info={info}")
    return out


def _adjoint(M: np.ndarray) -> np.ndarray:
    """``M^H`` (a view for real ``M``; ``conj()`` would copy and hide the transpose from BLAS)."""
    return M.conj().T if np.iscomplexobj(M) else M.T


def _woodbury(A, y, gamma, noise_var):
    root = np.sqrt(gamma)
    B = A * root
    C = B @ _adjoint(B)  # numpy uses syrk/herk for a product with its own transpose
    C.flat[:: C.shape[0] + 1] += noise_var
    # noise_var > 0 keeps C positive definite; rounding can still break potrf when
    # noise_var is below ~1e-16 of ||B||^2, then a jitter of that size is added
    try:
        L = _cholesky(C, lower=True)
    except _NotPositiveDefinite:
        jitter = 1e-14 * float(np.real(np.trace(C))) / C.shape[0]
        C.flat[:: C.shape[0] + 1] += jitter
        L = _cholesky(C, lower=True)
    # W = L^-1 B, computed as W^T = B^T L^-T: BLAS trsm on the Fortran-ordered view B^T, no copy
    W = _lapack("trsm", L.dtype)(1.0, L, B.T, side=1, lower=1, trans_a=1).T
    z = _solve_triangular(L, y, lower=True)
    mean = root * (_adjoint(W) @ z)
    shrinkage = np.einsum("ij,ij->j", W.real, W.real)
    if np.iscomplexobj(W):
        shrinkage += np.einsum("ij,ij->j", W.imag, W.imag)
    shrinkage = np.minimum(shrinkage, 1.0)
    var = gamma * (1.0 - shrinkage)
    log_det_c = 2.0 * float(np.log(L.diagonal().real).sum())
    return mean, var, shrinkage, log_det_c


def _direct(A, y, gamma, noise_var, gram=None):
    root = np.sqrt(gamma)
    if gram is None:
        B = A * root
        K = _adjoint(B) @ B
        rhs = (_adjoint(B) @ y) / noise_var
    else:  # A^H A and A^H y given: O(N^2) instead of O(N^2 M)
        G, ahy = gram
        K = G * root[:, None]
        K *= root
        rhs = root * ahy / noise_var
    K /= noise_var
    K.flat[:: K.shape[0] + 1] += 1.0
    R = _cholesky(K, lower=False)
    u = _solve_triangular(R, _solve_triangular(R.conj().T, rhs, lower=True), lower=False)
    mean = root * u
    R_inv, info = _lapack("trtri", R.dtype)(R, lower=False)
    if info != 0:  # pragma: no cover - R has a diagonal >= 1
        raise np.linalg.LinAlgError(f"trtri failed with info={info}")
    k_inv_diag = np.einsum("ij,ij->i", R_inv.real, R_inv.real)
    if np.iscomplexobj(R_inv):
        k_inv_diag += np.einsum("ij,ij->i", R_inv.imag, R_inv.imag)
    var = gamma * k_inv_diag
    shrinkage = 1.0 - k_inv_diag
    m = A.shape[0]
    log_det_c = m * np.log(noise_var) + 2.0 * float(np.log(R.diagonal().real).sum())
    return mean, var, shrinkage, log_det_c


def gaussian_posterior(A: np.ndarray, y: np.ndarray, gamma: np.ndarray,
                       noise_var: float, gram=None) -> Posterior:
    """Posterior mean and variances of ``x`` for prior variances ``gamma > 0``.

    ``A`` (M, N) and ``y`` (M,) are float64 or complex128 (the same); ``gamma`` (N,) > 0 and
    ``noise_var > 0``. The Woodbury form is used when ``N > M``. ``gram``, optional, is
    ``(A^H A, A^H y)``, used when ``N <= M`` (it saves the product with ``A``).
    """
    m, n = A.shape
    if n == 0:
        resid = float(np.real(np.vdot(y, y)))
        return Posterior(np.zeros(0, A.dtype), np.zeros(0), np.zeros(0), resid,
                         m * np.log(noise_var), resid / noise_var)
    if n > m:
        mean, var, shrinkage, log_det_c = _woodbury(A, y, gamma, noise_var)
    else:
        mean, var, shrinkage, log_det_c = _direct(A, y, gamma, noise_var, gram)
    residual = y - A @ mean
    residual_sq = float(np.real(np.vdot(residual, residual)))
    quad = residual_sq / noise_var + float((np.abs(mean) ** 2 / gamma).sum())
    return Posterior(mean, var, shrinkage, residual_sq, log_det_c, quad)


def posterior_step(design, idx: np.ndarray, frozen: np.ndarray, gamma: np.ndarray,
                   noise_var: float, old_mean: np.ndarray, gram=None, B=None):
    """The E-step of one SBL or Turbo-VBI iteration on real data.

    ``Posterior`` of the coefficients ``idx`` (as ``gaussian_posterior(A[:, idx], y,
    gamma[idx], noise_var, gram)``, through the same factorisations, without gathering the
    columns), then ``(mean, var, second, frozen_sq, log_gamma, change)`` for every coefficient
    (see ``_step_kernels.posterior_moments``, which does all the work around the
    factorisations in one pass; the factors go in transposed: LAPACK returns them in Fortran
    order, the kernel reads C order). ``design`` is a ``Design(A, y, col_sq)`` of float64
    arrays; ``B = A[:, idx] * sqrt(gamma[idx])`` (from ``select_columns``) is needed unless
    ``gram`` is given and ``idx`` has at most ``M`` entries.
    """
    A, y, _ = design
    m = A.shape[0]
    k = idx.shape[0]
    woodbury = k > m
    if k == 0:  # no factorisation: the posterior is the prior
        F = T = np.zeros((0, 0))
        v = np.zeros(0)
    elif woodbury:  # as _woodbury
        C = B @ B.T
        C.flat[:: m + 1] += noise_var
        try:
            L = _cholesky(C, lower=True)
        except _NotPositiveDefinite:
            C.flat[:: m + 1] += 1e-14 * float(np.trace(C)) / m
            L = _cholesky(C, lower=True)
        F = _lapack("trsm", L.dtype)(1.0, L, B.T, side=1, lower=1, trans_a=1).T
        v = _solve_triangular(L, y, lower=True)
        T = L.T
    else:  # direct, as _direct
        if gram is None:
            K = B.T @ B
            rhs = (B.T @ y) / noise_var
        else:
            G, ahy = gram
            root = np.sqrt(gamma[idx])
            K = G * root[:, None]
            K *= root
            rhs = root * ahy / noise_var
        K /= noise_var
        K.flat[:: k + 1] += 1.0
        R = _cholesky(K, lower=False)
        v = _solve_triangular(R, _solve_triangular(R.T, rhs, lower=True), lower=False)
        R_inv, info = _lapack("trtri", R.dtype)(R, lower=False)
        if info != 0:  # pragma: no cover - R has a diagonal >= 1
            raise np.linalg.LinAlgError(f"trtri failed with info={info}")
        F, T = R_inv.T, R.T
    mean_s, var_s, shrinkage, mean, var, second, sums = posterior_moments(
        F, v, T, design, idx, frozen, gamma, old_mean, woodbury)
    residual_sq, log_diag, prior_quad, frozen_sq, log_gamma, change = sums
    log_det_c = 2.0 * log_diag if woodbury else m * math.log(noise_var) + 2.0 * log_diag
    post = Posterior(mean_s, var_s, shrinkage, residual_sq, log_det_c,
                     residual_sq / noise_var + prior_quad)
    return post, mean, var, second, frozen_sq, log_gamma, change


def negative_log_evidence(post, m: int, is_complex: bool) -> float:
    """``-log p(y)`` of the Gaussian model the posterior was computed for, from its
    ``log_det_c`` and ``quad`` (a :class:`Posterior`, or KroSBL's Kronecker E-step)."""
    if is_complex:
        return float(m * np.log(np.pi) + post.log_det_c + post.quad)
    return float(0.5 * (m * np.log(2.0 * np.pi) + post.log_det_c + post.quad))
