"""ShardedHNSWIndex.query(filter=...): brute force on the allowed live set for every metric,
filters that leave whole shards out, fewer allowed elements than k, and the single index's errors
for bad filters."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsenum.neighbors import HNSWIndex, ShardedHNSWIndex
from tests._fuzz import outcome
from tests.neighbors._fuzz_cases import BAD_FILTERS

PARAMS = {"M": 8, "ef_construction": 64, "random_state": 0}
METRICS = ["sqeuclidean", "euclidean", "cosine", "ip"]


def _expected(nn, X, Q, metric, allowed, k):
    """Brute-force distances of the k nearest allowed rows (float64)."""
    d = nn.distances(X, Q, "sqeuclidean" if metric == "euclidean" else metric)
    if metric == "euclidean":
        d = np.sqrt(np.maximum(d, 0))
    d = np.where(allowed[None, :], d, np.inf)
    return d, np.sort(d, axis=1)[:, :k]


def _unequal_index(nn, metric):
    """Shards of 7, 40, 3, 150 and 100 rows, some elements deleted."""
    X = nn.clustered(300, 6, seed=21)
    index = ShardedHNSWIndex(6, metric=metric, **PARAMS)
    for lo, hi, n_shards in ((0, 7, 1), (7, 47, 1), (47, 50, 1), (50, 300, 2)):
        index.add(X[lo:hi], n_shards=n_shards)
    index.mark_deleted([0, 8, 48, 60, 299])
    return X, index


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("form", ["mask", "ids"])
def test_exact_filtered_search_is_brute_force(nn, metric, form):
    """ef above every shard's size makes each shard's search exact: the merge must then be the
    brute-force k nearest of the allowed live rows."""
    X, index = _unequal_index(nn, metric)
    Q = nn.clustered(15, 6, seed=22)
    rng = np.random.default_rng(23)
    mask = rng.random(320) < 0.3  # longer than the ids: the extra entries allow nothing
    mask[[0, 8, 48]] = True  # deleted ones stay out even when allowed
    flt = mask if form == "mask" else np.flatnonzero(mask)[::-1].astype(np.int32)
    live = np.ones(300, bool)
    live[[0, 8, 48, 60, 299]] = False
    d, expected = _expected(nn, X, Q, metric, mask[:300] & live, 6)
    ids, dist = index.query(Q, 6, ef=200, filter=flt)
    assert ids.dtype == np.int64 and dist.dtype == np.float32
    assert (mask[ids] & live[ids]).all()
    np.testing.assert_allclose(dist, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.take_along_axis(d, ids, 1), expected, rtol=1e-4, atol=1e-4)


def test_filter_that_leaves_out_whole_shards(nn, monkeypatch):
    from sparsenum.neighbors import _shard_tasks

    X, index = _unequal_index(nn, "sqeuclidean")
    Q = nn.clustered(10, 6, seed=24)
    searched = []
    query_shard = _shard_tasks.query_shard
    monkeypatch.setattr(_shard_tasks, "query_shard",
                        lambda shard, *args: searched.append(shard) or query_shard(shard, *args))
    ids, dist = index.query(Q, 2, ef=200, filter=np.arange(47, 50))  # the shard of 3 rows
    assert searched == [index._shards[2].handle]
    assert (np.sort(ids, axis=1) == [47, 49]).all()  # 48 is deleted
    searched.clear()
    mask = np.zeros(300, bool)
    mask[[3, 200, 250]] = True  # shards 0 and 4
    ids, _ = index.query(Q, 3, ef=200, filter=mask)
    assert searched == [index._shards[0].handle, index._shards[4].handle]
    assert (np.sort(ids, axis=1) == [3, 200, 250]).all()
    np.testing.assert_allclose(
        dist, _expected(nn, X, Q, "sqeuclidean", np.isin(np.arange(300), [47, 49]), 2)[1],
        rtol=1e-4, atol=1e-4)


def test_fewer_allowed_than_k_as_the_single_index(nn):
    X, index = _unequal_index(nn, "sqeuclidean")
    single = HNSWIndex(6, **PARAMS)
    single.add(X)
    single.mark_deleted([0, 8, 48, 60, 299])
    few = [0, 5, 48, 100, 200, 10**9]  # three allowed live ids
    for target in (single, index):
        with pytest.raises(ValueError, match=r"k must be <= the number of live elements "
                                             r"allowed by filter \(3\); got 4"):
            target.query(X[:2], 4, filter=few)
        with pytest.raises(ValueError, match=r"allowed by filter \(0\); got 1"):
            target.query(X[:2], 1, filter=np.zeros(300, bool))
        with pytest.raises(ValueError, match=r"allowed by filter \(0\); got 1"):
            target.query(X[:2], 1, filter=[])
    ids, _ = index.query(X[:2], 3, filter=few)
    assert (np.sort(ids, axis=1) == [5, 100, 200]).all()


@pytest.mark.parametrize("bad", [
    "abc", b"1", [0.5], np.array([1.0, 2.0]), np.ones((2, 2), bool), np.array(True),
    [[1, 2]], [-1], np.array([2**63], np.uint64), [1, [2]], {"a": 1}, [None],
])
def test_bad_filter_errors_as_the_single_index(nn, bad):
    X = nn.clustered(40, 4, seed=25)
    single = HNSWIndex(4, **PARAMS)
    single.add(X)
    sharded = ShardedHNSWIndex(4, **PARAMS)
    sharded.add(X, n_shards=3)
    with pytest.raises((TypeError, ValueError)) as expected:
        single.query(X[:2], 2, filter=bad)
    with pytest.raises(expected.type) as got:
        sharded.query(X[:2], 2, filter=bad)
    assert str(got.value) == str(expected.value)
    assert "filter" in str(got.value)


def test_filtered_recall_within_one_index(nn):
    """Approximate search (small ef) with a filter allowing a third of the ids: the merged
    recall against brute force on the allowed set is within 0.01 of one index's."""
    X = nn.clustered(3000, 16, seed=26)
    Q = nn.clustered(100, 16, seed=27)
    allowed = np.random.default_rng(28).random(3000) < 0.35
    d, _ = _expected(nn, X, Q, "sqeuclidean", allowed, 10)
    truth = np.argsort(d, axis=1, kind="stable")[:, :10]
    single = HNSWIndex(16, **PARAMS)
    single.add(X)
    sharded = ShardedHNSWIndex(16, **PARAMS)
    sharded.add(X, n_shards=3)
    for ef in (10, 20, 40):
        one = nn.recall(single.query(Q, 10, ef=ef, filter=allowed)[0], truth)
        merged = nn.recall(sharded.query(Q, 10, ef=ef, filter=allowed)[0], truth)
        assert merged >= one - 0.01, (ef, merged, one)


