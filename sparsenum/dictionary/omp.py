"""Batch orthogonal matching pursuit: many signals coded against one dictionary."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import scipy.sparse as sp

from ..utils import WAKE_UP_WORK, check_n_jobs
from ..utils._threads import run_split
from . import _kernels
from ._scaling import power_of_two_scale
from ._validation import check_dictionary, check_n_nonzero, check_signals, check_tol

__all__ = ["batch_omp"]


@dataclasses.dataclass
class PaddedCodes:
    """Codes in the kernels' padded layout plus per-signal squared residuals and stop codes."""

    idx: np.ndarray
    val: np.ndarray
    cnt: np.ndarray
    err: np.ndarray
    stop: np.ndarray


def padded_to_csr(idx: np.ndarray, val: np.ndarray, cnt: np.ndarray, n_atoms: int) -> sp.csr_matrix:
    """Padded per-row codes (``idx[i, :cnt[i]]`` sorted) as a CSR matrix (samples x atoms)."""
    n_samples = idx.shape[0]
    indptr = np.zeros(n_samples + 1, dtype=np.int64)
    np.cumsum(cnt, out=indptr[1:])
    if idx.shape[1]:
        mask = np.arange(idx.shape[1])[None, :] < cnt[:, None]
        indices, data = idx[mask], val[mask]
    else:
        indices, data = np.zeros(0, np.int64), np.zeros(0)
    codes = sp.csr_matrix((data, indices, indptr), shape=(n_samples, n_atoms))
    codes.has_sorted_indices = True
    return codes


def omp_work(n_signals: int, n_atoms: int, n_nonzero: int) -> float:
    """Floating-point operations of Batch-OMP on ``n_signals`` signals, the work estimate that
    decides its threads: per signal and selected atom, a scan of the ``n_atoms`` correlations
    and their update by one more column of ``G`` (``2 n_atoms j`` at step ``j``)."""
    return float(n_signals) * n_atoms * n_nonzero * (n_nonzero + 2)


def omp_padded(G: np.ndarray, DX: np.ndarray, x_sqnorms: np.ndarray, n_nonzero: int,
               tol: float | None, n_jobs) -> PaddedCodes:
    """Run the kernel on precomputed ``G = D D^T`` (unit atoms) and ``DX = X D^T``."""
    n_signals = DX.shape[0]
    width = max(n_nonzero, 1)
    idx = np.zeros((n_signals, width), dtype=np.int64)
    val = np.zeros((n_signals, width))
    cnt = np.zeros(n_signals, dtype=np.int64)
    err = np.zeros(n_signals)
    stop = np.zeros(n_signals, dtype=np.int64)
    use_tol = tol is not None
    # the default n_jobs=None codes small batches on one thread (the codes do not depend on it)
    run_split(_kernels.batch_omp_range, (G, DX, x_sqnorms, n_nonzero, float(tol or 0.0),
                                         use_tol, idx, val, cnt, err, stop),
              n_signals, n_jobs, omp_work(n_signals, G.shape[0], n_nonzero), WAKE_UP_WORK,
              per_thread=8)
    return PaddedCodes(idx, val, cnt, err, stop)


