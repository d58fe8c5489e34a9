"""Fuzz cases over sparsenum.neighbors, shared by test_fuzz_neighbors.py (hypothesis) and
fuzz_census.py (every case in a child process, outcomes counted).

A case is a function of plain parameters (numbers and strings: picklable, printable) that
either returns normally (a correct result, checked inside the case) or raises: a ValueError or
TypeError naming the user's argument is a clean failure (``tests._fuzz.outcome`` decides), and
:class:`Silent` marks a wrong result returned without an error (an id that is not live, a NaN,
recall far below brute force, a loaded index that disagrees with itself). Bad values come from
the candidate lists of ``tests._fuzz``, addressed by index so that a case stays a few numbers.
"""

from __future__ import annotations

import io
import pickle
import tempfile
import threading
from pathlib import Path

import numpy as np

from tests._fuzz import BAD_BOOLS, BAD_INTS, BAD_REALS, bad_arrays

BAD_INT_VALUES = [*BAD_INTS.elements, 0, -1, -7, 10**12, 2**31, 10**30]
BAD_REAL_VALUES = list(BAD_REALS.elements)
BAD_BOOL_VALUES = list(BAD_BOOLS.elements)
BAD_ARRAYS = list(bad_arrays((20, 4)).elements)
BAD_ID_VALUES = [None, "3", 3.5, [1.0, 2.0], [-1], [[1, 2]], [True], np.array([2**63], np.uint64),
                 [[1, [2]]], {1: 2}, object(), [10**30], np.array(["a"])]
BAD_METRICS = ["manhattan", "L2", "", None, 3, "cosine ", b"ip", ["ip"]]
BAD_FILTERS = ["abc", [0.5], np.ones((2, 2), bool), [[1, [2]]], [-1], [10**30], object(),
               np.array([1.5, 2.5]), np.array(["a"])]
CONSTRUCTOR_ARGS = ("dim", "M", "ef_construction", "max_elements", "n_jobs", "metric",
                    "random_state")
TRANSFORMER_ARGS = ("n_neighbors", "mode", "metric", "M", "ef_construction", "ef", "n_jobs",
                    "random_state", "verbose")
# scalar fields of the file header, and the values a crafted file may put there
SCALAR_FIELDS = ("dim", "metric", "M", "ef_construction", "ef", "n_jobs", "n_live", "n_deleted",
                 "entry", "max_level", "next_id", "rng_state")
CRAFTED_VALUES = [-1, 0, 1, 2, 3, 10**6, 10**8, 2**31, 2**63, -(2**40), "3", 3.5, None, True,
                  [1], {"a": 1}, "bogus", "l2", "cosine", 1e308]
ARRAY_FIELDS = ("data", "scale", "labels", "deleted", "level", "links0", "upper_off", "upper")
ARRAY_VALUES = [-5, -1, 0, 1, 2, 7, 13, 100, 299, 300, 10**4, 10**7, 2**31 - 1, -(2**31)]
FLOAT_VALUES = [np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0, 1e-40]


class Silent(AssertionError):
    """A wrong result returned without an error."""


class NotApplicable(Exception):
    """The API under test does not have this feature (when fuzzing an older version)."""


def _clustered(n, dim, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(8, dim))
    return (centers[rng.integers(0, 8, n)] + rng.normal(size=(n, dim))).astype(np.float32)


def _index(**kwargs):
    from sparsenum.neighbors import HNSWIndex

    kwargs = {"M": 6, "ef_construction": 32, "random_state": 0, **kwargs}
    return HNSWIndex(kwargs.pop("dim", 4), **kwargs)


_BUILT = {}


def _small_index(metric: str = ""):
    """A 300 x 4 index (ids 0, 3, 6, ...; a tenth deleted, not yet released), built once."""
    if metric not in _BUILT:
        X = _clustered(300, 4, seed=0)
        index = _index(**({"metric": metric} if metric else {}))
        index.add(X, ids=np.arange(300) * 3)
        index.mark_deleted(np.arange(0, 900, 30))
        _BUILT[metric] = (index, X)
    return _BUILT[metric]


