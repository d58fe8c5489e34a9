"""Limits of HNSWIndex: the float32 range, huge sizes, small ef_construction, the metric
vocabulary, progress output and messages that name the user's arguments."""

import warnings

import numpy as np
import pytest

from sparsenum.neighbors import HNSWIndex, HNSWTransformer


@pytest.fixture(scope="module")
def data(nn):
    return nn.clustered(2000, 16, seed=0), nn.clustered(100, 16, seed=1)


def build(X, **kwargs):
    index = HNSWIndex(X.shape[1], **{"M": 8, "ef_construction": 48, "random_state": 0, **kwargs})
    index.add(X)
    return index


# -- float32 range: rejected outside, exact inside -------------------------------------------
@pytest.mark.parametrize("metric", ["sqeuclidean", "cosine"])
def test_recall_is_unchanged_at_both_ends_of_the_float32_range(data, nn, metric):
    X, Q = data
    reference = build(X, metric=metric).query(Q, 10, ef=64)[0]
    largest = np.linalg.norm(X.astype(np.float64), axis=1).max()
    for target in (2.0**62 * 0.99, 2.0**-60 * 1.01):  # just inside each limit
        factor = target / largest
        Xs, Qs = X.astype(np.float64) * factor, Q.astype(np.float64) * factor
        ids, dist = build(Xs, metric=metric).query(Qs, 10, ef=64)
        truth, _ = nn.brute_force(Xs, Qs, 10, metric)
        assert nn.recall(ids, truth) == nn.recall(reference, nn.brute_force(X, Q, 10, metric)[0])
        np.testing.assert_array_equal(ids, reference)  # the same graph and the same answers
        if metric == "sqeuclidean":  # the distances keep float32's relative accuracy
            exact = ((Qs[:, None, :] - Xs[ids]) ** 2).sum(-1)
            np.testing.assert_allclose(dist, exact, rtol=1e-5)


@pytest.mark.parametrize("factor", [1e20, 1e30])
def test_vectors_whose_distances_overflow_are_rejected(data, factor):
    X, Q = data
    with pytest.raises(ValueError, match=r"X has vectors of norm up to .*overflow"):
        HNSWIndex(16).add(X * factor)
    index = build(X[:100])
    with pytest.raises(ValueError, match=r"Q has vectors of norm up to .*overflow"):
        index.query(Q * factor, 3)
    fitted = HNSWTransformer(n_neighbors=3).fit(X[:100].astype(np.float64))
    with pytest.raises(ValueError, match=r"^X has vectors of norm up to"):
        fitted.transform(Q.astype(np.float64) * factor)
    with pytest.raises(ValueError, match=r"^X must be finite"):  # beyond float32 entirely
        fitted.transform(Q.astype(np.float64) * 1e39)


@pytest.mark.parametrize("factor", [1e-25, 1e-40])
def test_an_index_of_only_tiny_vectors_is_rejected(data, factor):
    X, _ = data
    with pytest.raises(ValueError, match="X and the vectors already in the index all have "
                                         "norms below .*underflow"):
        HNSWIndex(16).add(X * factor)
    index = build(X[:100])
    index.add(X[100:110] * factor)  # tiny vectors among ordinary ones are fine
    assert index.query(X[100] * factor, 1)[0][0, 0] in range(100, 110)
    zeros = HNSWIndex(4)
    zeros.add(np.zeros((3, 4)))  # and an index of zero vectors is exact (ties at 0)
    assert zeros.query(np.zeros(4), 3)[1].tolist() == [[0, 0, 0]]


# -- sizes ------------------------------------------------------------------------------------
def test_huge_ef_is_an_exact_search(data, nn):
    X, Q = data
    index = build(X[:300])
    truth, _ = nn.brute_force(X[:300], Q, 5)
    for ef in (10**12, 10**30):
        ids, _ = index.query(Q, 5, ef=ef)
        np.testing.assert_array_equal(ids, truth)
    index.ef = 10**15
    np.testing.assert_array_equal(index.query(Q, 5)[0], truth)


def test_huge_ef_construction_is_bounded_by_the_index_size(data):
    X, _ = data
    huge = build(X[:300], ef_construction=10**12)
    exact = build(X[:300], ef_construction=300)
    np.testing.assert_array_equal(huge._links0[:300], exact._links0[:300])


def test_max_elements_beyond_memory_says_what_it_would_need():
    with pytest.raises(ValueError, match=r"max_elements=1000000000000 asks for .* at most "
                                         r"2\*\*31 - 1 .* would need .*TiB"):
        HNSWIndex(16, max_elements=10**12)
    with pytest.raises(ValueError, match=r"would need .*TiB of memory .*this machine has"):
        HNSWIndex(4096, max_elements=2**30)
    index = HNSWIndex(4096)
    with pytest.raises(ValueError, match=r"max_elements=1073741824 .*would need"):
        index.resize(2**30)
    assert index.capacity == 0  # nothing was allocated


