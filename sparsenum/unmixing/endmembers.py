"""Endmember extraction among the pixels: VCA and SPA, optionally on band-weighted data.

Both assume that every endmember appears (nearly) pure in some pixel and pick those pixels as
vertices of the data's simplex. Bands with large noise (ruined detector rows, absorption bands)
mislead both; ``band_weights`` (e.g. ``1 / estimate_band_noise(X)**2``) whitens the bands
before the search, and the chosen pixels' spectra are returned as measured.
"""

from __future__ import annotations

import numpy as np

from sparsenum.base import ConvergenceHistory
from sparsenum.utils import check_one_of, check_random_state

from ._result import EndmemberResult
from ._validation import check_band_weights, check_n_endmembers, check_pixels

__all__ = ["extract_endmembers"]


def extract_endmembers(X, n_endmembers, *, method="vca", band_weights=None, random_state=None):
    """Pick ``n_endmembers`` pure pixels: Vertex Component Analysis or the Successive
    Projection Algorithm.

    Parameters
    ----------
    X : array-like of shape (n_pixels, n_bands) or (height, width, n_bands)
        Reflectances, pixels as rows.
    n_endmembers : int
        Number of endmembers ``K``, ``2 <= K <= min(n_pixels, n_bands)``.
    method : {"vca", "spa"}, default="vca"
        ``"vca"``: Nascimento & Bioucas-Dias (2005): projects the data on its ``K``-dimensional
        signal subspace and repeatedly picks the pixel most extreme along a random direction
        orthogonal to the endmembers found so far. ``"spa"``: Gillis & Vavasis (2014): picks
        the pixel of largest norm, projects all pixels on its orthogonal complement, repeats;
        deterministic and provably robust on separable data.
    band_weights : array-like of shape (n_bands,), optional
        Nonnegative weight per band; bands are scaled by ``sqrt(weight)`` before the search
        (``1 / sigma**2`` from :func:`estimate_band_noise` whitens the noise).
    random_state : None, int, RandomState or Generator, default=None
        The random directions of VCA (SPA uses none).

    Returns
    -------
    EndmemberResult
        ``endmembers`` (K, n_bands) and the ``indices`` of the chosen pixels.

    References
    ----------
    Nascimento, J. M. P. & Bioucas-Dias, J. M. (2005). Vertex component analysis: a fast
    algorithm to unmix hyperspectral data. IEEE Trans. Geoscience and Remote Sensing, 43(4).

    Gillis, N. & Vavasis, S. A. (2014). Fast and robust recursive algorithms for separable
    nonnegative matrix factorization. IEEE Trans. Pattern Analysis and Machine Intelligence,
    36(4), 698-714.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.unmixing import extract_endmembers
    >>> rng = np.random.default_rng(0)
    >>> spectra = rng.uniform(0.1, 1.0, size=(3, 20))
    >>> A = rng.dirichlet(np.ones(3), size=200)
    >>> A[[5, 50, 150]] = np.eye(3)  # pure pixels
    >>> res = extract_endmembers(A @ spectra, 3, method="spa")
    >>> sorted(res.indices.tolist())
    [5, 50, 150]
    """
    X, _ = check_pixels(X)
    n, L = X.shape
    K = check_n_endmembers(n_endmembers, n, L)
    check_one_of(method, "method", ("vca", "spa"))
    w = check_band_weights(band_weights, L)
    rng = check_random_state(random_state)
    history = ConvergenceHistory(K + 1, criterion_name="picks_left",
                                 objective_name="pick_score",
                                 labels={"picks_left": "endmembers still to pick",
                                         "pick_score": "score of the picked pixel"})
    Xw = X * np.sqrt(w) if band_weights is not None else X
    pick = _vca if method == "vca" else _spa
    indices, scores = pick(Xw, K, rng)
    for i, score in enumerate(scores):
        history.record(i + 1, objective=score, criterion=float(K - i - 1))
    indices = np.asarray(indices, dtype=np.int64)
    return EndmemberResult(converged=True, n_iter=K, history=history,
                           endmembers=X[indices].copy(), indices=indices, method=method)


def _spa(X, K, rng):
    """Successive projections on the pixels (rows of ``X``)."""
    R = X.copy()
    norms = np.einsum("ij,ij->i", R, R)
    top = norms.max()
    indices, scores = [], []
    for _ in range(K):
        j = int(np.argmax(norms))
        indices.append(j)
        scores.append(float(np.sqrt(max(norms[j], 0.0))))
        u = R[j] / np.sqrt(norms[j]) if norms[j] > 0 else R[j]
        R -= np.outer(R @ u, u)
        norms = np.einsum("ij,ij->i", R, R)
        norms[indices] = -np.inf  # already picked: rounding must not pick them twice
        if not np.isfinite(norms).any() or norms.max() <= 1e-30 * top:
            norms = np.where(np.isfinite(norms), 0.0, -np.inf)
    return indices, scores


def _vca(X, K, rng):
    """Vertex component analysis (rows of ``X`` are pixels)."""
    n, L = X.shape
    mean = X.mean(axis=0)
    centred = X - mean
    # signal subspace and SNR estimate (Nascimento & Bioucas-Dias, eq. 13)
    _, s, Vt = np.linalg.svd(centred, full_matrices=False)
    U = Vt[:K].T
    p_y = float(np.einsum("ij,ij->", X, X)) / n
    p_x = float(np.sum(s[:K] ** 2)) / n + float(mean @ mean)
    snr = 10 * np.log10(max(p_x - K / L * p_y, 1e-300) / max(p_y - p_x, 1e-300))
    if snr > 15 + 10 * np.log10(K):
        # projective projection: every pixel scaled onto the hyperplane u^T y = 1
        _, _, Vt = np.linalg.svd(X, full_matrices=False)
        Y = X @ Vt[:K].T
        u = Y.mean(axis=0)
        denom = Y @ u
        denom[denom == 0] = 1e-300
        Y = Y / denom[:, None]
    else:
        Y = centred @ U[:, : K - 1]
        c = np.sqrt(np.max(np.einsum("ij,ij->i", Y, Y)))
        Y = np.hstack([Y, np.full((n, 1), c)])
    picked = np.zeros((K, K))
    picked[K - 1, 0] = 1.0  # Nascimento & Bioucas-Dias start from e_K
    indices, scores = [], []
    for i in range(K):
        w = rng.standard_normal(K)
        f = w - picked @ (np.linalg.pinv(picked) @ w)
        f /= max(np.linalg.norm(f), 1e-300)
        v = np.abs(Y @ f)
        v[indices] = -np.inf
        j = int(np.argmax(v))
        indices.append(j)
        scores.append(float(v[j]))
        picked[:, i] = Y[j]
    return indices, scores
