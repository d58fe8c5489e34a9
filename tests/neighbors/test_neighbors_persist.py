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
        with pytest.raises(ValueError, match="unsupported index file: .*(truncated|magic)"):
            HNSWIndex.load(saved)


def test_corrupted_file_fails_checksum(saved):
    data = bytearray(saved.read_bytes())
    data[-100] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt or unsupported index file: checksum mismatch"):
        HNSWIndex.load(saved)


def test_other_format_version(saved):
    data = bytearray(saved.read_bytes())
    data[8:12] = struct.pack("<I", 99)
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="unsupported index file: format version is 99"):
        HNSWIndex.load(saved)


def test_not_an_index(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(10))
    with pytest.raises(ValueError, match="corrupt or unsupported index file: magic"):
        HNSWIndex.load(path)
    with pytest.raises(FileNotFoundError):
        HNSWIndex.load(tmp_path / "missing.hnsw")
    with pytest.raises(TypeError, match="path must be"):
        HNSWIndex.load(12)


# -- crafted files: a valid checksum around inconsistent fields -------------------------------
def _state(index):
    scalars = dict(index._state_scalars())
    arrays = {name: a.copy() for name, a in index._state_arrays().items()}
    return scalars, arrays


def _with_level(arrays, at_least=1):
    return int(np.flatnonzero(arrays["level"] >= at_least)[0])


def _linked(arrays):
    return int(np.flatnonzero(arrays["links0"][:, 0] > 0)[0])