def test_resize_grows_shrinks_and_keeps_results(data):
    X, Q = data
    index = build(X[:500])
    before = index.query(Q, 5)
    index.resize(5000)
    assert index.capacity == 5000
    np.testing.assert_array_equal(index.query(Q, 5)[0], before[0])
    index.resize(500)
    assert index.capacity == 500
    np.testing.assert_array_equal(index.query(Q, 5)[0], before[0])
    with pytest.raises(ValueError, match="max_elements must be >= the 500 slots in use"):
        index.resize(499)
    index.add(X[500:600])  # grows again by itself
    assert len(index) == 600


# -- ef_construction below M ------------------------------------------------------------------
def test_ef_construction_below_M_is_raised_to_M(data):
    X, _ = data
    tiny = build(X, M=8, ef_construction=1)
    at_m = build(X, M=8, ef_construction=8)
    np.testing.assert_array_equal(tiny._links0, at_m._links0)
    assert tiny.ef_construction == 1  # the parameter keeps the user's value
    self_recall = np.mean(tiny.query(X, 1, ef=199)[0][:, 0] == np.arange(len(X)))
    assert self_recall >= 0.98  # it was 0.70 before the clamp


# -- one metric vocabulary --------------------------------------------------------------------
def test_metric_vocabulary(data):
    X, Q = data
    squared = build(X, metric="sqeuclidean").query(Q, 5)
    plain = build(X, metric="euclidean").query(Q, 5)
    np.testing.assert_array_equal(plain[0], squared[0])
    np.testing.assert_allclose(plain[1], np.sqrt(squared[1]), rtol=1e-6)
    with pytest.warns(FutureWarning, match="metric='l2' is deprecated.*'sqeuclidean'"):
        legacy = HNSWIndex(16, metric="l2", M=8, ef_construction=48, random_state=0)
    assert legacy.metric == "sqeuclidean"
    legacy.add(X)
    np.testing.assert_array_equal(legacy.query(Q, 5)[1], squared[1])
    with pytest.raises(ValueError, match="metric must be one of 'euclidean', 'sqeuclidean'"):
        HNSWIndex(16, metric="L2")


def test_transformer_metric_vocabulary(data):
    X, _ = data
    X = X[:200].astype(np.float64)
    euclidean = HNSWTransformer(metric="euclidean", random_state=0).fit_transform(X)
    with pytest.warns(FutureWarning, match="metric='l2' is deprecated.*'euclidean'"):
        legacy = HNSWTransformer(metric="l2", random_state=0).fit_transform(X)
    assert (legacy != euclidean).nnz == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        squared = HNSWTransformer(metric="sqeuclidean", random_state=0).fit_transform(X)
    np.testing.assert_allclose(squared.data, euclidean.data**2, rtol=1e-5, atol=1e-6)


# -- progress and messages --------------------------------------------------------------------
def test_verbose_add_reports_progress(data, capsys):
    X, _ = data
    index = HNSWIndex(16, M=8, ef_construction=32, random_state=0)
    index.add(X, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert 4 <= len(lines) <= 11 and lines[-1].startswith("HNSWIndex.add: [")
    assert "2,000/2,000 (100%)" in lines[-1]
    silent = HNSWIndex(16, M=8, ef_construction=32, random_state=0)
    silent.add(X)
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(index._links0, silent._links0)  # batches change nothing
    HNSWTransformer(verbose=1).fit(X[:300])
    assert "300/300 (100%)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda i, X: i.add(X, verbose="yes"), TypeError, "verbose must be an integer >= 0"),
        (lambda i, X: i.add(X, verbose=-1), ValueError, "verbose must be"),
        (lambda i, X: i.query(X, k=True), TypeError, "k must be an integer"),
        (lambda i, X: i.query(X, ef=True), TypeError, "ef must be an integer"),
        (lambda i, X: i.query(X, ef=2.0), TypeError, "ef must be an integer"),
        (lambda i, X: i.query(X, filter="abc"), TypeError, "filter must be"),
        (lambda i, X: i.query(X, filter=[[1, [2]]]), TypeError, "filter must be"),
        (lambda i, X: i.resize(2.5), TypeError, "max_elements must be an integer"),
        (lambda i, X: i.resize(True), TypeError, "max_elements must be an integer"),
        (lambda i, X: i.get_vectors([[1, [2]]]), TypeError, "ids must be"),
    ],
)
def test_bad_arguments_are_named(data, call, error, match):
    X, _ = data
    index = build(X[:50])
    with pytest.raises(error, match=match):
        call(index, X[:5])
