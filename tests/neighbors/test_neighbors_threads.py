"""HNSWIndex shared between threads: queries alongside adds, deletions and resizes.

The stress test runs reader threads (batches of 1, 7 and 64 queries, serial and parallel
kernels, with and without a filter, pickling now and then) against a writer thread that adds,
deletes and resizes. The writer counts the operations it has started and finished; a reader
notes the finished count before its query and the started count after it. So, whatever the
interleaving, each returned id must have been added by an operation started before the query
ended and must not have been deleted by one finished before it began; its distance must be the
exact distance to that id's vector; and the exact neighbours among the ids that were live for
the whole query (brute force) that lie closer than the returned k-th distance must be found.
"""

import pickle
import threading

import numpy as np
import pytest

from sparsenum.neighbors import HNSWIndex
from sparsenum.neighbors._locking import ReadWriteLock
from sparsenum.neighbors._state import check_state

DIM, K = 12, 5


class Journal:
    """Which operation added and deleted each id (ids are never reused here)."""

    def __init__(self, n_ids):
        self.added = np.full(n_ids, np.iinfo(np.int64).max)
        self.deleted = np.full(n_ids, np.iinfo(np.int64).max)
        self.started = 0
        self.finished = 0


def _writer(index, X, journal, stop, errors, tmp_path):
    rng = np.random.default_rng(1)
    try:
        next_id = 600
        for op in range(1, 61):
            journal.started = op
            kind = op % 6
            if kind in (0, 1, 2, 3):  # add a batch
                ids = np.arange(next_id, next_id + 40)
                journal.added[ids] = op
                index.add(X[ids], ids=ids)
                next_id += 40
            elif kind == 4:  # delete some live ids (at op 34, a third: the graph is rebuilt)
                live = index.ids
                size = live.size // 3 if op == 34 else 25
                gone = rng.choice(live, size=size, replace=False)
                journal.deleted[gone] = op
                index.mark_deleted(gone)
            elif op == 5:
                index.resize(index.capacity + 3000)
            else:
                index.save(tmp_path / "during.hnsw")
            journal.finished = op
    except Exception as exc:  # reported by the test
        errors.append(exc)
    finally:
        stop.set()


def _reader(index, X, journal, stop, errors, seed, counts):
    """Queries until the writer stops; appends (expected, found) neighbours to ``counts``."""
    rng = np.random.default_rng(seed)
    sizes = (1, 7, 64)
    expected = found_total = 0
    try:
        count = 0
        while not stop.is_set() or count < 3:
            count += 1
            n_q = sizes[count % 3]
            Q = X[rng.integers(0, X.shape[0], n_q)] + 0.1 * rng.normal(size=(n_q, DIM))
            Q = Q.astype(np.float32)
            before = journal.finished
            allowed = None
            if count % 5 == 0:
                allowed = np.arange(0, X.shape[0], 2)
            if count % 17 == 0:
                clone = pickle.loads(pickle.dumps(index))
                check_state(clone._state_scalars(), clone._state_arrays(), "pickled index")
            ids, dist = index.query(Q, K, ef=48, filter=allowed)
            after = journal.started
            assert (ids >= 0).all() and all(len(set(row)) == K for row in ids)
            assert (journal.added[ids] <= after).all(), "an id not yet added was returned"
            assert (journal.deleted[ids] > before).all(), "a deleted id was returned"
            if allowed is not None:
                assert np.isin(ids, allowed).all()
            exact = ((Q[:, None, :].astype(np.float64) - X[ids].astype(np.float64)) ** 2).sum(-1)
            np.testing.assert_allclose(dist, exact, rtol=1e-4, atol=1e-4)
            assert (np.diff(dist, axis=1) >= 0).all()
            stable = np.flatnonzero((journal.added <= before) & (journal.deleted > after))
            if allowed is not None:
                stable = np.intersect1d(stable, allowed)
            d = ((Q[:, None, :] - X[stable][None]) ** 2).sum(-1)
            for row, kth, found in zip(d, dist[:, -1], ids):
                closer = stable[row < kth * (1 - 1e-5)]
                expected += closer.size
                found_total += int(np.isin(closer, found).sum())
    except Exception as exc:  # reported by the test
        errors.append(exc)
    counts.append((expected, found_total))


@pytest.mark.timeout(120)
def test_queries_during_adds_deletes_and_resizes(nn, tmp_path):
    X = nn.clustered(3400, DIM, seed=11)
    index = HNSWIndex(DIM, M=8, ef_construction=48, random_state=0, n_jobs=2)
    index.add(X[:600], ids=np.arange(600))
    journal = Journal(X.shape[0])
    journal.added[:600] = 0
    stop, errors = threading.Event(), []
    counts = []
    threads = [threading.Thread(target=_writer, args=(index, X, journal, stop, errors, tmp_path))]
    threads += [threading.Thread(target=_reader, args=(index, X, journal, stop, errors, s, counts))
                for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    expected, found = np.sum(counts, axis=0)
    assert expected > 1000
    assert found / expected >= 0.99, (found, expected)  # the same graphs, queried serially: 1.0
    # the final index is consistent, and equals a reload of itself
    check_state(index._state_scalars(), index._state_arrays(), "index")
    HNSWIndex.load(tmp_path / "during.hnsw")  # the save made during the adds is consistent
    assert len(index) == index.ids.size == int(np.sum(
        (journal.added < np.iinfo(np.int64).max) & (journal.deleted == np.iinfo(np.int64).max)))


def test_serial_and_parallel_paths_give_identical_results(nn):
    X, Q = nn.clustered(2000, DIM, seed=3), nn.clustered(300, DIM, seed=4)
    index = HNSWIndex(DIM, M=8, ef_construction=48, random_state=0)
    index.add(X)
    index.mark_deleted(np.arange(0, 2000, 9))
    results = []
    for n_jobs in (1, 2, None):  # serial, parallel, and the default (chosen from the work)
        index.n_jobs = n_jobs
        for batch in (Q[:1], Q[:5], Q):  # tiny batches run serially by default
            for flt in (None, np.arange(0, 2000, 3)):
                results.append(index.query(batch, K, ef=40, filter=flt))
    for at in range(6):
        for other in results[6 + at::6]:
            np.testing.assert_array_equal(results[at][0], other[0])
            np.testing.assert_array_equal(results[at][1], other[1])


def test_default_runs_small_batches_serially(nn, monkeypatch):
    """A default call on a small batch never launches the parallel kernel."""
    from sparsenum.neighbors import _kernels

    X = nn.clustered(300, DIM, seed=5)
    index = HNSWIndex(DIM, M=8, ef_construction=32, random_state=0)
    index.add(X)
    launched = []
    original = _kernels.query_batch
    monkeypatch.setattr(_kernels, "query_batch", lambda *a: launched.append(1) or original(*a))
    index.query(X[:3], K)
    assert not launched
    index.n_jobs = 2
    index.query(X[:3], K)
    assert launched  # an explicit n_jobs is obeyed


def test_read_write_lock_excludes_writers_and_lets_readers_share():
    lock = ReadWriteLock()
    inside, log = [], []
    entered, leaving = threading.Barrier(3), threading.Barrier(3)

    def reader():
        with lock.shared():
            inside.append("r")
            entered.wait(timeout=10)  # all three readers inside together
            log.append(len(inside))
            leaving.wait(timeout=10)
            inside.remove("r")

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log == [3, 3, 3]

    order = []

    def write():
        with lock.exclusive():
            order.append("w")

    with lock.shared():
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(0.2)
        assert order == []  # the writer waits for the reader
    writer.join(10)
    assert order == ["w"]