def test_filter_is_not_modified(nn):
    X, index = _unequal_index(nn, "ip")
    mask = np.zeros(300, bool)
    mask[::3] = True
    ids = np.flatnonzero(mask)[::-1].copy()
    before = (mask.copy(), ids.copy())
    index.query(X[:3], 4, filter=mask)
    index.query(X[:3], 4, filter=ids)
    np.testing.assert_array_equal(mask, before[0])
    np.testing.assert_array_equal(ids, before[1])


_PAIR = []


def _pair():
    """One index and three shards over the same 60 rows (built once: hypothesis calls the
    test many times), with a few deletions."""
    if not _PAIR:
        X = np.random.default_rng(29).normal(size=(60, 4)).astype(np.float32)
        single = HNSWIndex(4, **PARAMS)
        single.add(X)
        sharded = ShardedHNSWIndex(4, **PARAMS)
        sharded.add(X[:10])
        sharded.add(X[10:], n_shards=2)
        for index in (single, sharded):
            index.mark_deleted([0, 11, 59])
        _PAIR.extend([X, single, sharded])
    return _PAIR


_filters = st.one_of(
    st.lists(st.booleans(), max_size=80).map(lambda v: np.array(v, bool)),
    st.lists(st.integers(0, 90), max_size=30),
    st.lists(st.integers(0, 90), max_size=30).map(lambda v: np.array(v, np.uint16)),
    st.sampled_from(range(len(BAD_FILTERS))).map(lambda i: BAD_FILTERS[i]),
)


@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=None)
@given(_filters, st.integers(1, 8))
def test_any_filter_as_the_single_index(flt, k):
    """Any filter, good or bad: the same error as one index, or (searches exact at ef=200 on
    60 rows) the same distances over allowed live ids."""
    X, single, sharded = _pair()
    kind, want = outcome(lambda: single.query(X[:6], k, ef=200, filter=flt), names=("filter", "k"))
    got_kind, got = outcome(lambda: sharded.query(X[:6], k, ef=200, filter=flt),
                            names=("filter", "k"))
    assert got_kind == kind, (got, want)
    if kind == "error":
        assert type(got) is type(want) and str(got) == str(want)
        return
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-5)
    assert not np.isin(got[0], [0, 11, 59]).any()
