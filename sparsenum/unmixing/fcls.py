"""Fully constrained least squares: abundances of fixed endmembers, exactly on the simplex.

Every pixel's abundances solve a ``K``-variable quadratic programme (nonnegative, summing to
one) with a Hessian shared by all pixels; a primal active-set method solves it exactly in a few
Cholesky factorisations of ``K x K`` blocks, in parallel over pixels. The classic alternative,
nonnegative least squares on the data augmented with a row ``delta * 1`` (Heinz & Chang),
only approaches the sum-to-one constraint as ``delta`` grows and loses accuracy as it does.

With ``loss="l21"`` the fit is ``sum_l ||x^l - A e_l||`` over bands ``l`` (all pixels of a
band at once): a convex second-order cone programme, solved by iteratively reweighted exact
FCLS (each band weighted by ``1 / ||x^l - A e_l||``, a majorise-minimise step that never
increases the objective).
"""

from __future__ import annotations

import numpy as np

from sparsenum.base import ConvergenceHistory
from sparsenum.utils import WAKE_UP_WORK, check_int, numba_threads

from ._kernels import band_residual_norms, qp_rows
from ._result import AbundanceResult
from ._simplex import stationarity
from ._validation import (
    as_maps,
    check_band_weights,
    check_endmembers,
    check_loss,
    check_max_iter,
    check_pixels,
    check_tol,
)

__all__ = ["fcls"]

# active-set steps per pixel before giving up (a K-variable QP needs at most a few K)
_MAX_STEPS_PER_K = 8
# smoothing of the l2,1 loss, sqrt(r^2 + eta^2), relative to the root mean square band norm:
# keeps the reweighting finite when a band is fitted exactly
_L21_SMOOTHING = 1e-9

_LABELS = {"stationarity": "stationarity ||a - P(a - grad / s)||_inf",
           "objective": "objective (weighted loss)"}