def _fresh_small_index():
    X = _clustered(60, 4, seed=1)
    index = _index()
    index.add(X)
    return index, X


# -- results are checked, not trusted ----------------------------------------------------------
def _exact(X, Q, metric):
    X, Q = np.asarray(X, np.float64), np.asarray(Q, np.float64)
    if metric == "cosine":
        Xn = X / np.where((n := np.linalg.norm(X, axis=1, keepdims=True)) > 0, n, 1)
        Qn = Q / np.where((m := np.linalg.norm(Q, axis=1, keepdims=True)) > 0, m, 1)
        return 1 - Qn @ Xn.T
    if metric == "ip":
        return 1 - Q @ X.T
    d = ((Q[:, None, :] - X[None]) ** 2).sum(-1)
    return np.sqrt(d) if metric == "euclidean" else d


def check_answers(index, Q, ids, dist, k):
    """Ids live and distinct per row, distances finite, ascending and exact for those ids."""
    live = index.ids
    metric = index.metric
    if ids.shape != (Q.shape[0], k) or dist.shape != ids.shape:
        raise Silent(f"shapes {ids.shape} {dist.shape} for {Q.shape[0]} queries and k={k}")
    if not np.isin(ids, live).all():
        raise Silent(f"ids not live in the index: {np.setdiff1d(ids, live)[:5]}")
    if any(len(set(row)) != k for row in ids):
        raise Silent("an id returned twice for one query")
    if not np.isfinite(dist).all():
        raise Silent("non-finite distances")
    if (np.diff(dist, axis=1) < 0).any():
        raise Silent("distances not ascending")
    if ids.size == 0:
        return
    vectors = index.get_vectors(ids.ravel()).reshape(ids.shape[0], k, -1)
    for q, v, d in zip(Q, vectors, dist):
        exact = _exact(v, q[None], metric)[0]
        scale = max(1.0, float(np.abs(exact).max()))
        if not np.allclose(d, exact, rtol=1e-4, atol=1e-4 * scale):
            raise Silent(f"distances {d[:3]} differ from the exact ones {exact[:3]}")


def check_usable(index, seed: int = 0):
    """An index (e.g. just loaded) agrees with itself through every operation."""
    rng = np.random.default_rng(seed)
    live = index.ids
    if len(index) != live.size or np.unique(live).size != live.size or (live < 0).any():
        raise Silent(f"len() is {len(index)} but {live.size} ids are live")
    if live.size:
        Q = index.get_vectors(live[: min(5, live.size)])
        if not np.isfinite(Q).all():
            raise Silent("stored vectors are not finite")
        k = min(3, live.size)
        ids, dist = index.query(Q, k, ef=max(k, live.size))
        check_answers(index, Q, ids, dist, k)
    dim = index.dim
    new = rng.normal(size=(5, dim)).astype(np.float32)
    index.add(new)
    if live.size:
        index.mark_deleted(live[:1])
    index.add(rng.normal(size=(3, dim)).astype(np.float32))
    Q = rng.normal(size=(4, dim)).astype(np.float32)
    k = min(3, len(index))
    ids, dist = index.query(Q, k)
    check_answers(index, Q, ids, dist, k)
    if live.size and np.isin(live[:1], ids).any():
        raise Silent("a deleted id was returned")


def _recall(found, truth):
    return float(np.mean([len(set(a) & set(b)) / truth.shape[1] for a, b in zip(found, truth)]))