CRAFTED = {
    "entry point far out of range": ("entry", lambda s, a: s.update(entry=10**8)),
    "entry point not on the top level": (
        "entry", lambda s, a: s.update(entry=int(np.flatnonzero(a["level"] == 0)[0]))),
    "max level 10**6": ("max_level", lambda s, a: s.update(max_level=10**6)),
    "level above every upper row": ("max_level|upper_off", lambda s, a: a["level"].__setitem__(
        _with_level(a), 10**6)),
    "link id out of range": ("links0", lambda s, a: a["links0"].__setitem__(
        (_linked(a), 1), 10**7)),
    "negative link id": ("links0", lambda s, a: a["links0"].__setitem__((_linked(a), 1), -5)),
    "link count out of range": ("links0", lambda s, a: a["links0"].__setitem__(
        (_linked(a), 0), 10**4)),
    "self link": ("links0", lambda s, a: a["links0"].__setitem__(
        (_linked(a), 1), _linked(a))),
    "upper offset out of range": ("upper_off", lambda s, a: a["upper_off"].__setitem__(
        _with_level(a), 10**6)),
    "negative upper offset": ("upper_off", lambda s, a: a["upper_off"].__setitem__(
        _with_level(a), -7)),
    "upper link to a node below that layer": ("upper", lambda s, a: a["upper"].__setitem__(
        (a["upper_off"][_with_level(a)], 1), int(np.flatnonzero(a["level"] == 0)[0]))),
    "duplicate labels": ("labels", lambda s, a: a["labels"].__setitem__(1, a["labels"][0])),
    "negative label": ("labels", lambda s, a: a["labels"].__setitem__(3, -4)),
    "next id not above the labels": ("next_id", lambda s, a: s.update(next_id=5)),
    "unknown metric": ("metric", lambda s, a: s.update(metric="bogus")),
    "M = 0": ("M", lambda s, a: s.update(M=0)),
    "M as a string": ("M", lambda s, a: s.update(M="6")),
    "ef = 0": ("ef", lambda s, a: s.update(ef=0)),
    "ef_construction a float": ("ef_construction", lambda s, a: s.update(ef_construction=4.5)),
    "ef a bool": ("ef", lambda s, a: s.update(ef=True)),
    "dim disagrees with data": ("data", lambda s, a: s.update(dim=13)),
    "n_live of 10**6": ("n_live", lambda s, a: s.update(n_live=10**6)),
    "n_deleted off by one": ("n_deleted", lambda s, a: s.update(n_deleted=s["n_deleted"] + 1)),
    "NaN vector": ("data", lambda s, a: a["data"].__setitem__((2, 0), np.nan)),
    "deleted flag 2": ("deleted", lambda s, a: a["deleted"].__setitem__(4, 2)),
    "cosine scale not the inverse norm": ("scale", lambda s, a: a["scale"].__setitem__(6, 9.0)),
    "missing scalar": ("scalars", lambda s, a: s.pop("entry")),
    "unknown scalar": ("scalars", lambda s, a: s.update(colour="red")),
    "bad generator state": ("rng_state", lambda s, a: s.update(
        rng_state={"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}})),
    "foreign generator": ("rng_state", lambda s, a: s.update(
        rng_state=np.random.MT19937(0).state | {"state": {"key": [], "pos": 0}})),
    "n_jobs zero": ("n_jobs", lambda s, a: s.update(n_jobs=0)),
}


@pytest.mark.parametrize("case", list(CRAFTED), ids=list(CRAFTED))
def test_crafted_fields_are_rejected_with_their_name(index_and_queries, tmp_path, case):
    from sparsenum.neighbors._persist import save_index

    field, mutate = CRAFTED[case]
    scalars, arrays = _state(index_and_queries[0])
    mutate(scalars, arrays)
    path = tmp_path / "crafted.hnsw"
    save_index(path, scalars, arrays)  # a valid checksum
    with pytest.raises(ValueError, match=f"^corrupt or unsupported index file: ({field})"):
        HNSWIndex.load(path)
    # the same state as a pickle is refused the same way
    index = index_and_queries[0]
    with pytest.raises(ValueError, match=f"^corrupt or unsupported pickled index: ({field})"):
        type(index)._from_state(scalars, arrays, "pickled index")


def _write_raw(path, header: bytes, payload: bytes = b""):
    """A file with a valid prefix and checksum around an arbitrary header and payload."""
    import zlib

    from sparsenum.neighbors._persist import _CRC, _PREFIX, FORMAT_VERSION, MAGIC

    body = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(header)) + header + payload
    path.write_bytes(body + _CRC.pack(zlib.crc32(body)))


@pytest.mark.parametrize(
    ("header", "field"),
    [
        (b"[" * 30_000 + b"]" * 30_000, "header nests"),  # RecursionError in json
        (b"{" * 10 + b"}" * 10, "header nests"),
        (b"not json", "header is not JSON"),
        (b'{"scalars": {}}', "header must hold"),
        (b'{"scalars": {}, "arrays": {}}', "arrays must list"),
        (b'{"scalars": {}, "arrays": [1, 2, 3, 4, 5, 6, 7, 8]}', "arrays must list"),
        (b'{"scalars": {}, "arrays": [{"name": "data", "dtype": "|O", "shape": [1, 1]}'
         + b', {}' * 7 + b"]}", "data must have dtype"),
        (b'{"scalars": {}, "arrays": [{"name": "data", "dtype": "<f4", "shape": [-1, -4]}'
         + b', {}' * 7 + b"]}", "data must have a shape"),
        (b'{"scalars": {}, "arrays": [{"name": "data", "dtype": "<f4", "shape": [true, 2]}'
         + b', {}' * 7 + b"]}", "data must have a shape"),
    ],
)
def test_crafted_headers_are_rejected(tmp_path, header, field):
    path = tmp_path / "crafted.hnsw"
    _write_raw(path, header)
    with pytest.raises(ValueError, match=f"^corrupt or unsupported index file: {field}"):
        HNSWIndex.load(path)


def test_huge_header_length_is_refused_before_reading(tmp_path):
    from sparsenum.neighbors._persist import _PREFIX, FORMAT_VERSION, MAGIC

    path = tmp_path / "huge.hnsw"
    path.write_bytes(_PREFIX.pack(MAGIC, FORMAT_VERSION, 2**62) + b"{}")
    with pytest.raises(ValueError, match="header length"):
        HNSWIndex.load(path)


def test_files_of_the_previous_release_load(index_and_queries, tmp_path):
    """Files written before the metric vocabulary changed say metric="l2"."""
    from sparsenum.neighbors._persist import save_index

    X = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    index = HNSWIndex(3, M=4, random_state=0)
    index.add(X)
    scalars, arrays = _state(index)
    scalars["metric"] = "l2"
    save_index(tmp_path / "old.hnsw", scalars, arrays)
    loaded = HNSWIndex.load(tmp_path / "old.hnsw")
    assert loaded.metric == "sqeuclidean"
    np.testing.assert_array_equal(loaded.query(X, 3)[0], index.query(X, 3)[0])


def test_bad_pickle_state():
    index = HNSWIndex(3)
    with pytest.raises(ValueError, match="corrupt or unsupported pickled index"):
        index.__setstate__({"scalars": {}})
