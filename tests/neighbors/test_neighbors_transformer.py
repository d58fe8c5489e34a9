"""HNSWTransformer against sklearn's KNeighborsTransformer, and in manifold-learning pipelines."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.manifold import TSNE, Isomap, trustworthiness
from sklearn.neighbors import KNeighborsTransformer
from sklearn.pipeline import make_pipeline

from sparsenum.neighbors import HNSWTransformer


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


@pytest.mark.parametrize("mode", ["distance", "connectivity"])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_same_graph_as_kneighbors_transformer(digits, mode, metric):
    X, _ = digits
    X = X + np.random.default_rng(0).normal(scale=1e-3, size=X.shape)  # no distance ties
    ours = HNSWTransformer(n_neighbors=6, mode=mode, metric=metric, ef=200,
                           random_state=0).fit(X[:300])
    ref = KNeighborsTransformer(n_neighbors=6, mode=mode, metric=metric).fit(X[:300])
    for Xq in (None, X[300:]):
        a = ours.transform(X[:300] if Xq is None else Xq)
        b = ref.transform(X[:300] if Xq is None else Xq)
        assert a.shape == b.shape and a.format == "csr"
        np.testing.assert_array_equal(np.diff(a.indptr), np.diff(b.indptr))
        np.testing.assert_array_equal(a.indices, b.indices)  # same order: by distance
        np.testing.assert_allclose(a.data, b.data, rtol=1e-4, atol=1e-4)
    fitted = ours.fit_transform(X[:300])
    assert fitted.nnz == 300 * (7 if mode == "distance" else 6)  # n_neighbors (+1 for self)
    assert (fitted.indices.reshape(300, -1)[:, 0] == np.arange(300)).all()


def test_tsne_pipeline(digits):
    X, _ = digits
    perplexity = 10
    pipeline = make_pipeline(
        HNSWTransformer(n_neighbors=int(3 * perplexity + 1), random_state=0),
        TSNE(metric="precomputed", perplexity=perplexity, init="random", max_iter=250,
             random_state=0))
    embedding = pipeline.fit_transform(X)
    assert embedding.shape == (400, 2) and np.isfinite(embedding).all()
    assert trustworthiness(X, embedding, n_neighbors=5) > 0.85


def test_isomap_pipeline(digits):
    X, _ = digits
    pipeline = make_pipeline(HNSWTransformer(n_neighbors=10, random_state=0),
                             Isomap(n_neighbors=10, metric="precomputed"))
    assert pipeline.fit_transform(X).shape == (400, 2)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_neighbors": 0}, ValueError, "n_neighbors"),
        ({"n_neighbors": 1.5}, TypeError, "n_neighbors"),
        ({"mode": "weights"}, ValueError, "mode"),
        ({"metric": "manhattan"}, ValueError, "metric"),
        ({"ef": 0}, ValueError, "ef"),
        ({"M": 1}, ValueError, "M"),
        ({"ef_construction": -1}, ValueError, "ef_construction"),
        ({"n_jobs": 0}, ValueError, "n_jobs"),
    ],
)
def test_bad_parameters(digits, params, error, match):
    with pytest.raises(error, match=match):
        HNSWTransformer(**params).fit(digits[0][:50])


def test_too_few_samples_and_bad_data(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        HNSWTransformer(n_neighbors=5).fit_transform(X[:5])
    with pytest.raises(ValueError, match="NaN"):
        HNSWTransformer().fit(np.where(np.eye(20, 64) > 0, np.nan, X[:20]))
    fitted = HNSWTransformer().fit(X[:50])
    with pytest.raises(ValueError, match="features"):
        fitted.transform(X[:5, :10])
