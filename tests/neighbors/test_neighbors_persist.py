"""Saving, loading and pickling HNSWIndex: identical results, clear errors on bad files."""

import pickle
import struct

import numpy as np
import pytest

from sparsenum.neighbors import HNSWIndex


@pytest.fixture(scope="module")
def index_and_queries(nn):
    X = nn.clustered(800, 12, seed=4)
    index = HNSWIndex(12, metric="cosine", M=6, ef_construction=40, random_state=1)
    index.add(X, ids=np.arange(800) * 3)
    index.mark_deleted(np.arange(0, 300, 3))  # some deleted, not yet released
    index.ef = 37
    return index, X, nn.clustered(50, 12, seed=5)


def assert_same_index(a, b, Q):
    assert len(a) == len(b) and a.ef == b.ef and a.metric == b.metric
    for ef in (None, 80):
        ia, da = a.query(Q, 5, ef=ef)
        ib, db = b.query(Q, 5, ef=ef)
        np.testing.assert_array_equal(ia, ib)
        np.testing.assert_array_equal(da, db)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.get_vectors(a.ids[:10]), b.get_vectors(b.ids[:10]))


def test_save_load_round_trip(index_and_queries, tmp_path):
    index, _, Q = index_and_queries
    index.save(tmp_path / "index.hnsw")
    loaded = HNSWIndex.load(str(tmp_path / "index.hnsw"))
    assert_same_index(index, loaded, Q)
    loaded.ef = 5  # ef settable after load
    assert loaded.query(Q, 3)[0].shape == (50, 3)


def test_pickle_round_trip(index_and_queries):
    index, _, Q = index_and_queries
    clone = pickle.loads(pickle.dumps(index))
    assert_same_index(index, clone, Q)


def test_loaded_index_keeps_growing_like_the_original(nn, tmp_path):
    X = nn.clustered(400, 6, seed=6)
    a = HNSWIndex(6, M=5, ef_construction=30, random_state=2)
    a.add(X[:200])
    a.save(tmp_path / "a.hnsw")
    b = HNSWIndex.load(tmp_path / "a.hnsw")
    a.add(X[200:])
    b.add(X[200:])  # same random levels: the stored generator state continues
    np.testing.assert_array_equal(a._links0[:400], b._links0[:400])
    np.testing.assert_array_equal(a.query(X[:20], 4)[0], b.query(X[:20], 4)[0])


def test_empty_index_round_trip(tmp_path):
    HNSWIndex(3).save(tmp_path / "empty.hnsw")
    loaded = HNSWIndex.load(tmp_path / "empty.hnsw")
    assert len(loaded) == 0
    loaded.add(np.eye(3))
    assert loaded.query(np.eye(3)[1], k=1)[0][0, 0] == 1


@pytest.fixture
def saved(index_and_queries, tmp_path):
    path = tmp_path / "index.hnsw"
    index_and_queries[0].save(path)
    return path


def test_truncated_file(saved):
    data = saved.read_bytes()
    for cut in (5, 30, len(data) // 2, len(data) - 1):
        saved.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="truncated|magic"):
            HNSWIndex.load(saved)


def test_corrupted_file_fails_checksum(saved):
    data = bytearray(saved.read_bytes())
    data[-100] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum mismatch"):
        HNSWIndex.load(saved)


def test_other_format_version(saved):
    data = bytearray(saved.read_bytes())
    data[8:12] = struct.pack("<I", 99)
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="format version 99"):
        HNSWIndex.load(saved)


def test_not_an_index(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(10))
    with pytest.raises(ValueError, match="not a valid sparsenum HNSW index file"):
        HNSWIndex.load(path)
    with pytest.raises(FileNotFoundError):
        HNSWIndex.load(tmp_path / "missing.hnsw")
    with pytest.raises(TypeError, match="path must be"):
        HNSWIndex.load(12)
