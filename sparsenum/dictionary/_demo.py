"""The dictionary module's demo: Batch-OMP and K-SVD against scikit-learn, CoSpaDi against SVD."""

from __future__ import annotations

import time

import numpy as np

from ..utils.registry import DemoRow


def run_demo(out_dir) -> list[DemoRow]:
    """Batch-OMP vs scikit-learn, K-SVD on image patches, CoSpaDi vs whitened SVD."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import orthogonal_mp_gram

    from . import KSVD, batch_omp, compress_layer
    from ._cases import layer_like_problem

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