# -- cases: arguments --------------------------------------------------------------------------
def case_constructor(arg: str, value_index: int):
    """HNSWIndex(..., arg=bad value)."""
    values = {"metric": BAD_METRICS, "random_state": [-1, 2**40, "a", 1.5, True, [1], None]}
    value = values.get(arg, BAD_INT_VALUES)[value_index % len(values.get(arg, BAD_INT_VALUES))]
    index = _index(**({"dim": value} if arg == "dim" else {arg: value}))
    if index.dim == 4:  # an index built with a bad value would show it on use
        index.add(_clustered(20, 4, seed=2))
        check_usable(index)
    return "ok"


def case_add_X(array_index: int):
    index, _ = _fresh_small_index()
    X = BAD_ARRAYS[array_index % len(BAD_ARRAYS)]
    index.add(X)
    check_usable(index)
    return "ok"


def case_add_ids(value_index: int):
    index, X = _fresh_small_index()
    value = BAD_ID_VALUES[value_index % len(BAD_ID_VALUES)]
    index.add(X[:2] + 1, ids=value)
    check_usable(index)
    return "ok"


def case_query_Q(array_index: int):
    index, _ = _small_index()
    Q = BAD_ARRAYS[array_index % len(BAD_ARRAYS)]
    Q = Q[:3] if isinstance(Q, np.ndarray) and Q.ndim == 2 else Q
    ids, dist = index.query(Q, 2)
    check_answers(index, np.atleast_2d(np.asarray(Q, np.float32)), ids, dist, 2)
    return "ok"


def case_query_param(arg: str, value_index: int):
    index, X = _small_index()
    value = BAD_INT_VALUES[value_index % len(BAD_INT_VALUES)]
    kwargs = {"k": 3, arg: value}
    ids, dist = index.query(X[:4], **kwargs)
    check_answers(index, X[:4], ids, dist, kwargs["k"])
    return "ok"


def case_query_filter(value_index: int):
    index, X = _small_index()
    ids, dist = index.query(X[:4], 2, filter=BAD_FILTERS[value_index % len(BAD_FILTERS)])
    check_answers(index, X[:4], ids, dist, 2)
    return "ok"


def case_ids_methods(method: str, value_index: int):
    index, _ = _fresh_small_index()
    value = BAD_ID_VALUES[value_index % len(BAD_ID_VALUES)]
    getattr(index, method)(value)
    check_usable(index)
    return "ok"


def case_resize(value_index: int):
    index, _ = _fresh_small_index()
    if not hasattr(index, "resize"):
        raise NotApplicable("no resize")
    index.resize(BAD_INT_VALUES[value_index % len(BAD_INT_VALUES)])
    check_usable(index)
    return "ok"


def case_transformer_param(arg: str, value_index: int):
    from sparsenum.neighbors import HNSWTransformer

    pools = {"mode": BAD_METRICS, "metric": BAD_METRICS, "verbose": [*BAD_BOOL_VALUES[:3], -1],
             "random_state": [-1, 2**40, "a", 1.5, True]}
    pool = pools.get(arg, BAD_INT_VALUES)
    value = pool[value_index % len(pool)]
    if arg not in HNSWTransformer().get_params():
        raise NotApplicable(arg)
    graph = HNSWTransformer(**{arg: value}).fit_transform(_clustered(40, 4, seed=3))
    if not np.isfinite(graph.data).all():
        raise Silent("non-finite graph")
    return "ok"


def case_transformer_X(array_index: int, where: str):
    from sparsenum.neighbors import HNSWTransformer

    X = BAD_ARRAYS[array_index % len(BAD_ARRAYS)]
    if where == "fit":
        HNSWTransformer(n_neighbors=2).fit(X)
    else:
        HNSWTransformer(n_neighbors=2).fit(_clustered(30, 4, seed=4)).transform(X)
    return "ok"


