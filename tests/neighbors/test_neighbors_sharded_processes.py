"""ShardedHNSWIndex on a LocalCluster of two worker PROCESSES: everything that crosses a process
boundary (chunks, pickled shards moving between workers and to the client, numba kernels compiled
or loaded from the cache in each worker, files written by the workers) gives the results of the
same shards built in this process. Where Dask places a task is its scheduler's choice (it may move
work to balance the load), so placement is not asserted.

One cluster for the module, and one test walking an index through its life on it (build, query,
filter, delete, move, save, load): under pytest-xdist, tests of one module may land in different
pytest workers, and each would start its own cluster.
"""

import os

import numpy as np
import pytest

from sparsenum.neighbors import HNSWIndex, ShardedHNSWIndex

PARAMS = {"M": 8, "ef_construction": 48, "random_state": 3}
CHUNKS = (700, 0, 1200, 100)  # unequal, and an empty chunk (no shard)


@pytest.fixture(scope="module")
def data(nn):
    return nn.clustered(sum(CHUNKS), 12, seed=31), nn.clustered(60, 12, seed=32)


@pytest.fixture(scope="module")
def process_client():
    distributed = pytest.importorskip("dask.distributed")
    # workers inherit this environment (NUMBA_CACHE_DIR among it): they load the kernels this
    # process compiled, or compile them once into the same cache
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _in_memory(X, deleted=()):
    index = ShardedHNSWIndex(12, **PARAMS)
    for lo, hi in ((0, 700), (700, 1900), (1900, 2000)):  # the non-empty chunks, in order
        index.add(X[lo:hi])
    if len(deleted):
        index.mark_deleted(deleted)
    return index


def _assert_same(got, want):
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.timeout(600)  # cold numba caches: each worker process compiles the kernels
def test_index_life_on_process_workers(data, process_client, tmp_path):
    import dask.array as da

    client = process_client
    X, Q = data
    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids
    assert set(client.run(lambda: os.environ.get("NUMBA_CACHE_DIR")).values()) == \
        {os.environ.get("NUMBA_CACHE_DIR")}
    # the workers import this checkout of sparsenum (a lambda travels by value, a function of
    # this test module by reference, which the workers could not import)
    import sparsenum

    assert set(client.run(lambda: __import__("sparsenum").__file__).values()) == \
        {sparsenum.__file__}

    # build: one shard per non-empty chunk, each held by one worker (the one holding its chunk,
    # unless Dask's scheduler moved the build to balance the load: not asserted)
    from dask.distributed import wait

    chunked = da.from_array(X, chunks=(CHUNKS, 12)).persist()
    wait(chunked)
    index = ShardedHNSWIndex(12, **PARAMS)
    index.add(chunked)
    assert index.n_shards == 3 and index.shard_sizes.tolist() == [700, 1200, 100]
    assert [(s.start, s.stop) for s in index._shards] == [(0, 700), (700, 1900), (1900, 2000)]
    shard_home = client.who_has([s.handle for s in index._shards])
    assert all(len(shard_home[s.handle.key]) == 1 for s in index._shards)
    # Dask weighs a shard by its arrays (not the bytes of the Python object), so its scheduler
    # does not take a graph for free to move
    weights = client.nbytes(keys=[s.handle.key for s in index._shards], summary=False)
    assert all(weights[s.handle.key] > 4 * 12 * s.n_live for s in index._shards)

    # query, with and without a filter: the shards built in this process, bit for bit
    local = _in_memory(X)
    _assert_same(index.query(Q, 10, ef=24), local.query(Q, 10, ef=24))
    allowed = np.random.default_rng(33).random(2000) < 0.2
    _assert_same(index.query(Q, 5, ef=24, filter=allowed),
                 local.query(Q, 5, ef=24, filter=allowed))
    _assert_same(index.query(Q, 3, filter=np.arange(1900, 1950)),  # one shard searched
                 local.query(Q, 3, filter=np.arange(1900, 1950)))

    # delete: reaches the owning shard on its worker, all or nothing
    deleted = np.array([5, 699, 700, 1999], np.uint32)
    index.mark_deleted(deleted)
    with pytest.raises(KeyError, match=r"e\.g\. \[700\]"):
        index.mark_deleted([10, 700])
    assert index.shard_sizes.tolist() == [698, 1199, 99]
    local = _in_memory(X, deleted)
    after = index.query(Q, 10, ef=24)
    _assert_same(after, local.query(Q, 10, ef=24))
    assert not np.isin(after[0], deleted).any()

    # a shard pickled to the other worker and to this process answers the same
    first = index._shards[0].handle
    home = client.who_has([first])[first.key]
    workers = list(client.scheduler_info()["workers"])
    others = [w for w in workers if w not in home]
    assert others, (home, workers)
    other = others[0]
    from sparsenum.neighbors._shard_tasks import query_shard

    moved = client.submit(query_shard, first, Q, 4, 24, None, workers=[other],
                          allow_other_workers=False, pure=False).result()
    here = client.gather(first)
    assert isinstance(here, HNSWIndex) and len(here) == 698
    for got in (moved, query_shard(here, Q, 4, 24, None)):
        _assert_same(got[:2], here.query(Q, 4, ef=24))

    # save: each worker writes its shards; load here and back onto the workers
    index.ef = 24
    index.save(tmp_path / "sharded")
    want = local.query(Q, 10, ef=24)
    for loaded in (ShardedHNSWIndex.load(tmp_path / "sharded"),
                   ShardedHNSWIndex.load(tmp_path / "sharded", client=client)):
        assert (loaded.n_shards, len(loaded), loaded.ef) == (3, 1996, 24)
        _assert_same(loaded.query(Q, 10), want)
    assert "in dask" in repr(loaded)
    loaded.mark_deleted([1000])
    assert 1000 not in loaded.query(X[1000], 3)[0]
