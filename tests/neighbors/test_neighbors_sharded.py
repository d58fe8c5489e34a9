"""ShardedHNSWIndex: recall against brute force beside one index, the Dask path on a LocalCluster
(the same shards as the in-memory path), deletion routed to its shard, save/load with a checked
manifest, bad inputs."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from sparsenum.neighbors import HNSWIndex, ShardedHNSWIndex

PARAMS = {"M": 8, "ef_construction": 64, "random_state": 0}


@pytest.fixture(scope="module")
def data(nn):
    X = nn.clustered(4000, 16, seed=11)
    Q = nn.clustered(200, 16, seed=12)
    return X, Q, nn.brute_force(X, Q, 10)[0]


@pytest.fixture(scope="module")
def one_index(data):
    index = HNSWIndex(16, **PARAMS)
    index.add(data[0])
    return index


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    # threads, not processes: the same scheduling and data movement API, without paying for
    # two more interpreters and their numba caches on a small machine
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def dask_index(data, client):
    import dask.array as da

    X = da.from_array(data[0], chunks=(2000, 16)).persist()
    index = ShardedHNSWIndex(16, **PARAMS)
    index.add(X)
    return index


def _shard_ids(index, number, client=None):
    handle = index._shards[number].handle
    return handle.ids if client is None else client.submit(lambda i: i.ids, handle).result()


def test_recall_in_memory_within_one_index(data, nn, one_index):
    X, Q, truth = data
    sharded = ShardedHNSWIndex(16, **PARAMS)
    sharded.add(X, n_shards=3)
    for ef in (10, 20, 40):
        single = nn.recall(one_index.query(Q, 10, ef=ef)[0], truth)
        merged = nn.recall(sharded.query(Q, 10, ef=ef)[0], truth)
        assert merged >= single - 0.01, (ef, merged, single)


@pytest.mark.parametrize("ef", [10, 20, 40])
def test_recall_on_dask_cluster_within_one_index(data, nn, one_index, dask_index, ef):
    _, Q, truth = data
    single = nn.recall(one_index.query(Q, 10, ef=ef)[0], truth)
    merged = nn.recall(dask_index.query(Q, 10, ef=ef)[0], truth)
    assert merged >= single - 0.01, (merged, single)


def test_dask_shards_equal_in_memory_shards(data, dask_index):
    """Same chunking and seed: the same graphs, whether built on workers or here."""
    X, Q, _ = data
    local = ShardedHNSWIndex(16, **PARAMS)
    local.add(X, n_shards=2)
    assert dask_index.n_shards == 2 and len(dask_index) == 4000
    ids, dist = dask_index.query(Q, 10, ef=20)
    ids_local, dist_local = local.query(Q, 10, ef=20)
    np.testing.assert_array_equal(ids, ids_local)
    np.testing.assert_array_equal(dist, dist_local)


@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cosine", "ip"])
def test_exact_search_merges_to_brute_force(nn, metric):
    """With ef at least each shard's size every shard search is exact, so the merge must give
    the brute-force neighbours and distances, across shards of unequal sizes."""
    X = nn.clustered(301, 6, seed=3)
    Q = nn.clustered(20, 6, seed=4)
    index = ShardedHNSWIndex(6, metric=metric, **PARAMS)
    index.add(X[:101], n_shards=3)
    index.add(X[101:], n_shards=2)  # ids continue: 101 ..
    assert index.n_shards == 5 and index.shard_sizes.sum() == 301
    ids, dist = index.query(Q, 7, ef=200)
    if metric == "euclidean":
        d = np.sqrt(np.maximum(nn.distances(X, Q, "sqeuclidean"), 0))
    else:
        d = nn.distances(X, Q, metric)
    expected = np.sort(d, axis=1)[:, :7]
    np.testing.assert_allclose(dist, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.take_along_axis(d, ids, 1), expected, rtol=1e-4, atol=1e-4)
    assert ids.dtype == np.int64 and dist.dtype == np.float32


def test_k_above_a_shard_size(nn):
    X = nn.clustered(30, 4, seed=5)
    index = ShardedHNSWIndex(4, **PARAMS)
    index.add(X, n_shards=6)  # shards of 5
    ids, _ = index.query(X[0], 12, ef=64)
    assert ids.shape == (1, 12) and len(set(ids[0])) == 12
    with pytest.raises(ValueError, match=r"k must be <= the number of live elements \(30\)"):
        index.query(X[0], 31)


def test_deletion_reaches_its_shard_in_memory(data):
    X, _, _ = data
    index = ShardedHNSWIndex(16, **PARAMS)
    index.add(X, n_shards=4)
    index.mark_deleted([1500, 3999])  # shards 1 and 3
    assert index.shard_sizes.tolist() == [1000, 999, 1000, 999]
    assert 1500 not in _shard_ids(index, 1) and 3999 not in _shard_ids(index, 3)
    assert len(_shard_ids(index, 0)) == 1000
    ids, _ = index.query(X[[1500, 3999]], 5, ef=64)
    assert not np.isin(ids, [1500, 3999]).any()


def test_deletion_reaches_its_shard_on_dask(data, client):
    import dask.array as da

    X, _, _ = data
    index = ShardedHNSWIndex(16, **PARAMS)
    index.add(da.from_array(X[:1000], chunks=(500, 8)))  # column chunks are merged
    assert index.n_shards == 2
    index.mark_deleted([700])
    assert 700 not in _shard_ids(index, 1, client)
    assert len(_shard_ids(index, 0, client)) == 500
    assert 700 not in index.query(X[700], 5, ef=64)[0]
    with pytest.raises(KeyError, match=r"e\.g\. \[700\]"):
        index.mark_deleted([700])


def test_failed_deletion_deletes_nothing(data):
    X, _, _ = data
    index = ShardedHNSWIndex(16, **PARAMS)
    index.add(X[:100], n_shards=2)
    index.mark_deleted([10])
    for bad in ([5, 60, 10], [5, 100], [5, 10**12]):
        with pytest.raises(KeyError, match="unknown or deleted ids"):
            index.mark_deleted(bad)
    assert len(index) == 99 and 5 in _shard_ids(index, 0) and 60 in _shard_ids(index, 1)
    with pytest.raises(ValueError, match="must not repeat"):
        index.mark_deleted([5, 5])
    with pytest.raises(TypeError, match="ids must hold integers"):
        index.mark_deleted([1.0])


def test_save_load_round_trip(data, tmp_path, client, dask_index):
    X, Q, _ = data
    index = ShardedHNSWIndex(16, metric="cosine", **PARAMS)
    index.add(X, n_shards=3)
    index.mark_deleted([3, 2500])
    index.ef = 33
    index.save(tmp_path / "mem")
    loaded = ShardedHNSWIndex.load(tmp_path / "mem")
    assert (loaded.n_shards, len(loaded), loaded.ef, loaded.metric) == (3, 3998, 33, "cosine")
    for got, want in zip(loaded.query(Q, 10), index.query(Q, 10)):
        np.testing.assert_array_equal(got, want)
    loaded.add(X[:10])  # ids continue after the saved ones
    assert loaded.n_shards == 4 and sorted(loaded.query(X[0], 2, ef=64)[0][0]) == [0, 4000]

    dask_index.save(tmp_path / "dask")
    on_workers = ShardedHNSWIndex.load(tmp_path / "dask", client=client)
    in_memory = ShardedHNSWIndex.load(tmp_path / "dask")
    want = dask_index.query(Q, 10, ef=20)
    for loaded in (on_workers, in_memory):
        for got, expected in zip(loaded.query(Q, 10, ef=20), want):
            np.testing.assert_array_equal(got, expected)


def _saved(tmp_path, nn):
    index = ShardedHNSWIndex(4, **PARAMS)
    index.add(nn.clustered(60, 4, seed=6), n_shards=3)
    folder = tmp_path / "saved"
    index.save(folder)
    return folder, json.loads((folder / "manifest.json").read_text())


def _edit(manifest, change):
    manifest = json.loads(json.dumps(manifest))
    change(manifest)
    return manifest


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("ef"), "the keys must be exactly"),
    (lambda m: m.update(format="other"), "format must be"),
    (lambda m: m.update(version=2), "version must be 1"),
    (lambda m: m.update(version=True), "version must be 1"),
    (lambda m: m.update(metric="l1"), "metric must be one of"),
    (lambda m: m.update(dim=0), "dim must be an integer"),
    (lambda m: m.update(M=16.0), "M must be an integer"),
    (lambda m: m.update(n_jobs="all"), "n_jobs must be None"),
    (lambda m: m["shards"][1].update(file="../shard-00001.hnsw"), r"shards\[1\]\.file"),
    (lambda m: m["shards"][1].update(file="shard-00000.hnsw"), r"shards\[1\]\.file"),
    (lambda m: m["shards"][1].update(start=10), r"shards\[1\]\.start"),
    (lambda m: m["shards"][2].update(stop=10**6), r"shards\[2\]\.stop"),
    (lambda m: m["shards"][0].update(n_live=-1), r"shards\[0\]\.n_live"),
    (lambda m: m["shards"][0].update(n_deleted=1), r"shards\[0\]\.n_deleted"),
    (lambda m: m["shards"].append([]), r"shards\[3\] must be an object"),
    (lambda m: m.update(shards={}), "shards must be a list"),
])
def test_load_rejects_a_bad_manifest(tmp_path, nn, change, message):
    folder, manifest = _saved(tmp_path, nn)
    (folder / "manifest.json").write_text(json.dumps(_edit(manifest, change)))
    with pytest.raises(ValueError, match="corrupt or unsupported sharded index manifest: "
                                         + message):
        ShardedHNSWIndex.load(folder)


def test_load_rejects_inconsistent_shards(tmp_path, nn):
    folder, manifest = _saved(tmp_path, nn)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        ShardedHNSWIndex.load(folder)
    (folder / "manifest.json").write_text(json.dumps(_edit(
        manifest, lambda m: m["shards"][0].update(n_live=19))))
    with pytest.raises(ValueError, match="has n_live=20, the manifest says 19"):
        ShardedHNSWIndex.load(folder)
    (folder / "manifest.json").write_text(json.dumps(_edit(
        manifest, lambda m: m.update(metric="ip"))))
    with pytest.raises(ValueError, match="has metric='sqeuclidean', the manifest says 'ip'"):
        ShardedHNSWIndex.load(folder)
    # shards 0 and 1 swapped: right sizes, ids outside the ranges
    (folder / "manifest.json").write_text(json.dumps(_edit(manifest, lambda m: (
        m["shards"][0].update(file="shard-00001.hnsw"),
        m["shards"][1].update(file="shard-00000.hnsw")))))
    with pytest.raises(ValueError, match=r"holds ids 20\.\.39, outside its manifest range"):
        ShardedHNSWIndex.load(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "shard-00002.hnsw").unlink()
    with pytest.raises(ValueError, match="lists shard-00002.hnsw, which is not in"):
        ShardedHNSWIndex.load(folder)
    shutil.copy(folder / "shard-00000.hnsw", folder / "shard-00002.hnsw")
    with open(folder / "shard-00002.hnsw", "r+b") as f:
        f.seek(100)
        f.write(b"\xff\xff")
    with pytest.raises(ValueError, match="corrupt or unsupported index file"):
        ShardedHNSWIndex.load(folder)
    (folder / "manifest.json").unlink()
    with pytest.raises(ValueError, match="no manifest.json"):
        ShardedHNSWIndex.load(folder)
    with pytest.raises(TypeError, match="folder must be a str or os.PathLike"):
        ShardedHNSWIndex.load(3)


def test_bad_arguments(nn):
    X = nn.clustered(50, 4, seed=7)
    with pytest.raises(ValueError, match="dim"):
        ShardedHNSWIndex(0)
    with pytest.raises(ValueError, match="metric"):
        ShardedHNSWIndex(4, metric="manhattan")
    with pytest.warns(FutureWarning, match="'l2' is deprecated"):
        assert ShardedHNSWIndex(4, metric="l2").metric == "sqeuclidean"
    index = ShardedHNSWIndex(4, **PARAMS)
    for n_shards, error in ((0, ValueError), (51, ValueError), (True, TypeError),
                            (2.0, TypeError), ("2", TypeError)):
        with pytest.raises(error, match="n_shards"):
            index.add(X, n_shards=n_shards)
    with pytest.raises(ValueError, match=r"X must have dim=4 columns"):
        index.add(X[:, :3])
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="X"):
        index.add(bad, n_shards=2)
    assert index.n_shards == 0 and len(index) == 0
    with pytest.raises(ValueError, match=r"k must be <= the number of live elements \(0\)"):
        index.query(X[0], 1)
    index.add(X, n_shards=2)
    with pytest.raises(ValueError, match="Q must have dim=4"):
        index.query(X[:, :2], 1)
    with pytest.raises(ValueError, match="ef"):
        index.query(X, 1, ef=0)
    with pytest.raises(TypeError, match="k"):
        index.query(X, 1.0)
    with pytest.raises(ValueError, match="ef"):
        index.ef = 0
    with pytest.raises(TypeError, match="folder must be"):
        index.save(None)


def test_bad_dask_inputs(nn, client):
    import dask.array as da

    X = nn.clustered(50, 4, seed=8)
    index = ShardedHNSWIndex(4, **PARAMS)
    with pytest.raises(ValueError, match="n_shards must be None for a dask array"):
        index.add(da.from_array(X, chunks=25), n_shards=2)
    with pytest.raises(ValueError, match=r"dim=4 columns.*shape \(50, 3\)"):
        index.add(da.from_array(X[:, :3], chunks=25))
    unknown = da.from_array(X, chunks=25)
    unknown = unknown[unknown[:, 0] > -1e9]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        index.add(unknown)
    bad = X.copy()
    bad[30, 0] = np.inf
    with pytest.raises(ValueError, match="X"):
        index.add(da.from_array(bad, chunks=25))
    index.add(da.from_array(X, chunks=25))
    assert index.n_shards == 2
    with pytest.raises(ValueError, match="X must be a dask array"):
        index.add(X)


def test_in_memory_path_does_not_import_dask():
    code = ("import sys, numpy as np; from sparsenum.neighbors import ShardedHNSWIndex; "
            "i = ShardedHNSWIndex(3, M=4, ef_construction=8); "
            "i.add(np.eye(3, dtype=np.float32), n_shards=2); i.query(np.eye(3), 1); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_dask_array_without_a_client_builds_here():
    """No distributed client: the chunks are computed and indexed in this process, giving the
    same shards as the NumPy path with the same split (a fresh process: no client around)."""
    code = ("import numpy as np, dask.array as da; from sparsenum.neighbors import "
            "ShardedHNSWIndex as S; X = np.random.default_rng(0).normal(size=(90, 3))"
            ".astype(np.float32); a = S(3, M=4, ef_construction=16, random_state=1); "
            "a.add(da.from_array(X, chunks=30)); b = S(3, M=4, ef_construction=16, "
            "random_state=1); b.add(X, n_shards=3); "
            "print(repr(a).endswith('in memory)'), a.n_shards, "
            "bool((a.query(X, 4)[0] == b.query(X, 4)[0]).all()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True 3 True"