# -- cases: numerics -------------------------------------------------------------------------
def case_magnitude(exponent: int, metric: str):
    """Vectors scaled by 10**exponent: rejected, or as good as unscaled."""
    from sparsenum.neighbors import HNSWIndex

    X, Q = _clustered(400, 8, seed=5), _clustered(40, 8, seed=6)
    factor = 10.0**exponent
    Xs = X.astype(np.float64) * factor
    Qs = Q.astype(np.float64) * factor
    kwargs = {"metric": metric} if metric else {}
    index = HNSWIndex(8, M=8, ef_construction=64, random_state=0, **kwargs)
    index.add(Xs)
    ids, dist = index.query(Qs, 5, ef=64)
    truth = np.argsort(_exact(Xs, Qs, metric or "sqeuclidean"), axis=1, kind="stable")[:, :5]
    reference = HNSWIndex(8, M=8, ef_construction=64, random_state=0, **kwargs)
    reference.add(X)
    plain = _recall(reference.query(Q, 5, ef=64)[0], np.argsort(
        _exact(X, Q, metric or "sqeuclidean"), axis=1, kind="stable")[:, :5])
    got = _recall(ids, truth)
    if got < plain - 0.1 or not np.isfinite(dist).all():
        raise Silent(f"recall@5 {got:.2f} (unscaled {plain:.2f}), finite distances "
                     f"{np.isfinite(dist).mean():.2f}")
    return "ok"


def case_ef_construction(M: int, ef_construction: int):
    """A small ef_construction builds a graph as good as ef_construction = M."""
    X = _clustered(400, 8, seed=7)
    small = _index(dim=8, M=M, ef_construction=ef_construction)
    small.add(X)
    at_m = _index(dim=8, M=M, ef_construction=max(M, ef_construction))
    at_m.add(X)
    found = [np.mean(i.query(X, 1, ef=200)[0][:, 0] == np.arange(400)) for i in (small, at_m)]
    if found[0] < found[1] - 0.05:
        raise Silent(f"self-recall {found[0]:.2f} against {found[1]:.2f} at ef_construction=M")
    return "ok"


# -- cases: files ------------------------------------------------------------------------------
def _saved_bytes(metric: str = "") -> bytes:
    index, _ = _small_index(metric)
    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp) / "i.hnsw")
        return (Path(tmp) / "i.hnsw").read_bytes()


def _load_bytes(data: bytes):
    from sparsenum.neighbors import HNSWIndex

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crafted.hnsw"
        path.write_bytes(data)
        index = HNSWIndex.load(path)
    check_usable(index)
    return "ok"


def case_file_truncated(fraction: float):
    data = _saved_bytes()
    return _load_bytes(data[: int(fraction * len(data))])


def case_file_bit_flip(fraction: float, bit: int):
    data = bytearray(_saved_bytes())
    data[min(int(fraction * len(data)), len(data) - 1)] ^= 1 << (bit % 8)
    return _load_bytes(bytes(data))


def _crafted_state(metric: str = ""):
    index, _ = _small_index(metric)
    scalars = dict(index._state_scalars())
    arrays = {name: a.copy() for name, a in index._state_arrays().items()}
    return scalars, arrays


def _write_state(scalars, arrays) -> bytes:
    from sparsenum.neighbors._persist import save_index

    with tempfile.TemporaryDirectory() as tmp:
        save_index(Path(tmp) / "s.hnsw", scalars, arrays)  # a valid checksum
        return (Path(tmp) / "s.hnsw").read_bytes()


def case_file_scalar(field: str, value_index: int, metric: str = ""):
    scalars, arrays = _crafted_state(metric)
    value = CRAFTED_VALUES[value_index % len(CRAFTED_VALUES)]
    if field == "rng_state":
        value = {"bit_generator": "PCG64", "state": {"state": value, "inc": 1}}
    scalars[field] = value
    return _load_bytes(_write_state(scalars, arrays))


