"""Hypothesis over the public API of sparsenum.neighbors with bad values, dtypes, shapes and
files: every call ends in a ValueError/TypeError naming the argument, or in a result checked
correct (ids live, exact distances for them, an index that agrees with itself after loading).

The cases live in ``_fuzz_cases.py``; ``fuzz_census.py`` runs many more of them, each in its own
process, and counts the outcomes (crashes and hangs included).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests._fuzz import bad_arrays, outcome, unmodified
from tests.neighbors import _fuzz_cases as cases

FILE = ("index file",)
indices = st.integers(0, 99)


def _unmodified(value):
    """``tests._fuzz.unmodified``, except for object and string arrays, which its NaN-aware
    comparison cannot handle (it calls isnan on them): those are compared element by element."""
    if isinstance(value, np.ndarray) and value.dtype.kind not in "biufc":
        return _objects_unmodified(value)
    return unmodified(value)


class _objects_unmodified:
    def __init__(self, value):
        self.value, self.copy = value, value.copy()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        assert (self.value == self.copy).all(), "input was modified in place"


def _run(call, names):
    kind, _ = outcome(call, names=names)
    assert kind in ("error", "ok")


@pytest.mark.timeout(120)
@given(st.sampled_from(cases.CONSTRUCTOR_ARGS), indices)
def test_constructor(arg, value_index):
    _run(lambda: cases.case_constructor(arg, value_index), (arg,))


@pytest.mark.timeout(120)
@given(bad_arrays((20, 4)))
def test_add_bad_vectors(X):
    index, _ = cases._fresh_small_index()
    with _unmodified(X):
        _run(lambda: index.add(X), ("X",))
    cases.check_usable(index)  # a failed add leaves the index usable


@pytest.mark.timeout(120)
@given(indices)
def test_add_bad_ids(value_index):
    _run(lambda: cases.case_add_ids(value_index), ("ids",))


@pytest.mark.timeout(120)
@given(bad_arrays((3, 4)))
def test_query_bad_vectors(Q):
    index, _ = cases._small_index()
    with _unmodified(Q):
        _run(lambda: index.query(Q, 2), ("Q",))


@pytest.mark.timeout(120)
@given(st.sampled_from(["k", "ef"]), indices)
def test_query_bad_k_and_ef(arg, value_index):
    _run(lambda: cases.case_query_param(arg, value_index), (arg,))


@pytest.mark.timeout(120)
@given(indices)
def test_query_bad_filter(value_index):
    _run(lambda: cases.case_query_filter(value_index), ("filter",))


@pytest.mark.timeout(120)
@given(st.sampled_from(["mark_deleted", "get_vectors"]), indices)
def test_bad_ids(method, value_index):
    _run(lambda: cases.case_ids_methods(method, value_index), ("ids",))


@pytest.mark.timeout(120)
@given(indices)
def test_resize(value_index):
    _run(lambda: cases.case_resize(value_index), ("max_elements",))


@pytest.mark.timeout(120)
@given(st.sampled_from(cases.TRANSFORMER_ARGS), indices)
def test_transformer_parameters(arg, value_index):
    _run(lambda: cases.case_transformer_param(arg, value_index), (arg,))


@pytest.mark.timeout(120)
@given(indices, st.sampled_from(["fit", "transform"]))
def test_transformer_bad_X(array_index, where):
    _run(lambda: cases.case_transformer_X(array_index, where), ("X",))


@pytest.mark.timeout(120)
@given(st.integers(-46, 38), st.sampled_from(["", "cosine", "euclidean"]))
def test_magnitudes(exponent, metric):
    """Rejected when float32 distances cannot represent them, else as good as unscaled."""
    _run(lambda: cases.case_magnitude(exponent, metric), ("X", "Q"))


@pytest.mark.timeout(120)
@settings(max_examples=10)  # two builds per example
@given(st.integers(2, 16), st.integers(1, 3))
def test_small_ef_construction(M, ef_construction):
    _run(lambda: cases.case_ef_construction(M, ef_construction), ("ef_construction",))


@pytest.mark.timeout(120)
@given(st.floats(0, 1))
def test_truncated_files(fraction):
    _run(lambda: cases.case_file_truncated(fraction), FILE)


@pytest.mark.timeout(120)
@given(st.floats(0, 1), st.integers(0, 7))
def test_bit_flips(fraction, bit):
    _run(lambda: cases.case_file_bit_flip(fraction, bit), FILE)


@pytest.mark.timeout(120)
@given(st.sampled_from(cases.SCALAR_FIELDS), indices, st.sampled_from(["", "cosine"]))
def test_crafted_scalars_with_a_valid_checksum(field, value_index, metric):
    _run(lambda: cases.case_file_scalar(field, value_index, metric), FILE)


@pytest.mark.timeout(120)
@given(st.sampled_from(cases.ARRAY_FIELDS), st.floats(0, 1), indices,
       st.sampled_from(["", "cosine"]))
def test_crafted_arrays_with_a_valid_checksum(field, position, value_index, metric):
    _run(lambda: cases.case_file_array(field, position, value_index, metric), FILE)


@pytest.mark.timeout(120)
@given(indices, st.sampled_from([1, 10, 5000, 40000]))
def test_crafted_headers(kind, size):
    _run(lambda: cases.case_file_header(kind, size), FILE)


@pytest.mark.timeout(120)
@given(st.sampled_from(cases.SCALAR_FIELDS + cases.ARRAY_FIELDS), indices)
def test_crafted_pickles(field, value_index):
    _run(lambda: cases.case_pickle_state(field, value_index), ("pickled index",))


def test_files_of_every_kind_are_rejected_cleanly(tmp_path):
    """Empty, foreign and directory paths."""
    from sparsenum.neighbors import HNSWIndex

    (tmp_path / "empty.hnsw").write_bytes(b"")
    np.save(tmp_path / "foreign.npy", np.arange(3))
    for name in ("empty.hnsw", "foreign.npy"):
        with pytest.raises(ValueError, match="corrupt or unsupported index file: magic"):
            HNSWIndex.load(tmp_path / name)
    with pytest.raises(TypeError, match="path must be"):
        HNSWIndex.load(None)


# -- ShardedHNSWIndex (in-memory path; the Dask path's argument checks run before any task) --
def _sharded(n_shards=3):
    from sparsenum.neighbors import ShardedHNSWIndex

    index = ShardedHNSWIndex(4, M=4, ef_construction=16, random_state=0)
    index.add(cases._clustered(60, 4, 0), n_shards=n_shards)
    return index


@pytest.mark.timeout(120)
@given(st.sampled_from(("dim", "M", "ef_construction", "n_jobs", "metric", "random_state")),
       indices)
def test_sharded_constructor(arg, value_index):
    from sparsenum.neighbors import ShardedHNSWIndex

    values = {"metric": cases.BAD_METRICS,
              "random_state": [-1, 2**40, "a", 1.5, True, [1], None]}.get(arg, cases.BAD_INT_VALUES)
    kwargs = {"dim": 4, arg: values[value_index % len(values)]}
    _run(lambda: ShardedHNSWIndex(**kwargs), (arg,))


@pytest.mark.timeout(120)
@given(bad_arrays((20, 4)), st.sampled_from([None, 1, 2, 0, -1, 21, 2.0, True, "2", 10**12]))
def test_sharded_add_bad_input(X, n_shards):
    index = _sharded()
    with _unmodified(X):
        kind, _ = outcome(lambda: index.add(X, n_shards=n_shards), names=("X", "n_shards"))
    if kind == "error":
        assert len(index) == 60 and index.n_shards == 3  # nothing added


@pytest.mark.timeout(120)
@given(bad_arrays((3, 4)), st.sampled_from(["k", "ef"]), indices)
def test_sharded_query_bad_input(Q, arg, value_index):
    index = _sharded()
    with _unmodified(Q):
        _run(lambda: index.query(Q, 2), ("Q",))
    value = cases.BAD_INT_VALUES[value_index % len(cases.BAD_INT_VALUES)]
    X = cases._clustered(60, 4, 0)
    kind, result = outcome(lambda: index.query(X[:5], **{"k": 2, arg: value}), names=(arg,))
    if kind == "ok":  # a large value is legitimate: the answer must then be exact
        _, dist = result
        exact = np.sort(((X[:5, None, :].astype(np.float64) - X[None]) ** 2).sum(-1), 1)[:, :2]
        np.testing.assert_allclose(dist, exact, rtol=1e-4, atol=1e-4)


@pytest.mark.timeout(120)
@given(indices)
def test_sharded_mark_deleted_bad_ids(value_index):
    index = _sharded()
    value = cases.BAD_ID_VALUES[value_index % len(cases.BAD_ID_VALUES)]
    try:
        kind, _ = outcome(lambda: index.mark_deleted(value), names=("ids",))
    except KeyError:
        kind = "error"
    if kind == "error":
        assert len(index) == 60
