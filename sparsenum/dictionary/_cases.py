"""Small problems for the common tests and the warm-up of sparsenum.dictionary."""

from __future__ import annotations

import numpy as np


def warm_up():
    from . import batch_omp, ksvd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 8))
    D = rng.normal(size=(12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    batch_omp(X, D, n_nonzero=2)
    ksvd(X, 6, 2, max_iter=2, random_state=0)


def planted_signals(n_samples, n_features, n_atoms, n_nonzero, seed=0):
    """Signals that are exact ``n_nonzero``-sparse combinations of a random unit dictionary."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    codes = np.zeros((n_samples, n_atoms))
    for row in codes:
        support = rng.choice(n_atoms, n_nonzero, replace=False)
        row[support] = rng.choice([-1.0, 1.0], n_nonzero) * rng.uniform(1.0, 2.0, n_nonzero)
    return codes @ D, D


def planted_layer(d_in, d_out, n_atoms, n_nonzero, n_tokens, seed=0):
    """A weight ``W = D S`` with ``n_nonzero`` atoms per column, and well-spread activations."""
    rng = np.random.default_rng(seed)
    columns, _ = planted_signals(d_out, d_in, n_atoms, n_nonzero, seed)
    X = rng.standard_normal((n_tokens, d_in)) @ (np.eye(d_in) + 0.3 * rng.standard_normal(
        (d_in, d_in)) / np.sqrt(d_in))
    return columns.T, X


def _error_decrease(history, objective, total):
    previous = history.objective[-2] if len(history) > 1 else total
    return (previous - objective) / total


def solver_cases():
    from ..utils.registry import SolverCase
    from . import compress_layer, ksvd
    from .cospadi import whiten

    X = np.random.default_rng(1).standard_normal((150, 10))

    def ksvd_objective(result):
        return _error_decrease(result.history, float(np.sum(
            (X - result.codes @ result.dictionary) ** 2)), float(np.sum(X**2)))

    W, Xc = planted_layer(16, 24, 9, 4, 200, seed=2)
    W_noisy = W + 0.05 * np.random.default_rng(3).standard_normal(W.shape)
    R, _ = whiten(Xc, 16)

    def layer_objective(result):
        residual = R @ (W_noisy - result.layer.toarray())
        return _error_decrease(result.history, float(np.sum(residual**2)),
                               float(np.sum((R @ W_noisy) ** 2)))

    return [
        SolverCase(name="ksvd random 150x10, 16 atoms, s=3",
                   run=lambda: ksvd(X, 16, 3, max_iter=6, tol=0.0, random_state=0),
                   criterion=ksvd_objective, rtol=1e-6, atol=1e-12),
        SolverCase(name="ksvd exact updates, monotone",
                   run=lambda: ksvd(X, 12, 2, max_iter=5, approximate=False, monotone=True,
                                    random_state=1),
                   criterion=ksvd_objective, rtol=1e-6, atol=1e-12),
        SolverCase(name="compress_layer cospadi 16x24",
                   run=lambda: compress_layer(W_noisy, Xc, compression_ratio=0.3, max_iter=8,
                                              random_state=0),
                   criterion=layer_objective, rtol=1e-6, atol=1e-10),
        SolverCase(name="compress_layer svd 16x24",
                   run=lambda: compress_layer(W_noisy, Xc, compression_ratio=0.3, method="svd")),
    ]


def easy_fits():
    from ..utils.registry import EasyFit
    from . import KSVD, CalibratedDictionaryCompressor, OnlineOrthogonalDictionary

    X, _ = planted_signals(600, 16, 16, 1, seed=0)  # defaults: 16 atoms, 1 nonzero
    rng = np.random.default_rng(0)
    D, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    Y = (rng.standard_normal((2000, 8)) * (rng.random((2000, 8)) < 0.2)) @ D.T
    # a weight within the budget of ratio 0.3 (9 atoms, 4 nonzeros): 1-sparse in 9 atoms
    W, Xc = planted_layer(16, 24, 9, 1, 200, seed=0)
    return [
        EasyFit(name="KSVD planted 1-sparse", estimator=KSVD(random_state=0), X=X),
        EasyFit(name="OnlineOrthogonalDictionary planted orthogonal",
                estimator=OnlineOrthogonalDictionary(random_state=0), X=Y),
        EasyFit(name="CalibratedDictionaryCompressor planted layer",
                estimator=CalibratedDictionaryCompressor(random_state=0), X=W, y=Xc),
    ]


def layer_like_problem(d_in, d_out, n_tokens, rng):
    """A weight with a power-law spectrum and correlated (anisotropic) activations."""
    U, _ = np.linalg.qr(rng.standard_normal((d_in, d_in)))
    V, _ = np.linalg.qr(rng.standard_normal((d_out, d_in)))
    W = (U * np.arange(1, d_in + 1) ** -0.5) @ V.T
    mixing = rng.standard_normal((d_in, d_in)) * np.arange(1, d_in + 1) ** -0.7
    return W, rng.standard_normal((n_tokens, d_in)) @ mixing.T