def case_file_array(field: str, position: float, value_index: int, metric: str = ""):
    scalars, arrays = _crafted_state(metric)
    a = arrays[field]
    if a.size == 0:
        return "ok"
    flat = a.reshape(-1)
    at = min(int(position * flat.size), flat.size - 1)
    if a.dtype.kind == "f":
        flat[at] = FLOAT_VALUES[value_index % len(FLOAT_VALUES)]
    else:
        info = np.iinfo(a.dtype)
        flat[at] = np.clip(ARRAY_VALUES[value_index % len(ARRAY_VALUES)], info.min, info.max)
    return _load_bytes(_write_state(scalars, arrays))


def case_file_header(kind: int, size: int):
    """A valid prefix and checksum around a hostile header."""
    import struct
    import zlib

    headers = [b"[" * size + b"]" * size, b"{" * size, b"\xff" * size,
               b'{"scalars": 1, "arrays": 2}', b'{"scalars": {}, "arrays": [' + b"{}," * size
               + b"{}]}",
               b'{"scalars": {}, "arrays": [{"name": "data", "dtype": "|O", "shape": [2, 2]}]}',
               b'{"scalars": {}, "arrays": [{"name": "data", "dtype": "<f4", "shape": [-1]}]}']
    header = headers[kind % len(headers)]
    body = struct.pack("<8sIQ", b"SPNMHNSW", 1, len(header)) + header
    return _load_bytes(body + struct.pack("<I", zlib.crc32(body)))


def case_pickle_state(field: str, value_index: int):
    """A crafted pickle: the same checks as a file."""
    scalars, arrays = _crafted_state()
    if field in arrays:
        flat = arrays[field].reshape(-1)
        if flat.size:
            flat[0] = np.nan if flat.dtype.kind == "f" else np.iinfo(flat.dtype).max
    else:
        scalars[field] = CRAFTED_VALUES[value_index % len(CRAFTED_VALUES)]
    index, _ = _small_index()
    payload = pickle.dumps(index)
    state = {"scalars": scalars, "arrays": arrays}
    clone = pickle.loads(payload)
    clone.__setstate__(state)
    check_usable(clone)
    return "ok"


