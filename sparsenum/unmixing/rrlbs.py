"""Robust representation and learning-based sparsity (RRLbS, Zhu et al. 2014).

The model, for pixels ``x_n`` (rows of ``X``), endmembers ``E`` (K x n_bands) and abundances
``A`` (rows on the simplex)::

    F(E, A, h) = sum_l phi(||x^l - A e_l||)          data: l2,1 over bands, or 1/2 ||.||^2
               + lam sum_n h_n sum_k ((a_nk + eps)^p - eps^p)     guided l_p sparsity
               + gamma ||h||^2                                     keeps h from collapsing

with ``E >= 0``, ``h >= 0``, ``sum(h) = n_pixels``. Each iteration lowers ``F`` block by block:

* abundances: one majorise-minimise step. ``phi(r) = sqrt(r^2 + eta^2) - eta`` (the l2,1 norm,
  smoothed by a negligible ``eta``) is majorised by a weighted square with band weights
  ``1 / (2 sqrt(r_l^2 + eta^2))``, the concave ``(a + eps)^p`` by its tangent; the majoriser is
  a quadratic programme per pixel on the simplex, solved exactly (active set, in parallel);
* endmembers: exact nonnegative least squares per band (each band's fit is independent, and
  minimising ``||r||`` is minimising ``||r||^2``, so the loss does not change this step);
* guidance map: exact, ``h = P(-lam s / (2 gamma))`` with ``s_n`` the pixels' sparsity terms and
  ``P`` the projection on the scaled simplex: the most mixed pixels get the least push.

Hence the objective never increases, the abundances sum to one exactly, and the per-band
residual norms come from Gram products (``||x^l||^2 - 2 e_l^T (A^T X)_l + e_l^T A^T A e_l``),
never from an ``n_pixels x n_bands`` temporary.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sparsenum.base import ConvergenceHistory
from sparsenum.utils import (
    WAKE_UP_WORK,
    check_bool,
    check_int,
    check_one_of,
    check_random_state,
    check_scalar,
    numba_threads,
)

from ._kernels import qp_rows
from ._result import UnmixingResult
from ._simplex import project_simplex
from ._validation import (
    as_maps,
    check_loss,
    check_max_iter,
    check_n_endmembers,
    check_pixels,
    check_tol,
)
from .endmembers import extract_endmembers
from .fcls import fcls
from .noise import estimate_band_noise

__all__ = ["rrlbs"]

_INITS = ("weighted_vca", "weighted_spa", "vca", "spa")
_NO_PENALTY = np.zeros(0)


@dataclasses.dataclass(frozen=True)
class _Tuning:
    # smoothing of a^p as (a + eps)^p - eps^p: a finite slope at zero lets a component that a
    # step set to zero come back; without it zeros are final (the tangent of a^p is infinite)
    eps: float = 1e-3
    # smoothing of the l2,1 loss relative to the root mean square band norm: finite weights for
    # exactly fitted bands, far below the rounding of the Gram-product residuals (1e-8)
    eta: float = 1e-6
    # active-set steps per variable before a QP counts as failed (a few suffice)
    steps_per_variable: int = 8
    # noise variances below this fraction of their median are floored when weighting the start
    # (noiseless bands would get infinite weight)
    noise_floor: float = 1e-6
    # lam="auto" is this multiple of the noise energy per pixel, so the sparsity push scales
    # with the noise it must overrule; chosen on earthlib scenes (K=5, 20 and 30 dB, 0 and 10%
    # ruined bands, 3 seeds) among 0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4
    lam_scale: float = 0.03


_TUNING = _Tuning()


def rrlbs(X, n_endmembers, *, p=0.5, lam="auto", gamma="auto", loss="l21", guided=True,
          init="weighted_vca", tol=1e-6, max_iter=500, random_state=None, n_jobs=None,
          verbose=0, callback=None):
    """Unmix a scene robustly: l2,1 fit over bands, guided l_p sparsity, band-noise start.

    Parameters
    ----------
    X : array-like of shape (n_pixels, n_bands) or (height, width, n_bands)
        Reflectances, pixels as rows. Finite; small negative values are kept.
    n_endmembers : int
        Number of endmembers ``K``, ``2 <= K <= min(n_pixels, n_bands)``.
    p : float in (0, 1], default=0.5
        Exponent of the sparsity penalty (``p = 1`` penalises nothing: abundances on the
        simplex all have l1 norm one).
    lam : "auto" or float >= 0, default="auto"
        Weight of the sparsity term. ``"auto"``: ``0.03 L median_l ||x^l - A e_l||^2 / N``,
        0.03 times the noise energy per pixel as the start's residuals estimate it (the
        median over bands ignores ruined ones); for ``loss="l21"`` multiplied by the mean of
        ``1 / ||x^l - A e_l||``, the l2,1 loss's curvature relative to the squared loss.
    gamma : "auto" or float > 0, default="auto"
        Weight of ``||h||^2``. Small values concentrate the guidance map on few pixels, large
        ones flatten it to ones. ``"auto"``: ``lam (max(s) - mean(s)) / 2`` for the start's
        sparsity terms ``s``, the smallest value for which every pixel keeps some push.
    loss : {"l21", "l2"}, default="l21"
        ``"l21"``: ``sum_l ||x^l - A e_l||`` over bands, robust to ruined bands.
        ``"l2"``: ``1/2 ||X - A E||_F^2``; with ``guided=False`` this is the L1/2-NMF model.
    guided : bool, default=True
        Learn the guidance map ``h``; ``False`` holds it at ones.
    init : {"weighted_vca", "weighted_spa", "vca", "spa"}, default="weighted_vca"
        The start: endmembers picked by VCA or SPA, then FCLS abundances; ``weighted_*`` first
        whitens the bands by their noise (:func:`estimate_band_noise`) for both steps, which
        keeps ruined bands from steering the picks.
    tol : float, default=1e-6
        Stop when the objective's relative decrease in one iteration is at most ``tol``.
    max_iter : int, default=500
        Maximum iterations.
    random_state : None, int, RandomState or Generator
        For VCA's random directions.
    n_jobs : int, optional
        Threads over pixels; default: numba's setting for large calls, one for small ones.
    verbose : int, default=0
        1: a summary at the end; 2: a line per iteration.
    callback : callable, optional
        ``callback(iteration, state)`` after every iteration, ``state`` a dict with the
        current ``endmembers``, ``abundances``, ``guidance`` and ``objective`` (read only).

    Returns
    -------
    UnmixingResult

    Raises
    ------
    ValueError
        On non-finite input, ``n_endmembers`` out of range, ``p`` outside (0, 1], ``lam < 0``,
        ``gamma <= 0``, or (weighted starts) constant bands or fewer pixels than bands.

    References
    ----------
    Zhu, F., Wang, Y., Fan, B., Meng, G. & Pan, C. (2014). Effective spectral unmixing via
    robust representation and learning-based sparsity. arXiv:1409.0685.

    Qian, Y., Jia, S., Zhou, J. & Robles-Kelly, A. (2011). Hyperspectral unmixing via L1/2
    sparsity-constrained nonnegative matrix factorization. IEEE Trans. Geoscience and Remote
    Sensing, 49(11), 4282-4297.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.unmixing import load_spectra, make_scene, match_endmembers, rrlbs
    >>> spectra = load_spectra()[0][:3]
    >>> scene = make_scene(spectra, shape=(20, 20), ruined_fraction=0.1, random_state=0)
    >>> res = rrlbs(scene.X, 3, random_state=0)
    >>> res.abundances.shape, res.guidance.shape
    ((20, 20, 3), (20, 20))
    >>> intact = np.setdiff1d(np.arange(180), scene.ruined)
    >>> order, angles = match_endmembers(spectra[:, intact], res.endmembers[:, intact])
    >>> bool(angles.mean() < 0.05)
    True
    """
    X, spatial = check_pixels(X)
    n, L = X.shape
    K = check_n_endmembers(n_endmembers, n, L)
    p = check_scalar(p, "p", low=0.0, high=1.0, include_low=False)
    if not (isinstance(lam, str) and lam == "auto"):
        lam = check_scalar(lam, "lam", low=0.0)
    if not (isinstance(gamma, str) and gamma == "auto"):
        gamma = check_scalar(gamma, "gamma", low=0.0, include_low=False)
    loss = check_loss(loss)
    guided = check_bool(guided, "guided")
    check_one_of(init, "init", _INITS)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    verbose = check_int(verbose, "verbose", low=0)
    check_random_state(random_state)  # fail before any work; VCA draws from it later
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None; got {callback!r}")

    work = float(n) * K * (2 * L + 8 * K * K)
    with numba_threads(n_jobs, work, WAKE_UP_WORK):
        E, A, init_indices = _start(X, K, init, random_state, n_jobs)
        return _iterate(X, E, A, init_indices, spatial, p=p, lam=lam, gamma=gamma, loss=loss,
                        guided=guided, tol=tol, max_iter=max_iter, verbose=verbose,
                        callback=callback)


def _start(X, K, init, random_state, n_jobs):
    weights = None
    if init.startswith("weighted_"):
        variance = estimate_band_noise(X) ** 2
        floor = _TUNING.noise_floor * max(float(np.median(variance)), 1e-300)
        weights = 1.0 / np.maximum(variance, floor)
        weights /= weights.mean()
    method = init.rsplit("_", 1)[-1]
    picked = extract_endmembers(X, K, method=method, band_weights=weights,
                                random_state=random_state)
    if not _independent(picked.endmembers) and method == "vca":
        # VCA can pick duplicated spectra on degenerate data; SPA projects them out
        picked = extract_endmembers(X, K, method="spa", band_weights=weights)
    if not _independent(np.maximum(picked.endmembers, 0.0)):
        raise ValueError(f"X must hold n_endmembers={K} linearly independent nonnegative "
                         "spectra among its pixels; its pixels span fewer")
    A = fcls(X, picked.endmembers, band_weights=weights, n_jobs=n_jobs).abundances
    # nonnegative endmembers: a picked pixel may hold small negative noise
    return np.maximum(picked.endmembers, 0.0), np.ascontiguousarray(A), picked.indices


def _independent(E):
    s = np.linalg.svd(E, compute_uv=False)
    return bool(s[0] > 0 and s[-1] > 1e-10 * s[0])


def _auto_lambda(r, n, eta, loss):
    """``lam_scale`` times the noise energy per pixel, estimated by the start's residuals
    (median over bands, so ruined bands do not count); for the l2,1 loss, times the mean band
    weight ``1 / ||x^l - A e_l||`` at the start (the l2,1 loss's curvature against l2's)."""
    lam = _TUNING.lam_scale * r.size * float(np.median(r ** 2)) / n
    if loss == "l21":
        lam *= float(np.mean(1.0 / np.sqrt(r ** 2 + eta ** 2)))
    return lam


class _Residuals:
    """Per-band residual norms from Gram products: ``A^T X`` and ``A^T A`` are computed for
    the endmember step anyway."""

    def __init__(self, X):
        self.band_energy = np.einsum("ij,ij->j", X, X)

    def __call__(self, E, AtX, AtA):
        sq = self.band_energy - 2.0 * np.einsum("kl,kl->l", E, AtX) + \
            np.einsum("kl,kl->l", E, AtA @ E)
        return np.sqrt(np.maximum(sq, 0.0))


def _iterate(X, E, A, init_indices, spatial, *, p, lam, gamma, loss, guided, tol, max_iter,
             verbose, callback):
    n, L = X.shape
    K = E.shape[0]
    max_steps = _TUNING.steps_per_variable * K + 8
    eps, eps_p = _TUNING.eps, _TUNING.eps ** p
    residuals = _Residuals(X)
    eta = _TUNING.eta * np.sqrt(residuals.band_energy.mean())
    AtX = A.T @ X
    AtA = A.T @ A
    r = residuals(E, AtX, AtA)

    if lam == "auto":
        lam = _auto_lambda(r, n, eta, loss)
    s = ((A + eps) ** p - eps_p).sum(axis=1)
    if guided:
        if gamma == "auto":
            spread = float(s.max() - s.mean())
            gamma = lam * spread / 2.0 if spread > 0 and lam > 0 else 1.0
        h = project_simplex(-lam * s / (2.0 * gamma), float(n))
    else:
        gamma = 0.0
        h = np.ones(n)

    def terms(r, s, h):
        if loss == "l21":
            data = float(np.sum(np.sqrt(r ** 2 + eta ** 2) - eta))
        else:
            data = 0.5 * float(np.sum(r ** 2))
        sparsity = lam * float(h @ s)
        return data, sparsity, data + sparsity + gamma * float(h @ h)

    history = ConvergenceHistory(
        max_iter + 1, extra=("data_term", "sparsity_term"), criterion_name="relative_change",
        labels={"relative_change": "relative change of the objective |F_{t-1} - F_t| / F_t",
                "objective": "objective F (data + sparsity + guidance)",
                "data_term": "data term", "sparsity_term": "sparsity term lam sum h_n s_n"})
    data, sparsity, objective = terms(r, s, h)
    history.record(0, objective=objective, data_term=data, sparsity_term=sparsity)
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        # abundances: exact minimiser of the majoriser, pixel by pixel
        d = 0.5 / np.sqrt(r ** 2 + eta ** 2) if loss == "l21" else np.full(L, 0.5)
        Ed = E * d
        G = Ed @ E.T
        B = X @ Ed.T
        qp_rows(G, B, A, True, max_steps, 0.5 * lam * p * h, p, eps, s)
        # endmembers: nonnegative least squares per band
        AtX = A.T @ X
        AtA = A.T @ A
        Et = np.ascontiguousarray(E.T)
        qp_rows(AtA, np.ascontiguousarray(AtX.T), Et, False, max_steps, _NO_PENALTY, 1.0, 0.0,
                _NO_PENALTY)
        E = np.ascontiguousarray(Et.T)
        r = residuals(E, AtX, AtA)
        # guidance map: projection on the scaled simplex
        if guided:
            h = project_simplex(-lam * s / (2.0 * gamma), float(n))
        previous = objective
        data, sparsity, objective = terms(r, s, h)
        change = abs(previous - objective) / max(abs(objective), 1e-300)
        history.record(n_iter, objective=objective, criterion=change, data_term=data,
                       sparsity_term=sparsity)
        if verbose >= 2:
            print(f"rrlbs iteration {n_iter}: objective {objective:.10g}, relative change "
                  f"{change:.3e}")
        if callback is not None:
            callback(n_iter, {"endmembers": E, "abundances": A, "guidance": h,
                              "objective": objective})
        if change <= tol:
            converged = True
            break
    if verbose >= 1:
        state = "converged" if converged else "stopped at max_iter"
        print(f"rrlbs {state} after {n_iter} iterations: objective {objective:.10g}")
    if loss == "l21":
        weights = 1.0 / np.sqrt(r ** 2 + eta ** 2)
        weights /= weights.mean()
    else:
        weights = np.ones(L)
    return UnmixingResult(
        converged=converged, n_iter=n_iter, history=history, endmembers=E,
        abundances=as_maps(A, spatial), guidance=as_maps(h, spatial), band_weights=weights,
        objective=objective, data_term=data, sparsity_term=sparsity, lam=float(lam),
        gamma=float(gamma), p=p, loss=loss, init_indices=np.asarray(init_indices))


def objective_of(X, result):
    """The objective of an :class:`UnmixingResult` on ``X``, recomputed from its fields with
    direct residuals (for tests: the solver uses Gram products)."""
    X, _ = check_pixels(X)
    K = result.endmembers.shape[0]
    A = result.abundances.reshape(-1, K)
    h = result.guidance.ravel()
    r = np.linalg.norm(X - A @ result.endmembers, axis=0)
    eta = _TUNING.eta * np.sqrt(np.einsum("ij,ij->j", X, X).mean())
    if result.loss == "l21":
        data = float(np.sum(np.sqrt(r ** 2 + eta ** 2) - eta))
    else:
        data = 0.5 * float(np.sum(r ** 2))
    s = ((A + _TUNING.eps) ** result.p - _TUNING.eps ** result.p).sum(axis=1)
    return data + result.lam * float(h @ s) + result.gamma * float(h @ h)
