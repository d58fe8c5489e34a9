"""The HNSW index: a hierarchical navigable small-world graph over float32 vectors."""

from __future__ import annotations

import math
import os

import numba
import numpy as np

from ..utils import check_int, check_one_of, effective_n_jobs, numba_threads, random_seed
from ..utils.validation import check_n_jobs, describe_value
from . import _kernels
from ._repair import repair_around
from ._validation import METRICS, check_ids, check_no_duplicates, check_vectors

__all__ = ["HNSWIndex"]

_NO_SKIP = np.zeros(1, np.uint8)


class HNSWIndex:
    """Approximate nearest-neighbour index: a hierarchical navigable small-world graph.

    Vectors are stored as float32 in flat arrays; insertion follows Malkov & Yashunin with the
    neighbour-selection heuristic; a batch of queries runs in one numba call, in parallel over
    queries. Deleted elements are traversed but never returned, and their slots are reused by
    later additions after the links into them are repaired, so recall does not degrade with
    churn.

    Parameters
    ----------
    dim : int
        Dimension of the vectors.
    metric : {"l2", "ip", "cosine"}, default="l2"
        ``"l2"``: squared Euclidean distance (as hnswlib and FAISS report it). ``"ip"``:
        ``1 - <x, q>``, which is not a metric (search quality depends on the norms). ``"cosine"``:
        ``1 - <x, q> / (||x|| ||q||)``; the vectors are kept as given (``get_vectors`` returns
        them unnormalised) and a zero vector is at distance 1 from everything.
    M : int, default=16
        Links per inserted element on the upper layers (``2 M`` on layer 0). Larger M: better
        recall on hard (high intrinsic dimension) data, more memory and slower inserts.
    ef_construction : int, default=200
        Size of the candidate list during insertion. Larger: better graph, slower build.
    max_elements : int, optional
        Initial capacity; the index grows (doubling) when more elements are added.
    random_state : int, RandomState instance or None, default=None
        Seeds the random levels; the same seed and the same calls give the same graph.
    n_jobs : int, optional
        Threads for queries and deletion repair (``-1``: all cores; ``None``: numba's setting).
        Insertion is serial, which keeps the graph reproducible.

    Attributes
    ----------
    ef : int
        Size of the candidate list of queries (default 50; ``query(..., ef=...)`` overrides it
        for one call). Can be set at any time.

    See Also
    --------
    HNSWTransformer : the index as a scikit-learn k-neighbours transformer.

    Notes
    -----
    The graph has layer-0 links in an int32 array of shape ``(capacity, 2 M + 1)`` (column 0 is
    the count), upper layers in a separate array of the same format, vectors in a C-contiguous
    float32 array and ids in an int64 array. Queries use integer visited tags and array heaps.
    Deleted slots are reused by the next ``add``: every link into a deleted element is replaced
    by the element's own live neighbours, re-pruned with the heuristic (the consolidation of
    FreshDiskANN), before the slot is overwritten.

    References
    ----------
    .. [1] Y. A. Malkov and D. A. Yashunin, "Efficient and robust approximate nearest neighbor
       search using Hierarchical Navigable Small World graphs", IEEE TPAMI 42(4), 2020.
    .. [2] A. Singh et al., "FreshDiskANN: A fast and accurate graph-based ANN index for
       streaming similarity search", arXiv:2105.09613, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.neighbors import HNSWIndex
    >>> X = np.random.default_rng(0).normal(size=(500, 8)).astype(np.float32)
    >>> index = HNSWIndex(8, M=8, ef_construction=64, random_state=0)
    >>> index.add(X)
    >>> ids, dist = index.query(X[:3], k=2)
    >>> ids[:, 0]
    array([0, 1, 2])
    >>> index.mark_deleted([1])
    >>> len(index), int(index.query(X[1], k=1)[0][0, 0]) != 1
    (499, True)
    """

    def __init__(self, dim, *, metric="l2", M=16, ef_construction=200, max_elements=None,
                 random_state=None, n_jobs=None):
        self.dim = check_int(dim, "dim", low=1)
        self.metric = check_one_of(metric, "metric", METRICS)
        self.M = check_int(M, "M", low=2, high=4096)
        self.ef_construction = check_int(ef_construction, "ef_construction", low=1)
        max_elements = check_int(max_elements, "max_elements", low=1, allow_none=True)
        self.n_jobs = check_n_jobs(n_jobs)
        self.random_state = random_state
        self._rng = np.random.default_rng(random_seed(random_state))
        self._ef = 50
        self._allocate(max_elements or 0)

    # -- storage --------------------------------------------------------------------------------
    def _allocate(self, capacity: int) -> None:
        self._data = np.zeros((capacity, self.dim), np.float32)
        self._scale = np.ones(capacity, np.float32)
        self._labels = np.full(capacity, -1, np.int64)
        self._deleted = np.zeros(capacity, np.uint8)
        self._level = np.full(capacity, -1, np.int32)
        self._links0 = np.zeros((capacity, 2 * self.M + 1), np.int32)
        self._upper_off = np.full(capacity, -1, np.int32)
        self._upper = np.zeros((max(capacity // self.M, 1), self.M + 1), np.int32)
        self._n_upper = 0  # rows of _upper in use
        self._n_slots = 0  # slots ever used; slots >= _n_slots are untouched
        self._n_live = 0
        self._n_deleted = 0  # marked deleted, still in the graph
        self._entry = -1
        self._max_level = -1
        self._next_id = 0
        self._lookup = None

    @property
    def capacity(self) -> int:
        """Number of slots currently allocated (grows automatically)."""
        return self._data.shape[0]

    def _grow(self, needed: int) -> None:
        old = self.capacity
        if needed <= old:
            return
        new = max(needed, 2 * old, 1024)

        def grow(a, fill):
            out = np.full((new, *a.shape[1:]), fill, a.dtype)
            out[:old] = a
            return out

        self._data = grow(self._data, 0)
        self._scale = grow(self._scale, 1)
        self._labels = grow(self._labels, -1)
        self._deleted = grow(self._deleted, 0)
        self._level = grow(self._level, -1)
        self._links0 = grow(self._links0, 0)
        self._upper_off = grow(self._upper_off, -1)

    def _reserve_upper_rows(self, n_rows: int) -> int:
        """Room for ``n_rows`` more upper-layer rows; returns the first one."""
        start = self._n_upper
        if start + n_rows > self._upper.shape[0]:
            new = max(start + n_rows, 2 * self._upper.shape[0])
            upper = np.zeros((new, self.M + 1), np.int32)
            upper[:start] = self._upper[:start]
            self._upper = upper
        self._n_upper += n_rows
        return start

    # -- parameters -----------------------------------------------------------------------------
    @property
    def ef(self) -> int:
        return self._ef

    @ef.setter
    def ef(self, value) -> None:
        self._ef = check_int(value, "ef", low=1)

    def __len__(self) -> int:
        return self._n_live

    def __repr__(self) -> str:
        return (f"HNSWIndex(dim={self.dim}, metric={self.metric!r}, M={self.M}, "
                f"ef_construction={self.ef_construction}, ef={self.ef}, n_live={len(self)}, "
                f"n_deleted={self._n_deleted})")

    @property
    def ids(self) -> np.ndarray:
        """Ids of the live (not deleted) elements, ascending."""
        return self._live_lookup()[0].copy()

    # -- id lookup ------------------------------------------------------------------------------
    def _live_lookup(self):
        if self._lookup is None:
            n = self._n_slots
            live = np.flatnonzero((self._level[:n] >= 0) & (self._deleted[:n] == 0))
            labels = self._labels[live]
            order = np.argsort(labels, kind="stable")
            self._lookup = (labels[order], live[order].astype(np.int64))
        return self._lookup

    def _find(self, ids: np.ndarray):
        """Slots of ``ids`` and a mask of which were found among the live elements."""
        labels, slots = self._live_lookup()
        if labels.size == 0:
            return np.zeros(ids.shape, np.int64), np.zeros(ids.shape, bool)
        pos = np.minimum(np.searchsorted(labels, ids), labels.size - 1)
        return slots[pos], labels[pos] == ids

    def _slots_of(self, ids, name: str = "ids") -> np.ndarray:
        ids = check_ids(ids, name)
        slots, found = self._find(ids)
        if not found.all():
            missing = ids[~found][:5].tolist()
            raise KeyError(f"{name} contains {int((~found).sum())} unknown or deleted ids, "
                           f"e.g. {missing}")
        return slots

    # -- adding ---------------------------------------------------------------------------------
    def _draw_levels(self, n: int) -> np.ndarray:
        u = 1.0 - self._rng.random(n)  # in (0, 1]
        return np.floor(-np.log(u) / math.log(self.M)).astype(np.int32)

    def add(self, X, ids=None) -> None:
        """Insert vectors.

        Parameters
        ----------
        X : array-like of shape (n, dim) or (dim,)
            Finite vectors (stored as float32).
        ids : array-like of int of shape (n,), optional
            Nonnegative integer ids, unique and not already live in the index. Default: the
            integers following the largest id used so far. Ids of deleted elements may be
            reused.

        Raises
        ------
        ValueError
            On a wrong dimension, NaN/inf entries, duplicated or already present ids.
        """
        X = check_vectors(X, "X", self.dim)
        n = X.shape[0]
        if ids is None:
            ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        else:
            ids = check_ids(ids)
            if ids.shape[0] != n:
                raise ValueError(f"ids must have one id per row of X; got {ids.shape[0]} ids "
                                 f"for {n} rows")
            check_no_duplicates(ids)
            _, found = self._find(ids)
            if found.any():
                raise ValueError(f"ids must not be live in the index already; got "
                                 f"{int(found.sum())} present, e.g. {ids[found][:5].tolist()} "
                                 "(mark_deleted them first to replace them)")
        if n == 0:
            return
        if self._n_deleted:
            self._release_deleted()
        free = np.flatnonzero(self._level[: self._n_slots] < 0)
        reused = free[:n]
        fresh = np.arange(self._n_slots, self._n_slots + n - reused.size)
        slots = np.concatenate([reused, fresh]).astype(np.int32)
        self._grow(self._n_slots + fresh.size)
        self._n_slots += fresh.size

        levels = self._draw_levels(n)
        upper_rows = np.where(levels > 0, levels, 0)
        start = self._reserve_upper_rows(int(upper_rows.sum()))
        offsets = start + np.cumsum(upper_rows) - upper_rows
        self._upper_off[slots] = np.where(levels > 0, offsets, -1)
        self._data[slots] = X
        if self.metric == "cosine":
            norms = np.linalg.norm(X.astype(np.float64), axis=1)
            self._scale[slots] = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1), 0)
        self._labels[slots] = ids
        self._deleted[slots] = 0

        visited = np.zeros(self.capacity, np.int32)
        self._entry, self._max_level, _ = _kernels.insert_batch(
            slots, levels, self._entry, self._max_level, self._data, self._scale,
            self._metric_code, self._links0, self._upper, self._upper_off, self._level, self.M,
            self.ef_construction, visited, 0)
        self._n_live += n
        self._next_id = max(self._next_id, int(ids.max()) + 1)
        self._lookup = None

    @property
    def _metric_code(self) -> int:
        return _kernels.L2 if self.metric == "l2" else _kernels.INNER_PRODUCT

    # -- deleting -------------------------------------------------------------------------------
    def mark_deleted(self, ids) -> None:
        """Mark elements deleted: still traversed by searches, never returned.

        Their slots (memory) are reused by the next :meth:`add`, after every link into them has
        been replaced by links to their live neighbours.

        Parameters
        ----------
        ids : array-like of int
            Ids of live elements (unique).

        Raises
        ------
        KeyError
            If an id is not in the index or already deleted.
        """
        ids = check_ids(ids)
        check_no_duplicates(ids)
        slots = self._slots_of(ids)
        self._deleted[slots] = 1
        self._n_live -= slots.size
        self._n_deleted += slots.size
        self._lookup = None

    # Above this fraction of deleted elements, the graph of the survivors is rebuilt rather than
    # repaired: local repair cannot recover the routing that many deleted nodes provided
    # (measured: half deleted, repaired, loses up to 0.1 recall@10 against a fresh build).
    _REBUILD_FRACTION = 0.2

    def _release_deleted(self) -> None:
        """Unlink every deleted element and free its slot (repair or rebuild, see above)."""
        n = self._n_slots
        dead = self._deleted[:n].copy()
        rebuild = self._n_deleted > self._REBUILD_FRACTION * (self._n_live + self._n_deleted)
        if not rebuild:
            with numba_threads(self.n_jobs) as n_threads:
                repair_around(dead, n, self._entry, self._max_level, self._data, self._scale,
                              self._metric_code, self._links0, self._upper, self._upper_off,
                              self._level, self.M, self.ef_construction, n_threads)
        gone = np.flatnonzero(dead)
        self._level[gone] = -1
        self._links0[gone, 0] = 0
        self._upper_off[gone] = -1
        self._labels[gone] = -1
        self._deleted[gone] = 0
        self._n_deleted = 0
        if rebuild:  # re-insert the survivors in slot order, keeping their levels
            live = np.flatnonzero(self._level[:n] >= 0).astype(np.int32)
            self._entry, self._max_level, _ = _kernels.insert_batch(
                live, self._level[live].copy(), -1, -1, self._data, self._scale,
                self._metric_code, self._links0, self._upper, self._upper_off, self._level,
                self.M, self.ef_construction, np.zeros(self.capacity, np.int32), 0)
        elif dead[self._entry]:
            levels = self._level[:n]
            if (levels >= 0).any():
                self._entry = int(np.argmax(levels))
                self._max_level = int(levels[self._entry])
            else:
                self._entry, self._max_level = -1, -1

    # -- reading --------------------------------------------------------------------------------
    def get_vectors(self, ids) -> np.ndarray:
        """The stored vectors (float32, as given, also under cosine) of live ids, in order."""
        return self._data[self._slots_of(ids)]

    def _skip_mask(self, filter):
        """uint8 per slot, 1 = not returnable (deleted, free or filtered out); and its count."""
        n = self._n_slots
        if filter is None and self._n_live == n:  # no deleted or free slot: nothing to skip
            return _NO_SKIP, False, n
        skip = (self._deleted[:n] != 0) | (self._level[:n] < 0)
        if filter is not None:
            allowed = self._allowed_slots(filter)
            skip |= ~allowed
        n_returnable = int(n - np.count_nonzero(skip))
        if not skip.any():
            return _NO_SKIP, False, n_returnable
        return skip.astype(np.uint8), True, n_returnable

    def _allowed_slots(self, filter) -> np.ndarray:
        labels = self._labels[: self._n_slots]
        arr = np.asarray(filter)
        if arr.dtype == np.bool_:
            if arr.ndim != 1:
                raise ValueError(f"filter as a boolean mask must be 1-dimensional (indexed by "
                                 f"id); got shape {arr.shape}")
            inside = (labels >= 0) & (labels < arr.shape[0])
            allowed = np.zeros(labels.shape, bool)
            allowed[inside] = arr[labels[inside]]
            return allowed
        if arr.dtype.kind not in "iu" and arr.size:
            raise TypeError(f"filter must be a boolean mask over ids or an array of allowed "
                            f"integer ids; got {describe_value(filter)}")
        allowed_ids = check_ids(arr, "filter")
        return np.isin(labels, allowed_ids) & (labels >= 0)

    def query(self, Q, k=10, *, ef=None, filter=None):
        """The ``k`` approximate nearest live elements of each query.

        Parameters
        ----------
        Q : array-like of shape (n_queries, dim) or (dim,)
            Finite query vectors.
        k : int, default=10
            Neighbours per query; at most the number of live (and allowed) elements.
        ef : int, optional
            Candidate-list size for this call (default: :attr:`ef`); ``max(ef, k)`` is used.
        filter : array-like of bool or of int, optional
            A boolean mask indexed by id (``filter[id]`` True = allowed; ids beyond its length
            are not allowed) or an array of allowed ids. Applied inside the search: excluded
            elements are traversed but never returned.

        Returns
        -------
        ids : ndarray of int64, shape (n_queries, k)
            Ids of the neighbours, nearest first.
        distances : ndarray of float32, shape (n_queries, k)
            Their distances (squared Euclidean for ``"l2"``).

        Raises
        ------
        ValueError
            On a wrong dimension, NaN/inf entries, ``k < 1`` or ``k`` above the number of
            live (allowed) elements.
        """
        Q = check_vectors(Q, "Q", self.dim)
        k = check_int(k, "k", low=1)
        ef = self._ef if ef is None else check_int(ef, "ef", low=1)
        ef = max(ef, k)
        skip, has_skip, n_returnable = self._skip_mask(filter)
        if k > n_returnable:
            what = "live elements" if filter is None else "live elements allowed by filter"
            raise ValueError(f"k must be <= the number of {what} ({n_returnable}); got {k}")
        if self.metric == "cosine":
            norms = np.linalg.norm(Q.astype(np.float64), axis=1, keepdims=True)
            Q = (Q / np.where(norms > 0, norms, 1)).astype(np.float32)
        n_q = Q.shape[0]
        out_ids = np.empty((n_q, k), np.int32)
        out_dist = np.empty((n_q, k), np.float32)
        exact = n_returnable <= ef  # the graph search would visit everything anyway
        args = (Q, k, ef, exact, self._n_slots, self._entry, self._max_level, self._data,
                self._scale, self._metric_code, self._links0, self._upper, self._upper_off,
                self._level, skip, has_skip)
        n_threads = effective_n_jobs(self.n_jobs)
        if n_threads == 1 or n_q == 1:  # serial kernel: no thread-pool launch per call
            _kernels._query_chunk(0, 1, *args, out_ids, out_dist)
            return self._labels[out_ids], out_dist
        # Up to 4 chunks of queries per thread, handed out one at a time: a thread that the OS
        # preempts does not hold up the whole batch. Each chunk zeroes its own visited tags (one
        # int32 per slot), hence at least 32 queries per extra chunk. The results do not depend
        # on the chunking.
        n_chunks = max(min(n_q, n_threads), min(n_q // 32, 4 * n_threads))
        with numba_threads(n_threads):
            previous = numba.set_parallel_chunksize(1)
            try:
                _kernels.query_batch(*args, n_chunks, out_ids, out_dist)
            finally:
                numba.set_parallel_chunksize(previous)
        return self._labels[out_ids], out_dist

    # -- persistence ----------------------------------------------------------------------------
    def _state_arrays(self) -> dict:
        """The arrays that define the index, trimmed to the slots in use (views, no copies)."""
        n = self._n_slots
        return {"data": self._data[:n], "scale": self._scale[:n], "labels": self._labels[:n],
                "deleted": self._deleted[:n], "level": self._level[:n],
                "links0": self._links0[:n], "upper_off": self._upper_off[:n],
                "upper": self._upper[: self._n_upper]}

    def _state_scalars(self) -> dict:
        return {"dim": self.dim, "metric": self.metric, "M": self.M,
                "ef_construction": self.ef_construction, "ef": self._ef, "n_jobs": self.n_jobs,
                "n_live": self._n_live, "n_deleted": self._n_deleted, "entry": self._entry,
                "max_level": self._max_level, "next_id": self._next_id,
                "rng_state": self._rng.bit_generator.state}

    @classmethod
    def _from_state(cls, scalars: dict, arrays: dict) -> HNSWIndex:
        self = cls.__new__(cls)
        self.dim, self.metric, self.M = scalars["dim"], scalars["metric"], scalars["M"]
        self.ef_construction, self._ef = scalars["ef_construction"], scalars["ef"]
        self.n_jobs, self.random_state = scalars["n_jobs"], None
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = scalars["rng_state"]
        n = arrays["data"].shape[0]
        self._allocate(0)
        self._grow(n)
        for name in ("data", "scale", "labels", "deleted", "level", "links0", "upper_off"):
            getattr(self, "_" + name)[:n] = arrays[name]
        self._upper = np.ascontiguousarray(arrays["upper"], np.int32)
        if self._upper.shape[0] == 0:
            self._upper = np.zeros((1, self.M + 1), np.int32)
        self._n_upper = arrays["upper"].shape[0]
        self._n_slots = n
        self._n_live, self._n_deleted = scalars["n_live"], scalars["n_deleted"]
        self._entry, self._max_level = scalars["entry"], scalars["max_level"]
        self._next_id = scalars["next_id"]
        return self

    def __getstate__(self):
        return {"scalars": self._state_scalars(), "arrays": self._state_arrays()}

    def __setstate__(self, state):
        restored = type(self)._from_state(state["scalars"], state["arrays"])
        self.__dict__.update(restored.__dict__)

    def save(self, path: str | os.PathLike) -> None:
        """Write the index to ``path`` (versioned header, raw arrays, CRC-32 checksum).

        See Also
        --------
        HNSWIndex.load
        """
        from ._persist import save_index

        save_index(path, self._state_scalars(), self._state_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> HNSWIndex:
        """Read an index written by :meth:`save`.

        Raises
        ------
        ValueError
            If the file is not a sparsenum HNSW index, was written by an unsupported format
            version, is truncated or fails its checksum.
        """
        from ._persist import load_index

        scalars, arrays = load_index(path)
        return cls._from_state(scalars, arrays)
