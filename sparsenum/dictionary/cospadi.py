"""Calibration-guided compression of a weight matrix: CoSpaDi and whitened truncated SVD."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ..base import ConvergenceHistory, SolverResult
from ..utils import (
    check_array,
    check_int,
    check_n_jobs,
    check_one_of,
    check_random_state,
    check_scalar,
)
from ..utils.progress import Progress
from ..utils.validation import describe_value
from ._scaling import power_of_two_scale, row_norms
from ._validation import check_tol
from .ksvd import ksvd
from .layers import LowRankLayer, SparseDictionaryLayer

__all__ = ["CompressionResult", "compress_layer", "sparse_dictionary_budget", "whiten"]

# Relative ridge added to a singular calibration Gram matrix, multiplied by 10 until the
# Cholesky factor is well conditioned: shift = GRAM_SHIFT * trace(G) / d_in.
GRAM_SHIFT = 1e-6
_MIN_PIVOT = 1e-10  # smallest acceptable (R_ii^2 / max G_ii) of the Cholesky factor


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class CompressionResult(SolverResult):
    """Result of :func:`compress_layer`.

    Attributes
    ----------
    layer : SparseDictionaryLayer or LowRankLayer
        The compressed layer; ``layer.matmul(x)`` computes ``x @ W~``.
    compression_ratio : float
        ``1 - layer.n_params / (d_in * d_out)`` (see :func:`sparse_dictionary_budget`).
    activation_error : float
        ``||X W - X W~||_F / ||X W||_F`` on the calibration activations (weight-space relative
        error ``||W - W~||_F / ||W||_F`` without them).
    gram_shift : float
        Ridge added to the calibration Gram matrix (0 if it was positive definite).
    n_components, n_nonzero, rank : int or None
        Dictionary size (atoms) and nonzeros per column (CoSpaDi), or rank (SVD).
    converged, n_iter, history
        From the K-SVD run on the whitened weight (CoSpaDi); a single exact step for the SVD.
    """

    layer: object
    compression_ratio: float
    activation_error: float
    gram_shift: float
    n_components: int | None
    n_nonzero: int | None
    rank: int | None

    @property
    def n_atoms(self) -> int | None:
        """Former name of ``n_components`` (deprecated, removed in the next release)."""
        warnings.warn("CompressionResult.n_atoms is renamed n_components, as in scikit-learn; "
                      "the name n_atoms will be removed in the next release", FutureWarning,
                      stacklevel=2)
        return self.n_components


def sparse_dictionary_budget(shape, compression_ratio, atoms_per_nonzero=2.0):
    r"""Atoms ``k`` and nonzeros per column ``s`` of the largest CoSpaDi layer within a budget.

    A ``(d_in, d_out)`` weight stored as a ``d_in x k`` dictionary, ``s`` values per column of
    the ``k x d_out`` codes and a one-bit sparsity mask (16 mask bits counted as one 16-bit
    value) has the compression ratio

    .. math:: \rho = 1 - \frac{d_\mathrm{in} k + s\, d_\mathrm{out} + k\, d_\mathrm{out}/16}
                               {d_\mathrm{in} d_\mathrm{out}}.

    With ``k = atoms_per_nonzero * s``, ``k`` is the largest value with ratio >= the target,
    capped at ``d_out`` (one atom per column at most); ``s`` then uses the remaining budget,
    capped at ``min(k, d_in)``.

    Raises
    ------
    ValueError
        If even ``k = s = 1`` exceeds the budget (the ratio is unreachable for this shape).

    Examples
    --------
    >>> from sparsenum.dictionary import sparse_dictionary_budget
    >>> sparse_dictionary_budget((64, 64), 0.3)
    (28, 15)
    """
    d_in, d_out = check_shape_pair(shape)
    ratio = check_scalar(compression_ratio, "compression_ratio", low=0.0, high=1.0,
                         include_low=False, include_high=False)
    per = check_scalar(atoms_per_nonzero, "atoms_per_nonzero", low=1.0)
    budget = (1.0 - ratio) * d_in * d_out
    k = min(math.floor(budget / (d_in + d_out / per + d_out / 16.0)), d_out)
    if k >= 1:
        s = math.floor((budget - d_in * k - k * d_out / 16.0) / d_out + 1e-9)
        s = min(s, k, d_in)
    if k < 1 or s < 1:
        best = 1.0 - (d_in + d_out + d_out / 16.0) / (d_in * d_out)
        raise ValueError(f"compression_ratio={compression_ratio!r} is unreachable for a weight "
                         f"of shape {(d_in, d_out)}: one atom with one nonzero per column "
                         f"already gives ratio {best:.4f}; use a ratio <= that")
    return k, s


def check_shape_pair(shape, name: str = "shape") -> tuple[int, int]:
    """A weight shape: a pair of positive integers (floats are not silently truncated)."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__") or len(shape) != 2:
        raise TypeError(f"{name} must be a pair of integers (d_in, d_out); got "
                        f"{describe_value(shape)}")
    return (check_int(shape[0], f"{name}[0] (d_in)", low=1),
            check_int(shape[1], f"{name}[1] (d_out)", low=1))


