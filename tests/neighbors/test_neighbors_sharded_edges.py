"""ShardedHNSWIndex at the edges: shards of very different sizes, k above most shards, a shard
with every element deleted (queried, filtered, saved and loaded), empty additions, id dtypes."""

import numpy as np
import pytest

from sparsenum.neighbors import HNSWIndex, ShardedHNSWIndex

PARAMS = {"M": 4, "ef_construction": 16, "random_state": 0}


@pytest.fixture
def lopsided(nn):
    """Shards of 1, 1, 1, 2 and 195 rows."""
    X = nn.clustered(200, 5, seed=41)
    index = ShardedHNSWIndex(5, **PARAMS)
    index.add(X[:3], n_shards=3)
    index.add(X[3:5])
    index.add(X[5:])
    return X, index


def test_lopsided_shards_exact_search(nn, lopsided):
    X, index = lopsided
    assert index.shard_sizes.tolist() == [1, 1, 1, 2, 195]
    Q = nn.clustered(12, 5, seed=42)
    d = nn.distances(X, Q)
    for k in (1, 4, 30):  # k above every small shard's size
        ids, dist = index.query(Q, k, ef=400)
        np.testing.assert_allclose(dist, np.sort(d, axis=1)[:, :k], rtol=1e-4, atol=1e-4)
        assert (np.diff(dist, axis=1) >= 0).all()
        assert all(len(set(row)) == k for row in ids)
    # the rows of the one-element shards are found by themselves
    np.testing.assert_array_equal(index.query(X[:5], 1)[0].ravel(), np.arange(5))


def test_shard_with_every_element_deleted(tmp_path, nn, lopsided):
    X, index = lopsided
    index.mark_deleted([0, 3, 4])  # shard 0 and shard 3 emptied
    assert index.shard_sizes.tolist() == [0, 1, 1, 0, 195] and len(index) == 197
    ids, _ = index.query(X[:5], 197, ef=400)
    assert not np.isin(ids, [0, 3, 4]).any() and all(len(set(row)) == 197 for row in ids)
    with pytest.raises(ValueError, match=r"live elements \(197\); got 198"):
        index.query(X[:1], 198)
    with pytest.raises(ValueError, match=r"allowed by filter \(0\); got 1"):
        index.query(X[:1], 1, filter=[0, 3, 4])  # only the deleted ones
    assert index.query(X[:1], 1, filter=[0, 3, 4, 1])[0].tolist() == [[1]]
    index.save(tmp_path / "s")
    loaded = ShardedHNSWIndex.load(tmp_path / "s")
    assert loaded.shard_sizes.tolist() == [0, 1, 1, 0, 195]
    for got, want in zip(loaded.query(X[:9], 5), index.query(X[:9], 5)):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(KeyError, match=r"e\.g\. \[0\]"):
        loaded.mark_deleted([0])
    loaded.mark_deleted(np.arange(5, 200))
    loaded.mark_deleted([1, 2])
    assert len(loaded) == 0
    with pytest.raises(ValueError, match=r"live elements \(0\); got 1"):
        loaded.query(X[:1], 1)
    loaded.add(X[:2])  # new shard, ids after the saved ones
    assert loaded.query(X[:2], 1)[0].ravel().tolist() == [200, 201]


def test_empty_additions(nn):
    index = ShardedHNSWIndex(5, **PARAMS)
    empty = np.empty((0, 5), np.float32)
    for n_shards in (None, 1, 3):
        index.add(empty, n_shards=n_shards)
    assert index.n_shards == 0 and len(index) == 0
    for bad in (0, 2.0, True):
        with pytest.raises((TypeError, ValueError), match="n_shards"):
            index.add(empty, n_shards=bad)
    index.add(nn.clustered(4, 5, seed=43), n_shards=4)
    assert index.shard_sizes.tolist() == [1, 1, 1, 1]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64])
def test_id_dtypes(nn, lopsided, dtype):
    X, index = lopsided
    index.mark_deleted(np.array([2, 100], dtype))
    index.mark_deleted(dtype(7))
    ids, _ = index.query(X[:3], 2, filter=np.array([1, 2, 3, 7, 100], dtype))
    assert ids.dtype == np.int64 and set(ids.ravel()) <= {1, 3}
    with pytest.raises(KeyError):
        index.mark_deleted(np.array([2], dtype))


def test_ids_as_the_single_index_with_the_same_split(nn):
    """One shard holding everything is one HNSWIndex with the shard's seed stream: the same
    answers, ids and distances."""
    X = nn.clustered(300, 5, seed=44)
    sharded = ShardedHNSWIndex(5, **PARAMS)
    sharded.add(X)
    single = HNSWIndex(**sharded._params(0))
    single.add(X)
    for got, want in zip(sharded.query(X[:20], 6, filter=np.arange(0, 300, 2)),
                         single.query(X[:20], 6, filter=np.arange(0, 300, 2))):
        np.testing.assert_array_equal(got, want)


def test_shard_query_recounts_after_a_concurrent_deletion(nn, monkeypatch):
    """A shard counts what it may return, then searches: a deletion in between (another thread)
    makes the count stale, and the shard counts again instead of failing on k."""
    from sparsenum.neighbors import _shard_tasks

    X = nn.clustered(20, 5, seed=45)
    shard = HNSWIndex(5, **PARAMS)
    shard.add(X)
    count = _shard_tasks.n_returnable
    calls = []

    def stale_then_true(index, allowed):
        calls.append(allowed)
        if len(calls) == 1:  # counted just before a deletion of one element
            index.mark_deleted([3])
            return count(index, allowed) + 1
        return count(index, allowed)

    monkeypatch.setattr(_shard_tasks, "n_returnable", stale_then_true)
    ids, dist, n = _shard_tasks.query_shard(shard, X[:2], 25, 50, None)
    assert n == 19 and ids.shape == dist.shape == (2, 19) and 3 not in ids and len(calls) == 3