def fcls(X, endmembers, *, loss="l2", band_weights=None, tol=1e-10, max_iter=500, n_jobs=None,
         verbose=0, callback=None):
    """Abundances of fixed endmembers: nonnegative, summing to one, by an exact active set.

    Parameters
    ----------
    X : array-like of shape (n_pixels, n_bands) or (height, width, n_bands)
        Reflectances, pixels as rows. Finite; small negative values are kept as they are.
    endmembers : array-like of shape (K, n_bands)
        Linearly independent endmember spectra.
    loss : {"l2", "l21"}, default="l2"
        ``"l2"``: ``1/2 sum_l w_l ||x^l - A e_l||^2``, the classic FCLS.
        ``"l21"``: ``sum_l w_l ||x^l - A e_l||`` over bands: a ruined band costs in proportion
        to its error, not its square (Zhu et al.'s robust loss).
    band_weights : array-like of shape (n_bands,), optional
        Nonnegative weight ``w_l`` per band (default ones), e.g. ``1 / sigma**2`` from
        :func:`estimate_band_noise` for a noise-whitened least-squares fit.
    tol : float, default=1e-10
        Stop the reweighting (``loss="l21"``) when the stationarity of the abundances, the
        largest entry of ``a - P(a - grad / s)`` over pixels, is at most ``tol``. For
        ``"l2"`` one exact solve suffices.
    max_iter : int, default=500
        Maximum reweighted solves (``"l21"``).
    n_jobs : int, optional
        Threads over pixels; default: numba's setting for large calls, one for small ones.
    verbose : int, default=0
        1: a summary at the end; 2: a line per reweighted solve (``loss="l21"``).
    callback : callable, optional
        ``callback(iteration, state)`` after every iteration (the single solve for ``"l2"``,
        every reweighted solve for ``"l21"``), ``state`` a dict with the current
        ``abundances`` (n_pixels, K), ``objective`` and ``stationarity`` (read only).

    Returns
    -------
    AbundanceResult
        ``abundances`` (n_pixels, K) (or (height, width, K) for a cube), ``objective``,
        ``band_residuals``.

    Raises
    ------
    ValueError
        On non-finite input, endmembers with another number of bands or linearly dependent,
        negative or wrongly sized band weights.
    TypeError
        If ``callback`` is not callable.

    References
    ----------
    Heinz, D. C. & Chang, C.-I. (2001). Fully constrained least squares linear spectral mixture
    analysis method for material quantification in hyperspectral imagery. IEEE Trans.
    Geoscience and Remote Sensing, 39(3), 529-545.

    Zhu, F., Wang, Y., Fan, B., Meng, G. & Pan, C. (2014). Effective spectral unmixing via
    robust representation and learning-based sparsity. arXiv:1409.0685.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.unmixing import fcls
    >>> rng = np.random.default_rng(0)
    >>> E = rng.uniform(0.1, 1.0, size=(3, 30))
    >>> A = rng.dirichlet(np.ones(3), size=100)
    >>> res = fcls(A @ E + 0.001 * rng.normal(size=(100, 30)), E)
    >>> bool(np.allclose(res.abundances.sum(axis=1), 1.0)), bool(res.abundances.min() >= 0)
    (True, True)
    >>> float(np.abs(res.abundances - A).max()) < 0.01
    True
    """
    X, spatial = check_pixels(X)
    if not X.flags.writeable:  # numba compiles read-only arrays as another type: copy instead
        X = X.copy()
    n, L = X.shape
    E = check_endmembers(endmembers, L)
    loss = check_loss(loss)
    w = check_band_weights(band_weights, L)
    tol = check_tol(tol)
    max_iter = check_max_iter(max_iter)
    verbose = check_int(verbose, "verbose", low=0)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None; got {callback!r}")
    K = E.shape[0]
    capacity = max_iter + 1 if loss == "l21" else 2
    history = ConvergenceHistory(capacity, criterion_name="stationarity", labels=_LABELS)
    A = np.full((n, K), 1.0 / K)
    max_steps = _MAX_STEPS_PER_K * K + 8
    work = float(n) * K * (L + 4 * K * K)
    with numba_threads(n_jobs, work, WAKE_UP_WORK):
        if loss == "l2":
            G, C = _quadratic(X, E, w)
            _solve(G, C, A, max_steps)
            residuals = band_residual_norms(X, A, E)
            objective = 0.5 * float(np.sum(w * residuals ** 2))
            crit = stationarity(A, G, C)
            history.record(1, objective=objective, criterion=crit)
            n_iter, converged = 1, True
            _report(1, A, objective, crit, verbose, callback)
        else:
            eta = _L21_SMOOTHING * np.sqrt(np.sum(X * X) / L)
            G, C = _quadratic(X, E, w)
            _solve(G, C, A, max_steps)  # the weighted l2 fit starts the reweighting
            converged = False
            n_iter = 0
            while True:
                residuals = band_residual_norms(X, A, E)
                objective = float(np.sum(w * residuals))
                G, C = _quadratic(X, E, w / np.sqrt(residuals ** 2 + eta ** 2))
                crit = stationarity(A, G, C)
                n_iter += 1
                history.record(n_iter, objective=objective, criterion=crit)
                _report(n_iter, A, objective, crit, verbose, callback)
                if crit <= tol:
                    converged = True
                    break
                if n_iter >= max_iter:
                    break
                _solve(G, C, A, max_steps)
    if verbose >= 1:
        state = "converged" if converged else "stopped at max_iter"
        print(f"fcls ({loss}) {state} after {n_iter} iterations: objective {objective:.10g}, "
              f"stationarity {crit:.3e}")
    return AbundanceResult(converged=converged, n_iter=n_iter, history=history,
                           abundances=as_maps(A, spatial), objective=objective,
                           band_residuals=residuals, loss=loss)


def _report(n_iter, A, objective, crit, verbose, callback):
    if verbose >= 2:
        print(f"fcls iteration {n_iter}: objective {objective:.10g}, stationarity {crit:.3e}")
    if callback is not None:
        callback(n_iter, {"abundances": A, "objective": objective, "stationarity": crit})


def _quadratic(X, E, d):
    """Shared Hessian ``E diag(d) E^T`` and linear terms ``X diag(d) E^T`` of the pixels' QPs."""
    Ed = E * d
    return Ed @ E.T, X @ Ed.T


_NO_PENALTY = np.zeros(0)


def _solve(G, C, A, max_steps):
    failed = qp_rows(G, np.ascontiguousarray(C), A, True, max_steps, _NO_PENALTY, 1.0, 0.0,
                     _NO_PENALTY)
    if failed:  # pragma: no cover - would need a cycling active set
        raise RuntimeError(f"the active set did not terminate on {failed} pixels")
