"""The state of an HNSW index (what a file or a pickle keeps): its scalars, and their validation
and that of the arrays when read back, before they become an index again.

A checksum tells damage from a good file, not a hostile or buggy writer from an honest one. The
numba kernels trust the graph (no bounds checks in the hot loops), so a state is checked field by
field, and each field against the others, before it becomes an index: anything that could make
a kernel read out of bounds, return an id that is not live, or leave the bookkeeping disagreeing
with the arrays raises ``ValueError("corrupt or unsupported <source>: <field> ...")``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..utils.validation import check_n_jobs
from ._storage import MAX_SLOTS
from ._validation import LEGACY_METRICS, MAX_NORM, METRICS

# name -> (dtype, number of dimensions), in file order
ARRAYS = {
    "data": (np.dtype(np.float32), 2),
    "scale": (np.dtype(np.float32), 1),
    "labels": (np.dtype(np.int64), 1),
    "deleted": (np.dtype(np.uint8), 1),
    "level": (np.dtype(np.int32), 1),
    "links0": (np.dtype(np.int32), 2),
    "upper_off": (np.dtype(np.int32), 1),
    "upper": (np.dtype(np.int32), 2),
}
SCALARS = ("dim", "metric", "M", "ef_construction", "ef", "n_jobs", "n_live", "n_deleted",
           "entry", "max_level", "next_id", "rng_state")
_INT64_MAX = 2**63 - 1


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, why: str) -> ValueError:
        return ValueError(f"corrupt or unsupported {self.source}: {field} {why}")

    def integer(self, scalars: dict, key: str, low: int, high: int = _INT64_MAX) -> int:
        value = scalars[key]
        if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
            raise self.fail(key, f"must be an integer; got {value!r:.60}")
        if not low <= value <= high:
            raise self.fail(key, f"must be in [{low}, {high}]; got {value}")
        return int(value)

    def require(self, ok, field: str, why: str) -> None:
        if not ok:
            raise self.fail(field, why)


def check_scalars(scalars, source: str) -> dict:
    """The header's scalars, type- and range-checked; a legacy metric name is translated."""
    c = _Checker(source)
    c.require(isinstance(scalars, dict), "scalars", f"must be a mapping; got "
                                                    f"{type(scalars).__name__}")
    missing = [key for key in SCALARS if key not in scalars]
    extra = sorted(set(scalars) - set(SCALARS))
    c.require(not missing, "scalars", f"lack {missing}")
    c.require(not extra, "scalars", f"hold unknown fields {extra}")
    out = dict(scalars)
    metric = scalars["metric"]
    c.require(isinstance(metric, str) and (metric in METRICS or metric in LEGACY_METRICS),
              "metric", f"must be one of {METRICS}; got {metric!r:.60}")
    out["metric"] = LEGACY_METRICS.get(metric, metric)
    out["dim"] = c.integer(scalars, "dim", 1)
    out["M"] = c.integer(scalars, "M", 2, 4096)
    out["ef_construction"] = c.integer(scalars, "ef_construction", 1)
    out["ef"] = c.integer(scalars, "ef", 1)
    for key in ("n_live", "n_deleted", "next_id"):
        out[key] = c.integer(scalars, key, 0)
    out["entry"] = c.integer(scalars, "entry", -1, MAX_SLOTS)
    out["max_level"] = c.integer(scalars, "max_level", -1, MAX_SLOTS)
    try:
        out["n_jobs"] = check_n_jobs(scalars["n_jobs"])
    except (TypeError, ValueError) as exc:
        raise c.fail("n_jobs", str(exc)) from None
    state = scalars["rng_state"]
    c.require(isinstance(state, dict) and state.get("bit_generator") == "PCG64", "rng_state",
              "must be the state of numpy's PCG64 generator")
    try:
        np.random.PCG64().state = state
    except (ValueError, TypeError, KeyError, OverflowError, AttributeError) as exc:
        raise c.fail("rng_state", f"is not a valid PCG64 state ({exc})") from None
    return out


