"""Calibration-guided compression: CoSpaDi against the whitened truncated SVD, budgets, inputs."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sparsenum.dictionary import (
    CalibratedDictionaryCompressor,
    LowRankLayer,
    SparseDictionaryLayer,
    compress_layer,
    sparse_dictionary_budget,
)
from sparsenum.dictionary._cases import layer_like_problem


@pytest.fixture(scope="module")
def layer():
    return layer_like_problem(48, 64, 400, np.random.default_rng(0))


@pytest.mark.parametrize("ratio", [0.2, 0.35, 0.5])
def test_cospadi_beats_whitened_svd(layer, ratio):
    W, X = layer
    ours = compress_layer(W, X, compression_ratio=ratio, max_iter=20, random_state=0)
    svd = compress_layer(W, X, compression_ratio=ratio, method="svd")
    assert ours.compression_ratio >= ratio and svd.compression_ratio >= ratio
    assert ours.activation_error < svd.activation_error


def test_whitened_svd_is_optimal_low_rank(layer):
    """At its rank, the whitened SVD beats the plain SVD of W on activations (Eckart-Young)."""
    W, X = layer
    svd = compress_layer(W, X, compression_ratio=0.5, method="svd")
    U, S, Vt = np.linalg.svd(W, full_matrices=False)
    plain = (U[:, :svd.rank] * S[:svd.rank]) @ Vt[:svd.rank]
    plain_error = np.linalg.norm(X @ (W - plain)) / np.linalg.norm(X @ W)
    assert svd.activation_error <= plain_error + 1e-12


def test_layer_matmul_matches_dense_product(layer):
    W, X = layer
    result = compress_layer(W, X, compression_ratio=0.3, max_iter=3, random_state=0)
    dense = result.layer.toarray()
    np.testing.assert_allclose(result.layer.matmul(X), X @ dense, atol=1e-10)
    np.testing.assert_allclose(X[0] @ result.layer, X[0] @ dense, atol=1e-10)
    expected = np.linalg.norm(X @ W - X @ dense) / np.linalg.norm(X @ W)
    assert result.activation_error == pytest.approx(expected, rel=1e-10)


def test_compression_ratio_formula():
    d_in, d_out = 64, 96
    k, s = sparse_dictionary_budget((d_in, d_out), 0.3)
    assert k == 2 * s or k == 2 * s + 1
    counted = d_in * k + s * d_out + k * d_out / 16
    assert 1 - counted / (d_in * d_out) >= 0.3
    # one more atom (with its share of nonzeros) would exceed the budget
    assert 1 - (d_in * (k + 2) + (s + 1) * d_out + (k + 2) * d_out / 16) / (d_in * d_out) < 0.3
    layer = SparseDictionaryLayer(np.ones((d_in, k)), sp.random(k, d_out, density=0.1))
    assert layer.n_params == d_in * k + layer.codes.nnz + k * d_out / 16
    assert LowRankLayer(np.ones((d_in, 3)), np.ones((3, d_out))).n_params == 3 * (d_in + d_out)


def test_singular_gram_is_shifted_and_reported():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((32, 40))
    X = rng.standard_normal((10, 32))  # fewer tokens than inputs: X^T X is singular
    result = compress_layer(W, X, compression_ratio=0.3, max_iter=3, random_state=0)
    assert result.gram_shift > 0
    assert np.isfinite(result.activation_error) and result.activation_error < 1
    full = compress_layer(W, rng.standard_normal((200, 32)), compression_ratio=0.3, max_iter=2,
                          random_state=0)
    assert full.gram_shift == 0.0


def test_without_calibration_minimises_weight_error():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((24, 30))
    result = compress_layer(W, compression_ratio=0.5, method="svd")
    _U, S, _Vt = np.linalg.svd(W)
    best = np.sqrt(np.sum(S[result.rank:] ** 2)) / np.linalg.norm(W)
    assert result.activation_error == pytest.approx(best, rel=1e-10)


def test_estimator_attributes(layer):
    W, X = layer
    W0, X0 = W.copy(), X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = CalibratedDictionaryCompressor(0.3, max_iter=3, random_state=0).fit(W, X)
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(X, X0)
    assert sp.issparse(model.codes_)
    assert model.codes_.getnnz(axis=0).max() <= model.dictionary_.shape[1] // 2 + 1
    np.testing.assert_allclose(model.compressed_.matmul(X[:5]),
                               X[:5] @ model.dictionary_ @ model.codes_.toarray(), atol=1e-10)
    assert model.compression_ratio_ >= 0.3 and 0 < model.activation_error_ < 1
    svd = CalibratedDictionaryCompressor(0.3, method="svd").fit(W, X)
    assert isinstance(svd.compressed_, LowRankLayer)
    assert svd.codes_.shape[0] == svd.dictionary_.shape[1]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"compression_ratio": 0.0}, ValueError, r"compression_ratio must be a finite number > 0"),
    ({"compression_ratio": 1.0}, ValueError, "< 1"),
    ({"compression_ratio": -0.2}, ValueError, "compression_ratio"),
    ({"compression_ratio": 0.99}, ValueError, "unreachable"),
    ({"compression_ratio": "half"}, TypeError, "compression_ratio must be a real number"),
    ({"atoms_per_nonzero": 0.5}, ValueError, "atoms_per_nonzero must be a finite number >= 1"),
    ({"method": "pca"}, ValueError, "method must be one of 'cospadi', 'svd'"),
    ({"max_iter": 0}, ValueError, "max_iter must be an integer >= 1"),
])
def test_bad_arguments(layer, kwargs, error, match):
    W, X = layer
    with pytest.raises(error, match=match):
        compress_layer(W, X, **kwargs)


def test_unreachable_svd_ratio_and_bad_arrays(layer):
    W, X = layer
    with pytest.raises(ValueError, match="unreachable"):
        compress_layer(np.ones((2, 2)), compression_ratio=0.9, method="svd")
    with pytest.raises(ValueError, match="X_calibration must have W.shape"):
        compress_layer(W, X[:, :5])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X_calibration must not contain NaN"):
        compress_layer(W, bad)
    with pytest.raises(ValueError, match="W must be finite"):
        compress_layer(np.full((4, 4), np.inf))
    with pytest.raises(ValueError, match="x must have 48 columns"):
        compress_layer(W, X, max_iter=1, random_state=0).layer.matmul(np.ones((2, 3)))
