"""Registration of the dictionary module: estimators, check instances, expected failures, demo."""

from __future__ import annotations

import time

import numpy as np

from sparsenum.utils.registry import DemoRow

ESTIMATORS = ("CalibratedDictionaryCompressor", "KSVD", "OnlineOrthogonalDictionary")

_TOO_SMALL = ("a weight matrix with a single row or column cannot be stored in fewer "
              "parameters as a dictionary and codes: the compression ratio is unreachable")
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "CalibratedDictionaryCompressor": {"check_fit2d_1sample": _TOO_SMALL,
                                       "check_fit2d_1feature": _TOO_SMALL,
                                       "check_fit_score_takes_y": (
                                           "fit's arguments are named (W, X_calibration): a "
                                           "weight matrix and the activations that calibrate "
                                           "it, which is what the names say"),
                                       "check_dtype_object": (
                                           "the second argument holds activations, not labels: "
                                           "an object array is rejected by a TypeError naming "
                                           "X_calibration, not 'Unknown label type'")},
}


def check_instances():
    from . import KSVD, CalibratedDictionaryCompressor, OnlineOrthogonalDictionary

    return [
        CalibratedDictionaryCompressor(0.3, max_iter=2, random_state=0),
        KSVD(n_components=6, n_nonzero=2, max_iter=3, random_state=0),
        OnlineOrthogonalDictionary(batch_size=16, max_iter=2, random_state=0),
    ]


def demo(out_dir) -> list[DemoRow]:
    """Batch-OMP vs scikit-learn, K-SVD on image patches, CoSpaDi vs whitened SVD."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import orthogonal_mp_gram

    from . import KSVD, batch_omp, compress_layer

    rng = np.random.default_rng(0)
    rows = []
    # 1. Batch-OMP against scikit-learn's orthogonal_mp_gram
    D = rng.standard_normal((128, 32))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((2000, 32))
    batch_omp(X[:10], D, n_nonzero=6)  # compile / load the cache outside the timing
    start = time.perf_counter()
    codes = batch_omp(X, D, n_nonzero=6)
    elapsed = time.perf_counter() - start
    reference = orthogonal_mp_gram(D @ D.T, D @ X.T, n_nonzero_coefs=6).T
    rows.append(DemoRow(problem="2000 signals, 32 dims, 128 atoms, s=6", solver="batch_omp",
                        time=elapsed, n_iter=None,
                        accuracy=float(np.abs(codes.toarray() - reference).max()),
                        accuracy_name="max |coef - sklearn coef|",
                        reference="sklearn orthogonal_mp_gram"))
    # 2. K-SVD on 8x8 patches of a bundled image; reference: sklearn's OMP codes on our D
    from sklearn.datasets import load_sample_image
    from sklearn.feature_extraction.image import extract_patches_2d

    image = load_sample_image("china.jpg").mean(axis=2) / 255.0
    patches = extract_patches_2d(image[::2, ::2], (8, 8), max_patches=3000, random_state=0)
    P = patches.reshape(len(patches), -1)
    P = P - P.mean(axis=1, keepdims=True)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = KSVD(n_components=64, n_nonzero=4, max_iter=10, random_state=0).fit(P)
    elapsed = time.perf_counter() - start
    ref_codes = orthogonal_mp_gram(model.dictionary_ @ model.dictionary_.T,
                                   model.dictionary_ @ P.T, n_nonzero_coefs=4).T
    ref_err = np.linalg.norm(P - ref_codes @ model.dictionary_) / np.linalg.norm(P)
    our_err = np.linalg.norm(P - model.inverse_transform(model.transform(P))) / np.linalg.norm(P)
    rows.append(DemoRow(problem="3000 8x8 china.jpg patches, 64 atoms, s=4", solver="KSVD",
                        time=elapsed, n_iter=model.n_iter_, accuracy=abs(our_err - ref_err),
                        accuracy_name="|rel. error - sklearn OMP rel. error|",
                        reference="sklearn orthogonal_mp_gram", history=model.history_))
    # 3. CoSpaDi against the whitened truncated SVD at the same compression ratio
    W, Xc = layer_like_problem(96, 128, 800, rng)
    start = time.perf_counter()
    ours = compress_layer(W, Xc, compression_ratio=0.3, max_iter=20, random_state=0)
    elapsed = time.perf_counter() - start
    svd = compress_layer(W, Xc, compression_ratio=0.3, method="svd")
    rows.append(DemoRow(problem="96x128 layer, ratio 0.3", solver="compress_layer (cospadi)",
                        time=elapsed, n_iter=ours.n_iter,
                        accuracy=ours.activation_error / svd.activation_error,
                        accuracy_name="activation error / whitened-SVD error",
                        reference="numpy.linalg.svd (whitened)", history=ours.history))
    return rows


def layer_like_problem(d_in, d_out, n_tokens, rng):
    """A weight with a power-law spectrum and correlated (anisotropic) activations."""
    U, _ = np.linalg.qr(rng.standard_normal((d_in, d_in)))
    V, _ = np.linalg.qr(rng.standard_normal((d_out, d_in)))
    W = (U * np.arange(1, d_in + 1) ** -0.5) @ V.T
    mixing = rng.standard_normal((d_in, d_in)) * np.arange(1, d_in + 1) ** -0.7
    return W, rng.standard_normal((n_tokens, d_in)) @ mixing.T


def warm_up():
    """The module's main functions once on tiny inputs (fills numba's cache)."""
    from ._cases import warm_up

    warm_up()


def solver_cases():
    """One small problem per public solver function returning a result with a history."""
    from ._cases import solver_cases

    return solver_cases()


def easy_fits():
    """Every estimator with its defaults on an easy problem (none may warn)."""
    from ._cases import easy_fits

    return easy_fits()
