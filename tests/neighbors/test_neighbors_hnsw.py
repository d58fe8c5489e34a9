"""HNSWIndex against brute force: recall, determinism, deletion and slot reuse, filters."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sparsenum.neighbors import HNSWIndex


@pytest.fixture(scope="module")
def data(nn):
    X = nn.clustered(1500, 16, seed=0)
    Q = nn.clustered(100, 16, seed=1)
    return X, Q


def build(X, metric="sqeuclidean", **kwargs):
    kwargs = {"M": 8, "ef_construction": 64, "random_state": 0, **kwargs}
    index = HNSWIndex(X.shape[1], metric=metric, **kwargs)
    index.add(X)
    return index


@pytest.mark.parametrize("metric", ["sqeuclidean", "ip", "cosine"])
def test_recall_against_brute_force_with_large_ef(data, nn, metric):
    X, Q = data
    if metric == "ip":  # inner-product search is meaningful for vectors of similar norms
        norms = np.random.default_rng(0).uniform(0.9, 1.1, size=(len(X), 1))
        X = (X / np.linalg.norm(X, axis=1, keepdims=True) * norms).astype(np.float32)
    index = build(X, metric, M=16)
    Q_before = Q.copy()
    ids, dist = index.query(Q, k=10, ef=200)
    np.testing.assert_array_equal(Q, Q_before)  # inputs are never modified (cosine normalises)
    truth, _ = nn.brute_force(X, Q, 10, metric)
    assert nn.recall(ids, truth) >= 0.99
    # distances are the metric's values for the returned ids (float32 accuracy), ascending
    reference = np.take_along_axis(nn.distances(X, Q, metric), ids, 1)
    np.testing.assert_allclose(dist, reference, rtol=1e-5, atol=1e-4 * np.abs(reference).max())
    assert (np.diff(dist, axis=1) >= 0).all()


def test_recall_increases_with_ef(data, nn):
    X, Q = data
    index = build(X, M=4, ef_construction=16)
    truth, _ = nn.brute_force(X, Q, 10)
    recalls = [nn.recall(index.query(Q, 10, ef=ef)[0], truth) for ef in (10, 40, 300)]
    assert recalls[0] <= recalls[1] + 0.01 <= recalls[2] + 0.02
    assert recalls[2] >= 0.95


def test_same_random_state_same_graph_and_results(data):
    X, Q = data
    a, b = build(X, random_state=3), build(X, random_state=3)
    np.testing.assert_array_equal(a._links0, b._links0)
    ia, da = a.query(Q, 5)
    ib, db = b.query(Q, 5)
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_array_equal(da, db)


def test_growth_and_thread_count_do_not_change_the_graph(data, nn):
    X, Q = data
    whole = build(X, n_jobs=1)
    grown = HNSWIndex(16, M=8, ef_construction=64, random_state=0, max_elements=10, n_jobs=1)
    grown.add(X)  # doubles its capacity while inserting
    parallel = build(X, n_jobs=2)  # both insertion phases on two threads
    for other in (grown, parallel):
        np.testing.assert_array_equal(whole._links0[: len(X)], other._links0[: len(X)])
        np.testing.assert_array_equal(whole._upper[: whole._n_upper],
                                      other._upper[: other._n_upper])
        np.testing.assert_array_equal(whole.query(Q, 5)[0], other.query(Q, 5)[0])
    # the same calls give the same graph; another split of the data, an equally good one
    splits = []
    for _ in range(2):
        pieces = HNSWIndex(16, M=8, ef_construction=64, random_state=0, max_elements=10)
        for part in np.array_split(X, 7):
            pieces.add(part)
        splits.append(pieces)
    np.testing.assert_array_equal(splits[0]._links0, splits[1]._links0)
    truth, _ = nn.brute_force(X, Q, 5)
    r_whole = nn.recall(whole.query(Q, 5, ef=20)[0], truth)
    assert nn.recall(splits[0].query(Q, 5, ef=20)[0], truth) >= r_whole - 0.02


def test_thread_count_does_not_change_results(data):
    X, Q = data
    index = build(X)
    index.n_jobs = 1
    one = index.query(Q, 7, ef=30)
    index.n_jobs = -1
    many = index.query(Q, 7, ef=30)
    np.testing.assert_array_equal(one[0], many[0])
    np.testing.assert_array_equal(one[1], many[1])


def test_custom_ids_vectors_and_inputs_untouched(data):
    X, _ = data
    X64 = X[:200].astype(np.float64) * 3.0
    before = X64.copy()
    ids = np.arange(200) * 7 + 1000
    index = HNSWIndex(16, metric="cosine", M=8, random_state=0)
    index.add(X64, ids=ids)
    np.testing.assert_array_equal(X64, before)
    np.testing.assert_array_equal(index.get_vectors(ids[[5, 0]]), X64[[5, 0]].astype(np.float32))
    found, dist = index.query(X64[:3], k=1)
    np.testing.assert_array_equal(found[:, 0], ids[:3])
    np.testing.assert_allclose(dist[:, 0], 0, atol=1e-6)
    np.testing.assert_array_equal(index.ids, ids)
    index.add(X64[:2])  # default ids continue after the largest one
    assert index.ids[-2:].tolist() == [ids.max() + 1, ids.max() + 2]


def test_single_vector_query_and_ef_setting(data):
    X, _ = data
    index = build(X[:300])
    index.ef = 123
    assert index.ef == 123
    ids, dist = index.query(X[4], k=3)
    assert ids.shape == (1, 3) and ids[0, 0] == 4 and dist.dtype == np.float32
    with pytest.raises(ValueError, match="ef must be an integer >= 1"):
        index.ef = 0


def test_deleted_ids_are_never_returned(data, nn):
    X, Q = data
    index = build(X)
    deleted = np.arange(0, len(X), 3)
    index.mark_deleted(deleted)
    assert len(index) == len(X) - len(deleted)
    ids, _ = index.query(np.vstack([Q, X[deleted[:50]]]), k=20, ef=100)
    assert not np.isin(ids, deleted).any()
    keep = np.setdiff1d(np.arange(len(X)), deleted)
    truth, _ = nn.brute_force(X[keep], Q, 10)
    assert nn.recall(index.query(Q, 10, ef=100)[0], keep[truth]) >= 0.97
    with pytest.raises(KeyError, match="unknown or deleted"):
        index.mark_deleted(deleted[:1])
    with pytest.raises(KeyError, match="unknown or deleted"):
        index.get_vectors(deleted[:1])


@given(st.lists(st.integers(0, 199), min_size=1, max_size=190, unique=True), st.integers(1, 10))
def test_deletion_property(deleted, k):
    X = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    index = HNSWIndex(4, M=4, ef_construction=16, random_state=0)
    index.add(X)
    index.mark_deleted(deleted)
    k = min(k, 200 - len(deleted))
    ids, dist = index.query(X[:20], k=k, ef=16)
    assert not np.isin(ids, deleted).any()
    assert all(len(set(row)) == k for row in ids)  # k distinct live ids per query
    assert (np.diff(dist, axis=1) >= 0).all()


@pytest.mark.parametrize("step", [2, 7])  # delete half (graph rebuilt) or 1/7 (repaired)
def test_delete_and_add_keeps_recall_and_reuses_slots(nn, step):
    X = nn.clustered(6000, 24, seed=2)
    Q = nn.clustered(300, 24, seed=3)
    deleted = np.arange(0, 4000, step)
    new_ids = np.arange(4000, 4000 + deleted.size)
    params = {"M": 8, "ef_construction": 64, "random_state": 0}
    churned = HNSWIndex(24, **params)
    churned.add(X[:4000])
    churned.mark_deleted(deleted)
    churned.add(X[new_ids], ids=new_ids)
    assert churned._n_slots == 4000 and len(churned) == 4000  # deleted slots were reused
    final_ids = np.concatenate([np.setdiff1d(np.arange(4000), deleted), new_ids])
    fresh = HNSWIndex(24, **params)
    fresh.add(X[final_ids], ids=final_ids)
    truth, _ = nn.brute_force(X[final_ids], Q, 10)
    truth = final_ids[truth]
    for ef in (10, 40):
        r_churned = nn.recall(churned.query(Q, 10, ef=ef)[0], truth)
        r_fresh = nn.recall(fresh.query(Q, 10, ef=ef)[0], truth)
        assert r_churned >= r_fresh - 0.02, (ef, r_churned, r_fresh)
    assert not np.isin(churned.query(Q, 10)[0], deleted).any()
    # every live node is still reachable from the entry point on layer 0
    links = churned._links0[: churned._n_slots]
    seen = np.zeros(churned._n_slots, bool)
    stack = [churned._entry]
    seen[churned._entry] = True
    while stack:
        node = stack.pop()
        for nb in links[node, 1: links[node, 0] + 1]:
            if not seen[nb]:
                seen[nb] = True
                stack.append(nb)
    assert seen.sum() >= 0.99 * len(churned)


def test_delete_everything_then_add(data):
    X, _ = data
    index = build(X[:50])
    index.mark_deleted(np.arange(50))
    assert len(index) == 0
    with pytest.raises(ValueError, match="k must be <= the number of live elements"):
        index.query(X[0], k=1)
    index.add(X[50:55], ids=np.arange(5))  # ids of deleted elements may be reused
    ids, _ = index.query(X[50], k=1)
    assert ids[0, 0] == 0


def test_filter_by_mask_and_by_ids(data, nn):
    X, Q = data
    index = build(X)
    mask = np.zeros(len(X), bool)
    mask[::4] = True
    allowed = np.flatnonzero(mask)
    truth, _ = nn.brute_force(X[allowed], Q, 10)
    for flt in (mask, allowed, allowed.tolist()):
        ids, _ = index.query(Q, 10, ef=100, filter=flt)
        assert np.isin(ids, allowed).all()
        assert nn.recall(ids, allowed[truth]) >= 0.95
    few = np.array([3, 70, 900])  # fewer allowed than ef: answered exactly
    ids, _ = index.query(Q[:5], 3, filter=few)
    truth_few, _ = nn.brute_force(X[few], Q[:5], 3)
    np.testing.assert_array_equal(ids, few[truth_few])
    short_mask = np.ones(10, bool)  # ids beyond the mask are not allowed
    assert np.isin(index.query(Q, 5, filter=short_mask)[0], np.arange(10)).all()
    index.mark_deleted([3])
    with pytest.raises(ValueError, match="allowed by filter"):
        index.query(Q, 3, filter=few)


def test_full_candidate_heap_grows_and_searches_again(data):
    """A search whose candidate buffers fill up is redone with larger ones: same results."""
    from sparsenum.neighbors import _kernels

    X, Q = data
    index = build(X)
    skip = np.zeros(index._n_slots, np.uint8)
    skip[::3] = 1  # skipped nodes are traversed, so the candidates outnumber ef
    ef = 20
    q = np.ascontiguousarray(Q[0])
    entry = index._entry
    entry_d = np.float32(((q - X[entry]) ** 2).sum())
    results = []
    for cap in (1, 4096):
        visited = np.zeros(index.capacity, np.int32)
        cand_d, cand_i = np.empty(cap, np.float32), np.empty(cap, np.int32)
        res_d, res_i = np.empty(ef + 1, np.float32), np.empty(ef + 1, np.int32)
        n_res, tag, cand_d, cand_i = _kernels._search_layer_growing(
            q, np.float32(1.0), entry, entry_d, 0, ef, index._data, index._scale,
            _kernels.L2, index._links0, index._upper, index._upper_off, visited, 0, skip, True,
            cand_d, cand_i, res_d, res_i)
        assert n_res == ef
        assert cand_d.shape[0] > 1 and (cap == 4096 or tag > 1)  # grew, with fresh tags
        order = np.argsort(res_d[:n_res], kind="stable")
        results.append((res_i[:n_res][order], res_d[:n_res][order]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert not skip[results[0][0]].any()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda i, X: i.add(X[:, :5]), ValueError, "dim=16"),
        (lambda i, X: i.add(np.where(np.eye(20, 16) > 0, np.nan, X[:20])), ValueError, "NaN"),
        (lambda i, X: i.add(np.where(np.eye(20, 16) > 0, np.inf, X[:20])), ValueError, "finite"),
        (lambda i, X: i.add(np.full((1, 16), 1e39)), ValueError, "finite"),
        (lambda i, X: i.add(X[:2], ids=[7, 7]), ValueError, "duplicates"),
        (lambda i, X: i.add(X[:2], ids=[0, 9999]), ValueError, "live in the index"),
        (lambda i, X: i.add(X[:2], ids=[1.0, 2.0]), TypeError, "integers"),
        (lambda i, X: i.add(X[:2], ids=[-1, 5000]), ValueError, "nonnegative"),
        (lambda i, X: i.add(X[:2], ids=[5000]), ValueError, "one id per row"),
        (lambda i, X: i.add("abc"), TypeError, "X must"),
        (lambda i, X: i.query(X[:2, :3]), ValueError, "dim=16"),
        (lambda i, X: i.query(np.full(16, np.nan)), ValueError, "NaN"),
        (lambda i, X: i.query(X[:2], k=0), ValueError, "k must be an integer >= 1"),
        (lambda i, X: i.query(X[:2], k=-3), ValueError, "k must be an integer >= 1"),
        (lambda i, X: i.query(X[:2], k=2.0), TypeError, "k must be an integer"),
        (lambda i, X: i.query(X[:2], k=301), ValueError, "k must be <= the number of live"),
        (lambda i, X: i.query(X[:2], ef=0), ValueError, "ef must be"),
        (lambda i, X: i.query(X[:2], filter=[0.5]), TypeError, "filter"),
        (lambda i, X: i.query(X[:2], filter=np.ones((2, 2), bool)), ValueError, "filter"),
        (lambda i, X: i.mark_deleted([12345]), KeyError, "unknown"),
        (lambda i, X: i.mark_deleted([1, 1]), ValueError, "duplicates"),
        (lambda i, X: i.get_vectors([300]), KeyError, "unknown"),
        (lambda i, X: i.get_vectors(None), TypeError, "ids"),
    ],
)
def test_bad_inputs(data, call, error, match):
    X, _ = data
    index = build(X[:300])
    with pytest.raises(error, match=match):
        call(index, X)
    assert len(index) == 300  # a failed call leaves the index as it was


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"metric": "manhattan"}, ValueError, "metric must be one of"),
        ({"M": 1}, ValueError, "M must be an integer >= 2"),
        ({"ef_construction": 0}, ValueError, "ef_construction"),
        ({"max_elements": 0}, ValueError, "max_elements"),
        ({"n_jobs": 0}, ValueError, "n_jobs"),
        ({"dim": 0}, ValueError, "dim"),
        ({"dim": 2.5}, TypeError, "dim"),
    ],
)
def test_bad_constructor_arguments(kwargs, error, match):
    kwargs = {"dim": 4, **kwargs}
    with pytest.raises(error, match=match):
        HNSWIndex(kwargs.pop("dim"), **kwargs)


def test_empty_index():
    index = HNSWIndex(3)
    assert len(index) == 0 and "n_live=0" in repr(index)
    with pytest.raises(ValueError, match="k must be <= the number of live elements"):
        index.query(np.zeros(3), k=1)
    index.add(np.zeros((0, 3)))
    assert len(index) == 0