def check_state(scalars: dict, arrays: dict, source: str) -> dict:
    """Check every array against the scalars and the others; returns the checked scalars."""
    c = _Checker(source)
    scalars = check_scalars(scalars, source)
    c.require(isinstance(arrays, dict) and set(arrays) == set(ARRAYS), "arrays",
              f"must be exactly {sorted(ARRAYS)}; got "
              f"{sorted(arrays) if isinstance(arrays, dict) else type(arrays).__name__}")
    for name, (dtype, ndim) in ARRAYS.items():
        a = arrays[name]
        c.require(isinstance(a, np.ndarray) and a.dtype == dtype and a.ndim == ndim, name,
                  f"must be a {ndim}-D {dtype} array; got "
                  f"{getattr(a, 'dtype', type(a).__name__)} of {getattr(a, 'ndim', '?')} dims")
    dim, M = scalars["dim"], scalars["M"]
    data, links0, upper = arrays["data"], arrays["links0"], arrays["upper"]
    n = data.shape[0]
    c.require(n <= MAX_SLOTS, "data", f"holds {n} rows, more than int32 slots can number")
    c.require(data.shape[1] == dim, "data", f"must have dim={dim} columns; got {data.shape}")
    for name in ("scale", "labels", "deleted", "level", "upper_off"):
        c.require(arrays[name].shape == (n,), name, f"must have shape ({n},) like data; got "
                                                    f"{arrays[name].shape}")
    c.require(links0.shape == (n, 2 * M + 1), "links0", f"must have shape ({n}, {2 * M + 1}) "
                                                        f"for M={M}; got {links0.shape}")
    c.require(upper.shape[1] == M + 1, "upper", f"must have {M + 1} columns for M={M}; got "
                                                f"{upper.shape}")
    c.require(bool(np.isfinite(data).all()), "data", "must be finite")
    norms = np.sqrt(np.einsum("ij,ij->i", data.astype(np.float64), data.astype(np.float64)))
    c.require(n == 0 or norms.max() <= MAX_NORM, "data", f"has vectors of norm above {MAX_NORM:g}")

    live = _check_levels(c, scalars, arrays, n)
    _check_labels(c, scalars, arrays, live)
    _check_scale(c, scalars, arrays, live, norms)
    _check_links0(c, arrays, live, M)
    _check_upper(c, arrays, M)
    return scalars


def _check_levels(c: _Checker, scalars: dict, arrays: dict, n: int) -> np.ndarray:
    level, deleted = arrays["level"], arrays["deleted"]
    c.require(n == 0 or level.min() >= -1, "level", "must be >= -1 (-1: a free slot)")
    in_graph = level >= 0
    entry, max_level = scalars["entry"], scalars["max_level"]
    if in_graph.any():
        c.require(max_level == level.max(), "max_level",
                  f"must be the highest level, {level.max()}; got {max_level}")
        c.require(0 <= entry < n and level[entry] == max_level, "entry",
                  f"must be a node on the top level {max_level}; got {entry}")
    else:
        c.require(entry == -1 and max_level == -1, "entry",
                  f"and max_level must be -1 in an empty graph; got {entry}, {max_level}")
    c.require(n == 0 or deleted.max() <= 1, "deleted", "must hold only 0 and 1")
    c.require(not (deleted.astype(bool) & ~in_graph).any(), "deleted",
              "marks free slots (level -1)")
    n_live = int(np.count_nonzero(in_graph & (deleted == 0)))
    n_deleted = int(np.count_nonzero(in_graph & (deleted == 1)))
    c.require(scalars["n_live"] == n_live, "n_live",
              f"must count the live nodes, {n_live}; got {scalars['n_live']}")
    c.require(scalars["n_deleted"] == n_deleted, "n_deleted",
              f"must count the deleted nodes, {n_deleted}; got {scalars['n_deleted']}")
    return in_graph


def _check_labels(c: _Checker, scalars: dict, arrays: dict, in_graph: np.ndarray) -> None:
    labels = arrays["labels"]
    used = labels[in_graph]
    c.require(not (labels[~in_graph] != -1).any(), "labels", "of free slots must be -1")
    if used.size:
        c.require(used.min() >= 0, "labels", f"must be nonnegative; got {used.min()}")
        c.require(np.unique(used).size == used.size, "labels", "must be unique")
        c.require(scalars["next_id"] > used.max(), "next_id",
                  f"must exceed the largest id {used.max()}; got {scalars['next_id']}")


def _check_scale(c: _Checker, scalars: dict, arrays: dict, in_graph, norms) -> None:
    scale = arrays["scale"][in_graph]
    if scalars["metric"] == "cosine":
        safe = np.where(norms[in_graph] > 0, norms[in_graph], 1.0)
        expected = np.where(norms[in_graph] > 0, 1.0 / safe, 0.0).astype(np.float32)
        ok = np.allclose(scale, expected, rtol=1e-6, atol=0)
        c.require(ok, "scale", "must hold the inverse norms of the vectors under 'cosine'")
    else:
        c.require(not (scale != 1).any(), "scale", f"must be 1 under {scalars['metric']!r}")