def low_rank_budget(shape, compression_ratio) -> int:
    """Largest rank ``r`` with ``r (d_in + d_out) <= (1 - ratio) d_in d_out``."""
    d_in, d_out = check_shape_pair(shape)
    ratio = check_scalar(compression_ratio, "compression_ratio", low=0.0, high=1.0,
                         include_low=False, include_high=False)
    r = math.floor((1.0 - ratio) * d_in * d_out / (d_in + d_out))
    if r < 1:
        raise ValueError(f"compression_ratio={compression_ratio!r} is unreachable for a rank-1 "
                         f"factorisation of a weight of shape {(d_in, d_out)}")
    return min(r, d_in, d_out)


def whiten(X_calibration, d_in: int) -> tuple[np.ndarray, float]:
    """Upper-triangular ``R`` with ``R^T R = X^T X (+ shift I)``, so ``||X A|| = ||R A||``.

    A singular or badly conditioned Gram matrix (e.g. fewer calibration rows than ``d_in``)
    gets the ridge ``shift = 1e-6 trace(G) / d_in``, multiplied by 10 until the factor's
    smallest pivot is acceptable; the shift used is returned. Without calibration data
    ``R = I`` (plain weight-space compression).
    """
    if X_calibration is None:
        return np.eye(d_in), 0.0
    G = X_calibration.T @ X_calibration
    if not np.isfinite(G).all():
        raise ValueError("X_calibration is too large: its Gram matrix X^T X overflows float64 "
                         f"(max |X_calibration| = {float(np.max(np.abs(X_calibration))):.3g}); "
                         "divide it by a constant (the compression does not depend on its "
                         "scale)")
    scale = max(float(np.trace(G)) / d_in, np.finfo(float).tiny)
    shift = 0.0
    for _ in range(12):
        try:
            R = sla.cholesky(G + shift * np.eye(d_in), lower=False, check_finite=False)
            if np.min(np.diag(R)) ** 2 >= _MIN_PIVOT * float(np.max(np.diag(G))):
                return R, shift
        except np.linalg.LinAlgError:
            pass
        shift = GRAM_SHIFT * scale if shift == 0.0 else 10.0 * shift
    raise ValueError("X_calibration's Gram matrix could not be made positive definite; "
                     "check it for degenerate scaling")


def _activation_error(W, layer, X_calibration) -> float:
    if X_calibration is None:
        target, approx = W, layer.toarray()
    else:
        target, approx = X_calibration @ W, layer.matmul(X_calibration)
    norm = np.linalg.norm(target)
    err = np.linalg.norm(target - approx)
    return float(err / norm) if norm > 0 else float(err)


def _balanced(left, right):
    """The same product with unit-norm columns of ``left`` (the atoms) and the scale in ``right``.

    ``R^{-1}`` maps unit atoms of the whitened space to atoms of norm about ``1 / ||X||``;
    balancing keeps both factors representable whatever the scale of the activations.
    """
    norms = row_norms(left.T)
    norms = np.where(norms > 0, norms, 1.0)
    scaled = sp.diags(norms) @ right if sp.issparse(right) else norms[:, None] * right
    return left / norms, sp.csr_matrix(scaled) if sp.issparse(right) else scaled


