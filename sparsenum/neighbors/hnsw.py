"""The HNSW index: a hierarchical navigable small-world graph over float32 vectors."""

from __future__ import annotations

import math
import os
import threading

import numpy as np

from ..utils import check_int, random_seed
from ..utils.validation import check_n_jobs
from ._insert import insert_batches
from ._locking import ReadWriteLock
from ._repair import release_deleted
from ._search import returnable, search
from ._state import IndexState
from ._storage import GraphStorage, check_capacity
from ._validation import (
    check_ids,
    check_metric,
    check_no_duplicates,
    check_scale,
    check_vectors,
    check_verbose,
)

__all__ = ["HNSWIndex"]


class HNSWIndex(GraphStorage, IndexState):
    """Approximate nearest-neighbour index: a hierarchical navigable small-world graph.

    Vectors are stored as float32 in flat arrays; insertion follows Malkov & Yashunin with the
    neighbour-selection heuristic, a batch of nodes at a time on all threads; a batch of queries
    runs in one numba call, in parallel over queries. Deleted elements are traversed but never
    returned, and their slots are reused by later additions after the links into them are
    repaired, so recall does not degrade with churn.

    Parameters
    ----------
    dim : int
        Dimension of the vectors.
    metric : {"sqeuclidean", "euclidean", "cosine", "ip"}, default="sqeuclidean"
        ``"sqeuclidean"``: squared Euclidean distance (what hnswlib and FAISS call "l2").
        ``"euclidean"``: its square root (same neighbours). ``"ip"``: ``1 - <x, q>``, which is
        not a metric (search quality depends on the norms). ``"cosine"``:
        ``1 - <x, q> / (||x|| ||q||)``; the vectors are kept as given (``get_vectors`` returns
        them unnormalised) and a zero vector is at distance 1 from everything. ``"l2"`` is a
        deprecated spelling of ``"sqeuclidean"``.
    M : int, default=16
        Links per inserted element on the upper layers (``2 M`` on layer 0), in [2, 4096].
        Larger M: better recall on hard (high intrinsic dimension) data, more memory and slower
        inserts.
    ef_construction : int, default=200
        Size of the candidate list during insertion. Larger: better graph, slower build. Values
        below ``M`` are raised to ``M`` (as hnswlib does): a candidate list shorter than the
        number of links to choose leaves the graph disconnected.
    max_elements : int, optional
        Initial capacity; the index grows (doubling) when more elements are added. A capacity
        the machine's memory cannot hold is refused with the amount it would need.
    random_state : int, RandomState instance or None, default=None
        Seeds the random levels; the same seed and the same calls give the same graph.
    n_jobs : int, optional
        Threads for insertion, queries and deletion repair (``-1``: all cores; ``None``:
        numba's setting, except that a call whose estimated work is small runs on one thread).
        The graph and the answers do not depend on it: insertion proceeds in batches of 128
        whose result does not depend on how the work is shared out.

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
    **Thread safety.** :meth:`query`, :meth:`get_vectors`, :meth:`save` and the read-only
    properties are safe to call from any number of threads at once; they run in parallel (the
    kernels release the GIL). :meth:`add`, :meth:`mark_deleted` and :meth:`resize` are safe to
    call while other threads query: the index is locked (readers-writer) so that a query sees
    it either before or after each batch of insertions, never a half-linked node, and waits for
    one batch at most (deletion repair and a rebuild, see below, are one batch). Calls that
    modify the index from several threads run one after the other. Changing the public
    attributes (``ef``, ``n_jobs``) is safe at any time; a query uses the value it read first.

    **Float32 range.** Distances are computed in float32, like the stored vectors. Vectors of
    norm above ``2**62`` (about 4.6e18) are rejected, since their squared distances would
    overflow, and so is an index whose vectors all have norms below ``2**-60`` (about 8.7e-19),
    whose squared distances would underflow into ties. Scaling every vector (and query) by one
    factor leaves the neighbours unchanged.

    **Layout.** The graph has layer-0 links in an int32 array of shape ``(capacity, 2 M + 1)``
    (column 0 is the count), upper layers in a separate array of the same format, vectors in a
    C-contiguous float32 array and ids in an int64 array: about ``4 dim + 8 M + 30`` bytes per
    element. Queries use integer visited tags and array heaps. Deleted slots are reused by the
    next ``add``: every link into a deleted element is replaced by the element's own live
    neighbours, re-pruned with the heuristic (the consolidation of FreshDiskANN), before the
    slot is overwritten; above 20% deleted, the survivors' graph is rebuilt instead.

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

    # Insertions per exclusive hold of the lock during add(): a concurrent query waits for at
    # most this many, and progress is reported after each batch. A multiple of _LINK_BATCH.
    _INSERT_BATCH = 512
    # Nodes inserted together (see _insert.py): they search the graph as it was before their
    # batch, so a larger batch gives threads more work per synchronisation and each node fewer
    # of its predecessors to find by search (it gets the batch's own by exact distances). It
    # fixes the graph: never derived from the thread count.
    _LINK_BATCH = 128
    # Above this fraction of deleted elements, the graph of the survivors is rebuilt rather than
    # repaired: local repair cannot recover the routing that many deleted nodes provided
    # (measured: half deleted, repaired, loses up to 0.1 recall@10 against a fresh build).
    _REBUILD_FRACTION = 0.2

    def __init__(self, dim, *, metric="sqeuclidean", M=16, ef_construction=200,
                 max_elements=None, random_state=None, n_jobs=None):
        self.dim = check_int(dim, "dim", low=1)
        self.metric = check_metric(metric)
        self.M = check_int(M, "M", low=2, high=4096)
        self.ef_construction = check_int(ef_construction, "ef_construction", low=1)
        max_elements = check_int(max_elements, "max_elements", low=1, allow_none=True)
        self.n_jobs = check_n_jobs(n_jobs)
        self.random_state = random_state
        self._rng = np.random.default_rng(random_seed(random_state))
        self._ef = 50
        self._init_locks()
        if max_elements is not None:
            check_capacity(max_elements, self.dim, self.M, f"max_elements={max_elements}")
        self._allocate(max_elements or 0)

    def _init_locks(self) -> None:
        self._lock = ReadWriteLock()  # shared: readers; exclusive: a writer changing arrays
        self._writer = threading.Lock()  # one modifying call at a time

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
        with self._lock.shared():
            return self._live_lookup()[0].copy()

    def _ef_build(self) -> int:
        """``ef_construction`` as used: at least M, and never above the number of slots (a
        longer candidate list cannot fill, and the search would be the same)."""
        return max(1, min(max(self.ef_construction, self.M), self._n_slots))

    # -- adding ---------------------------------------------------------------------------------
    def _draw_levels(self, n: int) -> np.ndarray:
        u = 1.0 - self._rng.random(n)  # in (0, 1]
        return np.floor(-np.log(u) / math.log(self.M)).astype(np.int32)

    def add(self, X, ids=None, *, verbose=False) -> None:
        """Insert vectors.

        Parameters
        ----------
        X : array-like of shape (n, dim) or (dim,)
            Finite vectors (stored as float32; see the float32 range in the class notes).
        ids : array-like of int of shape (n,), optional
            Nonnegative integer ids, unique and not already live in the index. Default: the
            integers following the largest id used so far. Ids of deleted elements may be
            reused.
        verbose : bool or int, default=False
            Print the progress of the insertion (a line per tenth; one line updated in place
            on a terminal).

        Raises
        ------
        ValueError
            On a wrong dimension, NaN/inf entries, vectors outside the float32 range,
            duplicated or already present ids, or a size the machine's memory cannot hold.
        """
        X = check_vectors(X, "X", self.dim)
        verbose = check_verbose(verbose)
        n = X.shape[0]
        if ids is not None:
            ids = check_ids(ids)
            if ids.shape[0] != n:
                raise ValueError(f"ids must have one id per row of X; got {ids.shape[0]} ids "
                                 f"for {n} rows")
            check_no_duplicates(ids)
        wide = X.astype(np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", wide, wide))
        batch_norm = float(norms.max()) if n else 0.0
        with self._writer:  # only this thread changes the live set until the end
            if ids is None:
                ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
            else:
                _, found = self._find(ids)
                if found.any():
                    raise ValueError(f"ids must not be live in the index already; got "
                                     f"{int(found.sum())} present, e.g. "
                                     f"{ids[found][:5].tolist()} (mark_deleted them first to "
                                     "replace them)")
            check_scale(max(self._max_norm, batch_norm), "X")
            if n == 0:
                return
            with self._lock.exclusive():
                if self._n_deleted:
                    release_deleted(self)
                slots = self._claim_slots(n, f"adding {n} rows of X")
            levels = self._draw_levels(n)
            scales = np.ones(n, np.float32)
            if self.metric == "cosine":
                scales = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1), 0)
            self._max_norm = max(self._max_norm, batch_norm)
            insert_batches(self, X, ids, slots, levels, scales.astype(np.float32), verbose)

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
        with self._writer:
            slots = self._slots_of(ids)
            with self._lock.exclusive():
                self._mark_deleted(slots)

    def resize(self, max_elements) -> None:
        """Set the capacity to ``max_elements`` slots (at least the slots in use).

        The index grows by itself; reserving the final size beforehand avoids the copies of
        doubling. Shrinking frees the memory of never-used slots.

        Raises
        ------
        ValueError
            If ``max_elements`` is below the number of slots in use or more than the machine's
            memory can hold (the message says how much it would need).
        """
        max_elements = check_int(max_elements, "max_elements", low=1)
        with self._writer:
            if max_elements < self._n_slots:
                raise ValueError(f"max_elements must be >= the {self._n_slots} slots in use "
                                 f"(live, deleted and free ones); got {max_elements}")
            check_capacity(max_elements, self.dim, self.M, f"max_elements={max_elements}")
            with self._lock.exclusive():
                self._set_capacity(max_elements)

    # -- reading --------------------------------------------------------------------------------
    def get_vectors(self, ids) -> np.ndarray:
        """The stored vectors (float32, as given, also under cosine) of live ids, in order."""
        ids = check_ids(ids)
        with self._lock.shared():
            return self._data[self._slots_of(ids)]

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
            Their distances under :attr:`metric`.

        Raises
        ------
        ValueError
            On a wrong dimension, NaN/inf entries, ``k < 1`` or ``k`` above the number of
            live (allowed) elements.
        """
        return self._query(Q, k, ef, filter, "Q")

    def _query(self, Q, k, ef, filter, name: str):
        """:meth:`query`, with errors about the vectors naming the caller's ``name``."""
        Q = check_vectors(Q, name, self.dim)
        k = check_int(k, "k", low=1)
        ef = self._ef if ef is None else check_int(ef, "ef", low=1)
        if self.metric == "cosine":
            norms = np.linalg.norm(Q.astype(np.float64), axis=1, keepdims=True)
            Q = (Q / np.where(norms > 0, norms, 1)).astype(np.float32)
        with self._lock.shared():
            skip, has_skip, n_returnable = returnable(self, filter)
            if k > n_returnable:
                what = "live elements" if filter is None else "live elements allowed by filter"
                raise ValueError(f"k must be <= the number of {what} ({n_returnable}); got {k}")
            slots, dist = search(self, Q, k, ef, skip, has_skip, n_returnable)
            ids = self._labels[slots]
        if self.metric == "euclidean":
            dist = np.sqrt(dist)
        return ids, dist

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write the index to ``path`` (versioned header, raw arrays, CRC-32 checksum).

        The arrays are streamed to the file without a copy; concurrent queries go on, and a
        concurrent :meth:`add` waits until the file is written.

        See Also
        --------
        HNSWIndex.load
        """
        from ._persist import save_index

        with self._lock.shared():
            save_index(path, self._state_scalars(), self._state_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> HNSWIndex:
        """Read an index written by :meth:`save`.

        Every field is checked against the others before the index is built (link ids and
        counts in range, levels, entry point, unique labels, metric, parameters, finite
        vectors, counts of live and deleted elements), so a damaged or crafted file cannot make
        a later query read out of bounds.

        Raises
        ------
        ValueError
            ``"corrupt or unsupported index file: <field> ..."`` if the file is not a sparsenum
            HNSW index, was written by an unsupported format version, is truncated, fails its
            checksum or holds inconsistent fields.
        """
        from ._persist import load_index

        scalars, arrays = load_index(path)
        try:
            return cls._from_state(scalars, arrays, "index file")
        except ValueError as exc:
            raise ValueError(f"{exc} ({path})") from None