def batch_omp(X, D, *, n_nonzero=None, tol=None, n_jobs=None) -> sp.csr_matrix:
    r"""Sparse-code signals against a dictionary with Batch-OMP (Gram-based, Cholesky updates).

    Each row ``x`` of ``X`` gets a code ``c`` with at most ``n_nonzero`` nonzeros such that
    ``x ~= c @ D``, chosen greedily by orthogonal matching pursuit. The Gram matrix
    :math:`G = D D^T` and the correlations :math:`D X^T` are computed once with BLAS; per
    signal, the Cholesky factor of :math:`G_{II}` grows by one row per selected atom, the
    correlations are updated as :math:`\alpha = \alpha^0 - G_{:,I}\gamma` and the residual is
    never formed (Rubinstein, Zibulevsky & Elad's Batch-OMP). Signals are coded in parallel.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Signals, one per row (scikit-learn's orientation).
    D : array-like of shape (n_components, n_features)
        Dictionary, one atom per row (like ``components_`` of scikit-learn's dictionary
        learners). Atoms need not have unit norm: selection uses the normalised atoms
        (``|<d_k, r>| / ||d_k||``) and the returned coefficients are for ``D`` as given.
        Zero atoms are never selected (their coefficients are 0).
    n_nonzero : int, optional
        Maximum number of nonzeros per code, ``1 <= n_nonzero <= min(n_components, n_features)``
        (more atoms than the signal dimension are linearly dependent). Default: the
        tolerance alone decides if ``tol`` is given, otherwise
        ``max(1, int(0.1 * n_features))`` as in scikit-learn.
    tol : float, optional
        Stop a signal once its squared residual norm :math:`\|x - cD\|_2^2` is at most ``tol``
        (scikit-learn's convention), tracked with the error-update formula. Both limits may be
        given: coding stops at whichever comes first.
    n_jobs : int, optional
        Numba threads (``None``: one thread when the batch costs fewer than ``2e7`` flops,
        counted as ``n_samples * n_components * n_nonzero * (n_nonzero + 2)``, numba's thread count
        above; ``-1``: all cores). The codes do not depend on it.

    Returns
    -------
    codes : scipy.sparse.csr_matrix of shape (n_samples, n_components)
        Sparse codes, samples as rows, so ``X ~= codes @ D``; column indices sorted.

    Raises
    ------
    ValueError
        For non-finite inputs, mismatched shapes, an all-zero dictionary, or ``n_nonzero``
        out of range.

    Warns
    -----
    RuntimeWarning
        If some signals stopped early because the next atom was already selected, linearly
        dependent on the selected ones, or had (numerically) zero correlation: as in
        scikit-learn, the requested sparsity or tolerance was then not reached for them.

    Notes
    -----
    For signals with ``||x||^2 <= tol`` the code is empty (scikit-learn selects one atom).
    Cost per signal: :math:`O(K s + K s^2/2 + s^3/6)` for ``K`` atoms and ``s`` nonzeros,
    after the :math:`O(n K F)` BLAS products.

    References
    ----------
    R. Rubinstein, M. Zibulevsky, M. Elad, "Efficient implementation of the K-SVD algorithm
    using batch orthogonal matching pursuit", Technion CS-2008-08, 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.dictionary import batch_omp
    >>> rng = np.random.default_rng(0)
    >>> D = rng.standard_normal((20, 8))
    >>> D /= np.linalg.norm(D, axis=1, keepdims=True)
    >>> X = 2.0 * D[[3]] - 0.5 * D[[11]]
    >>> codes = batch_omp(X, D, n_nonzero=2)
    >>> codes.indices.tolist(), np.round(codes.data, 6).tolist()
    ([3, 11], [2.0, -0.5])
    """
    X = check_signals(X)
    D, norms = check_dictionary(D, X.shape[1])
    n_jobs = check_n_jobs(n_jobs)
    tol = check_tol(tol)
    n_atoms, n_features = D.shape
    n_nonzero = check_n_nonzero(n_nonzero, n_atoms, n_features)
    if n_nonzero is None:
        n_nonzero = min(n_atoms, n_features) if tol is not None else \
            max(1, min(int(0.1 * n_features), n_atoms))
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    unit = D * scale[:, None]
    # coding is scale-equivariant: extreme X is coded as X / 2**e (exact), so that squared
    # norms neither overflow nor underflow, and the codes are scaled back
    x_scale = power_of_two_scale(X)
    if x_scale != 1.0:
        X = X / x_scale
        tol = None if tol is None else tol / x_scale / x_scale
    G = unit @ unit.T
    DX = X @ unit.T
    x_sqnorms = np.einsum("ij,ij->i", X, X)
    codes = omp_padded(G, DX, x_sqnorms, n_nonzero, tol, n_jobs)
    n_early = int(np.count_nonzero(codes.stop == _kernels.STOP_DEPENDENT))
    if n_early:
        warnings.warn(f"batch_omp stopped early for {n_early} of {X.shape[0]} signals: the next "
                      "atom was repeated, linearly dependent on the selected ones or had zero "
                      "correlation; their requested sparsity or tolerance was not reached.",
                      RuntimeWarning, stacklevel=2)
    # coefficients for the unit atoms -> coefficients for D as given
    values = (codes.val * x_scale) * scale[codes.idx]
    if not np.isfinite(values).all():
        raise ValueError("the codes overflow float64: X is too large for the norms of D's "
                         "atoms (a code is about ||x|| / ||d||); rescale X or D")
    return padded_to_csr(codes.idx, values, codes.cnt, n_atoms)