def compress_layer(W, X_calibration=None, *, compression_ratio=0.3, atoms_per_nonzero=2.0,
                   method="cospadi", max_iter=60, tol=1e-4, random_state=None, n_jobs=None,
                   verbose=0, callback=None) -> CompressionResult:
    r"""Compress a weight matrix so that calibration activations pass through it faithfully.

    For a layer ``y = x W`` with ``W`` of shape (d_in, d_out) and calibration inputs ``X``
    (n_tokens, d_in), find ``W~`` within a parameter budget minimising the output error
    :math:`\|XW - X\widetilde W\|_F`. With :math:`X^TX = R^TR` (Cholesky, shifted if singular)
    this equals :math:`\|RW - R\widetilde W\|_F`, a weight-space problem on :math:`RW`.

    ``method="cospadi"`` (Shopkhoev et al.): :math:`\widetilde W = DS`, a dense dictionary of
    ``k`` atoms and codes with ``s`` nonzeros per column: K-SVD with Batch-OMP on the columns of
    :math:`RW` (dictionary initialised from random columns), then :math:`D = R^{-1}D_R`.
    ``method="svd"``: the data-aware low-rank baseline (SVD-LLM style) at the same budget,
    the truncated SVD of :math:`RW` mapped back by :math:`R^{-1}` (the best rank-``r``
    :math:`\widetilde W` for this objective).

    The result does not depend on the scale of ``W`` or ``X``: extreme data are processed
    divided by a power of two (exactly) and the layer scaled back.

    Parameters
    ----------
    W : array-like of shape (d_in, d_out)
        Weight matrix (the layer computes ``x @ W``).
    X_calibration : array-like of shape (n_tokens, d_in) or (d_in,), optional
        Calibration activations (a 1-D array is one token); without them the weight-space
        error is minimised. Fewer tokens than ``d_in`` make ``X^T X`` singular: it is then
        shifted (see :func:`whiten`) and the shift is reported as ``gram_shift``.
    compression_ratio : float, default=0.3
        Target fraction of parameters removed, in (0, 1); see :func:`sparse_dictionary_budget`
        for how CoSpaDi's storage is counted (values plus a bit mask). The achieved ratio is
        at least the target.
    atoms_per_nonzero : float, default=2.0
        ``k / s`` for CoSpaDi (the paper finds 2 works best).
    method : {"cospadi", "svd"}, default="cospadi"
    max_iter : int, default=60
        K-SVD iterations (CoSpaDi).
    tol : float, default=1e-4
        The K-SVD run converges when the relative squared error of the whitened weight changes
        by less than ``tol`` over an iteration without atom replacement (see :func:`ksvd`).
    random_state : None, int, RandomState or Generator
    n_jobs : int, optional
        Numba threads for sparse coding (``None``: one thread for small layers). The result
        does not depend on it.
    verbose, callback
        Progress of the K-SVD run, as in :func:`ksvd` (CoSpaDi).

    Returns
    -------
    result : CompressionResult

    References
    ----------
    D. Shopkhoev, D. Makhov, et al., "CoSpaDi: Compressing LLMs via Calibration-Guided Sparse
    Dictionary Learning", arXiv:2509.22075, 2025.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.dictionary import compress_layer
    >>> rng = np.random.default_rng(0)
    >>> W, X = rng.standard_normal((32, 48)), rng.standard_normal((200, 32))
    >>> result = compress_layer(W, X, compression_ratio=0.4, max_iter=5, random_state=0)
    >>> result.compression_ratio >= 0.4, result.layer.matmul(X).shape
    (True, (200, 48))
    """
    W = check_array(W, "W", ndim=2)
    d_in, d_out = W.shape
    if X_calibration is not None:
        X_calibration = check_array(X_calibration, "X_calibration", ndim=(1, 2))
        X_calibration = X_calibration.reshape(-1, X_calibration.shape[-1])  # 1-D: one token
        if X_calibration.shape[1] != d_in:
            raise ValueError(f"X_calibration must have W.shape[0]={d_in} columns (the layer's "
                             f"input dimension); got shape {X_calibration.shape}")
    method = check_one_of(method, "method", ("cospadi", "svd"))
    max_iter = check_int(max_iter, "max_iter", low=1)
    # every argument is checked, also those the chosen method does not use
    check_tol(tol)
    check_n_jobs(n_jobs)
    Progress("compress_layer", verbose, callback)
    if not isinstance(random_state, (type(None), np.random.RandomState, np.random.Generator)):
        check_random_state(random_state)  # names random_state; draws nothing
    if method == "svd":
        r = low_rank_budget(W.shape, compression_ratio)
    else:
        k, s = sparse_dictionary_budget(W.shape, compression_ratio, atoms_per_nonzero)
    # the problem is scale-invariant: extreme W or X are divided by powers of two (exactly)
    w_scale = power_of_two_scale(W)
    W = W / w_scale if w_scale != 1.0 else W
    if X_calibration is not None:
        x_scale = power_of_two_scale(X_calibration)
        X_calibration = X_calibration / x_scale if x_scale != 1.0 else X_calibration
    R, shift = whiten(X_calibration, d_in)
    WR = R @ W
    if method == "svd":
        U, S, Vt = np.linalg.svd(WR, full_matrices=False)
        left, right = _balanced(sla.solve_triangular(R, U[:, :r] * S[:r], lower=False),
                                Vt[:r])
        layer = LowRankLayer(left, right)
        history = ConvergenceHistory(1, criterion_name="error_decrease",
                                     objective_name="squared_residual")
        history.record(1, float(np.sum(S[r:] ** 2)), 0.0)
        fit = {"converged": True, "n_iter": 1, "history": history, "n_components": None,
               "n_nonzero": None, "rank": r}
    else:
        # signals are the columns of R W, i.e. the rows of (R W)^T
        result = ksvd(WR.T, k, s, max_iter=max_iter, tol=tol, approximate=True,
                      random_state=random_state, n_jobs=n_jobs, verbose=verbose,
                      callback=callback)
        dictionary, codes = _balanced(sla.solve_triangular(R, result.dictionary.T, lower=False),
                                      result.codes.T.tocsr())
        layer = SparseDictionaryLayer(dictionary, codes)
        fit = {"converged": result.converged, "n_iter": result.n_iter, "history": result.history,
               "n_components": k, "n_nonzero": s, "rank": None}
    error = _activation_error(W, layer, X_calibration)
    if w_scale != 1.0:
        layer = layer.scaled(w_scale)
    return CompressionResult(layer=layer,
                             compression_ratio=1.0 - layer.n_params / (d_in * d_out),
                             activation_error=error, gram_shift=shift, **fit)