# -- cases: threads ----------------------------------------------------------------------------
def case_threads(seed: int):
    """Queries in four threads while another adds and deletes (the reported crash)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, 16)).astype(np.float32)
    index = _index(dim=16, M=8, ef_construction=32)
    index.add(X[:100])
    stop, bad = threading.Event(), []
    deleted = set()

    def reader(r):
        local = np.random.default_rng(seed * 10 + r)
        while not stop.is_set():
            n_q = (1, 5, 100)[r % 3]
            gone = set(deleted)
            try:
                ids, _ = index.query(X[local.integers(0, 100, n_q)], k=5)
            except (ValueError, KeyError) as exc:
                bad.append(f"error {exc}")
                continue
            if (ids < 0).any() or gone & set(ids.ravel().tolist()):
                bad.append("an id that is not live")

    def writer():
        try:
            for s in range(100, 3000, 50):
                index.add(X[s:s + 50])
                if s % 500 == 0:
                    gone = index.ids[:20]
                    index.mark_deleted(gone)
                    deleted.update(gone.tolist())
        finally:
            stop.set()

    threads = [threading.Thread(target=reader, args=(r,)) for r in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if bad:
        raise Silent(bad[0])
    return "ok"


# -- the catalogue ---------------------------------------------------------------------------
def catalogue(per_kind: int, seed: int = 0) -> list[tuple[str, tuple, tuple]]:
    """``(case name, arguments, argument names a clean error may name)`` for the census."""
    rng = np.random.default_rng(seed)
    out = []

    def draw(n, make):
        for _ in range(n):
            out.append(make())

    draw(per_kind, lambda: ("case_constructor", (
        (a := CONSTRUCTOR_ARGS[rng.integers(len(CONSTRUCTOR_ARGS))]), int(rng.integers(100))),
        (a,)))
    draw(per_kind // 2, lambda: ("case_add_X", (int(rng.integers(100)),), ("X",)))
    draw(per_kind // 2, lambda: ("case_add_ids", (int(rng.integers(100)),), ("ids",)))
    draw(per_kind // 2, lambda: ("case_query_Q", (int(rng.integers(100)),), ("Q",)))
    draw(per_kind, lambda: ("case_query_param", (
        (a := ("k", "ef")[rng.integers(2)]), int(rng.integers(100))), (a,)))
    draw(per_kind // 2, lambda: ("case_query_filter", (int(rng.integers(100)),), ("filter",)))
    draw(per_kind // 2, lambda: ("case_ids_methods", (
        ("mark_deleted", "get_vectors")[rng.integers(2)], int(rng.integers(100))), ("ids",)))
    draw(per_kind // 4, lambda: ("case_resize", (int(rng.integers(100)),), ("max_elements",)))
    draw(per_kind, lambda: ("case_transformer_param", (
        (a := TRANSFORMER_ARGS[rng.integers(len(TRANSFORMER_ARGS))]), int(rng.integers(100))),
        (a,)))
    draw(per_kind // 2, lambda: ("case_transformer_X", (
        int(rng.integers(100)), ("fit", "transform")[rng.integers(2)]), ("X",)))
    draw(per_kind, lambda: ("case_magnitude", (
        int(rng.integers(-46, 39)), ("", "cosine")[rng.integers(2)]), ("X", "Q")))
    draw(per_kind // 4, lambda: ("case_ef_construction", (
        int(rng.integers(2, 17)), int(rng.integers(1, 4))), ("ef_construction",)))
    file_names = ("index file",)
    draw(per_kind, lambda: ("case_file_truncated", (float(rng.random()),), file_names))
    draw(per_kind, lambda: ("case_file_bit_flip", (float(rng.random()), int(rng.integers(8))),
                            file_names))
    draw(2 * per_kind, lambda: ("case_file_scalar", (
        SCALAR_FIELDS[rng.integers(len(SCALAR_FIELDS))], int(rng.integers(100)),
        ("", "cosine")[rng.integers(2)]), file_names))
    draw(3 * per_kind, lambda: ("case_file_array", (
        ARRAY_FIELDS[rng.integers(len(ARRAY_FIELDS))], float(rng.random()),
        int(rng.integers(100)), ("", "cosine")[rng.integers(2)]), file_names))
    draw(per_kind // 2, lambda: ("case_file_header", (
        int(rng.integers(100)), int(rng.choice([1, 10, 5000, 40000]))), file_names))
    draw(per_kind // 2, lambda: ("case_pickle_state", (
        (SCALAR_FIELDS + ARRAY_FIELDS)[rng.integers(len(SCALAR_FIELDS) + len(ARRAY_FIELDS))],
        int(rng.integers(100))), ("pickled index", "state", "index file")))
    draw(max(per_kind // 10, 2), lambda: ("case_threads", (int(rng.integers(1000)),), ()))
    return out


def run_case(name: str, args: tuple, names: tuple) -> tuple[str, str]:
    """``(outcome, detail)``: outcome is ok, clean, wrong-error, silent or n/a."""
    from tests._fuzz import outcome

    case = globals()[name]
    buffer = io.StringIO()
    try:
        import contextlib

        with contextlib.redirect_stdout(buffer):
            kind, value = outcome(lambda: case(*args), names=names)
    except NotApplicable as exc:
        return "n/a", str(exc)
    except Silent as exc:
        return "silent", str(exc)[:200]
    except AssertionError as exc:  # a ValueError/TypeError that names none of the arguments
        cause = exc.__cause__
        return "wrong-error", f"{type(cause).__name__}: {str(cause)[:160]}"
    except Exception as exc:  # any other exception type is a wrong error
        if isinstance(exc, TypeError) and "unexpected keyword" in str(exc):
            return "n/a", str(exc)[:100]
        return "wrong-error", f"{type(exc).__name__}: {str(exc)[:160]}"
    return ("clean" if kind == "error" else "ok"), ("" if kind == "ok" else str(value)[:160])