def _link_entries(rows: np.ndarray, limit: int, field: str, c: _Checker):
    """(row index, neighbour) of every link in adjacency rows (column 0 the count)."""
    counts = rows[:, 0]
    c.require(rows.shape[0] == 0 or (counts.min() >= 0 and counts.max() <= limit), field,
              f"link counts must be in [0, {limit}]")
    mask = np.arange(1, limit + 1)[None, :] <= counts[:, None]
    owner, _ = np.nonzero(mask)
    return owner, rows[:, 1:][mask]


def _check_links0(c: _Checker, arrays: dict, in_graph: np.ndarray, M: int) -> None:
    links0, n = arrays["links0"], in_graph.shape[0]
    owner, nb = _link_entries(links0, 2 * M, "links0", c)
    c.require(not (links0[~in_graph, 0] != 0).any(), "links0", "of free slots must be empty")
    c.require(nb.size == 0 or (nb.min() >= 0 and nb.max() < n), "links0",
              f"link ids must be in [0, {n})")
    c.require(in_graph[nb].all(), "links0", "link to free slots")
    c.require(not (nb == owner).any(), "links0", "hold self links")


def _check_upper(c: _Checker, arrays: dict, M: int) -> None:
    level, off, upper = arrays["level"], arrays["upper_off"], arrays["upper"]
    n, n_rows = level.shape[0], upper.shape[0]
    high = level > 0
    c.require(not (off[~high] != -1).any(), "upper_off",
              "must be -1 for nodes without upper layers")
    nodes = np.flatnonzero(high)
    if nodes.size == 0:
        return
    start, height = off[nodes].astype(np.int64), level[nodes].astype(np.int64)
    c.require(start.min() >= 0 and (start + height).max() <= n_rows, "upper_off",
              f"rows must lie in [0, {n_rows}) of upper")
    order = np.argsort(start, kind="stable")
    c.require(not (start[order][:-1] + height[order][:-1] > start[order][1:]).any(),
              "upper_off", "rows of two nodes overlap")
    owners = np.repeat(nodes, height)
    first = np.repeat(np.cumsum(height) - height, height)
    layers = np.arange(owners.size) - first + 1
    rows = np.repeat(start, height) + layers - 1
    which, nb = _link_entries(upper[rows], M, "upper", c)
    c.require(nb.size == 0 or (nb.min() >= 0 and nb.max() < n), "upper",
              f"link ids must be in [0, {n})")
    c.require((level[nb] >= layers[which]).all(), "upper",
              "link to nodes that are not on that layer")
    c.require(not (nb == owners[which]).any(), "upper", "hold self links")



class IndexState:
    """What a file or a pickle keeps of an index, and the index rebuilt from it (a base of
    HNSWIndex, beside ``GraphStorage``, which supplies the arrays and counts)."""

    def _state_scalars(self) -> dict:
        """The index's parameters and counts (its arrays: ``_state_arrays``)."""
        return {"dim": self.dim, "metric": self.metric, "M": self.M,
                "ef_construction": self.ef_construction, "ef": self._ef, "n_jobs": self.n_jobs,
                **self._state_counts(), "rng_state": self._rng.bit_generator.state}

    @classmethod
    def _from_state(cls, scalars: dict, arrays: dict, source: str):
        """An index from a state, checked first (``source`` names it in errors)."""
        scalars = check_state(scalars, arrays, source)
        self = cls.__new__(cls)
        self.dim, self.metric, self.M = scalars["dim"], scalars["metric"], scalars["M"]
        self.ef_construction, self._ef = scalars["ef_construction"], scalars["ef"]
        self.n_jobs, self.random_state = scalars["n_jobs"], None
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = scalars["rng_state"]
        self._init_locks()
        self._restore(arrays, scalars)
        return self

    def __getstate__(self):
        # copies: pickling runs after this returns, when a concurrent add may change the arrays
        with self._lock.shared():
            arrays = {name: a.copy() for name, a in self._state_arrays().items()}
            return {"scalars": self._state_scalars(), "arrays": arrays}

    def __setstate__(self, state):
        if not isinstance(state, dict) or set(state) != {"scalars", "arrays"}:
            raise ValueError("corrupt or unsupported pickled index: state must hold 'scalars' "
                             "and 'arrays'")
        restored = type(self)._from_state(state["scalars"], state["arrays"], "pickled index")
        self.__dict__.update(restored.__dict__)
