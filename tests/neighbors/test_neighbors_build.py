"""Insertion in batches: the same graph on any number of threads, graph invariants, recall."""

import numpy as np
import pytest

from sparsenum.neighbors import HNSWIndex
from sparsenum.neighbors._state import check_state


@pytest.fixture(scope="module")
def data(nn):
    return nn.clustered(3000, 16, seed=21), nn.clustered(200, 16, seed=22)


def _graph(index):
    return (index._links0[: index._n_slots].copy(), index._upper[: index._n_upper].copy(),
            index._entry, index._max_level)


def test_parallel_build_is_the_serial_build(data, nn):
    X, Q = data
    graphs = []
    for n_jobs in (1, 2, -1, 2, 2, None, 2):  # repeated: thread timing must not matter
        index = HNSWIndex(16, M=8, ef_construction=64, random_state=0, n_jobs=n_jobs)
        index.add(X)
        # invariants: degrees within bounds, no self links, every link to a node of that layer
        check_state(index._state_scalars(), index._state_arrays(), "built index")
        graphs.append(_graph(index))
    for other in graphs[1:]:
        for a, b in zip(graphs[0], other):
            np.testing.assert_array_equal(a, b)
    truth, _ = nn.brute_force(X, Q, 10)
    assert nn.recall(index.query(Q, 10, ef=64)[0], truth) >= 0.97


@pytest.mark.parametrize("chunks_per_thread", [1, 3])
def test_parallel_build_does_not_depend_on_the_chunks_of_work(data, monkeypatch,
                                                              chunks_per_thread):
    """Threads take the chunks of each phase as they come free; how the batch is cut into
    chunks must not change the graph."""
    from sparsenum.neighbors import _insert

    X, _ = data
    serial = HNSWIndex(16, M=8, ef_construction=64, random_state=0, n_jobs=1)
    serial.add(X[:1000])
    monkeypatch.setattr(_insert, "_LINK_CHUNKS_PER_THREAD", chunks_per_thread)
    parallel = HNSWIndex(16, M=8, ef_construction=64, random_state=0, n_jobs=2)
    parallel.add(X[:1000])
    check_state(parallel._state_scalars(), parallel._state_arrays(), "built index")
    for a, b in zip(_graph(serial), _graph(parallel)):
        np.testing.assert_array_equal(a, b)


def test_rebuild_after_many_deletions_is_the_same_on_any_thread_count(data):
    X, _ = data
    graphs = []
    for n_jobs in (1, 2):
        index = HNSWIndex(16, M=8, ef_construction=64, random_state=0, n_jobs=n_jobs)
        index.add(X)
        index.mark_deleted(np.arange(0, 3000, 2))  # half: the survivors' graph is rebuilt
        index.add(X[:10] + 0.5)
        check_state(index._state_scalars(), index._state_arrays(), "rebuilt index")
        graphs.append(_graph(index))
    for a, b in zip(*graphs):
        np.testing.assert_array_equal(a, b)


def test_nodes_of_one_batch_find_each_other():
    """Nodes inserted together search the graph as it was before their batch; they still get
    their batch's earlier nodes as candidates, so a tight pair far from everything is linked."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 8)).astype(np.float32)
    index = HNSWIndex(8, M=8, ef_construction=32, random_state=0)
    index.add(X)
    far = np.full((2, 8), 50.0, np.float32)
    far[1, 0] += 0.01
    batch = np.vstack([X[:40] + 0.3, far, X[40:80] + 0.3]).astype(np.float32)
    index.add(batch)
    pair = index._find(np.array([1040, 1041]))[0]
    assert pair[1] in index._links0[pair[0], 1: index._links0[pair[0], 0] + 1]
    assert pair[0] in index._links0[pair[1], 1: index._links0[pair[1], 0] + 1]
    assert index.query(far[1], k=2)[0].tolist() == [[1041, 1040]]
