"""An HNSW index split into shards, one :class:`HNSWIndex` each, in memory or on Dask workers."""

from __future__ import annotations

import dataclasses
import itertools
import os
import threading
from pathlib import Path

import numpy as np

from ..utils import check_int, random_seed
from ..utils.validation import check_n_jobs, describe_value
from . import _manifest, _shard_tasks
from ._shard_query import merge_top_k, split_filter
from ._validation import check_ids, check_metric, check_no_duplicates, check_vectors

__all__ = ["ShardedHNSWIndex"]


@dataclasses.dataclass
class _Shard:
    start: int  # the shard holds the ids start <= id < stop
    stop: int
    n_live: int
    n_deleted: int
    handle: object  # an HNSWIndex, or a dask Future holding one on a worker


class ShardedHNSWIndex:
    """Approximate nearest neighbours over shards: one :class:`HNSWIndex` per block of rows.

    The pattern of distributed vector search: each shard is an independent HNSW graph over a
    block of the vectors, a query goes to every shard, and the per-shard ``k`` nearest are
    merged into the global ``k`` nearest. Give :meth:`add` a ``dask.array`` chunked by rows and
    each chunk's index is built on the Dask worker that holds the chunk and stays there (with a
    ``dask.distributed`` client; without one, the chunks are computed and indexed in this
    process); give it a NumPy array and ``n_shards`` and the shards are built here, one after
    the other, each on ``n_jobs`` threads.

    Ids are row numbers: the rows of the first :meth:`add` get ``0 .. n - 1``, those of the
    next one continue from there, so every shard holds a contiguous range of ids and a
    deletion goes to one shard without a lookup table.

    Parameters
    ----------
    dim : int
        Dimension of the vectors.
    metric : {"sqeuclidean", "euclidean", "cosine", "ip"}, default="sqeuclidean"
        As for :class:`HNSWIndex`.
    M : int, default=16
        Links per element in every shard (``2 M`` on layer 0), in [2, 4096].
    ef_construction : int, default=200
        Build-time candidate list of every shard.
    random_state : int, RandomState instance or None, default=None
        Seeds the shards' random levels, shard ``i`` from its own stream: the same seed and
        the same chunking give the same shards whatever the number of workers.
    n_jobs : int, optional
        Threads of each shard's build and queries (as :class:`HNSWIndex`'s ``n_jobs``).

    Attributes
    ----------
    ef : int
        Candidate list of queries in every shard (default 50).

    See Also
    --------
    HNSWIndex : one index in one process.

    Notes
    -----
    A query costs the sum of the shards' searches (each about logarithmic in its size, so
    ``s`` shards of ``n / s`` elements cost more than one index of ``n``), plus the merge;
    with Dask the shards search in parallel on their workers. Each shard searched with the
    same ``ef`` finds its own part of the true neighbours at least as reliably as one index
    does, so the merged recall is at least about that of one index at that ``ef``.

    Thread safety: queries may run from several threads at once; :meth:`add`,
    :meth:`mark_deleted` and :meth:`save` run one at a time and a query sees the shard list
    before or after each of them.

    References
    ----------
    .. [1] Y. A. Malkov and D. A. Yashunin, "Efficient and robust approximate nearest neighbor
       search using Hierarchical Navigable Small World graphs", IEEE TPAMI 42(4), 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.neighbors import ShardedHNSWIndex
    >>> X = np.random.default_rng(0).normal(size=(600, 8)).astype(np.float32)
    >>> index = ShardedHNSWIndex(8, M=8, ef_construction=64, random_state=0)
    >>> index.add(X, n_shards=3)
    >>> index.n_shards, len(index)
    (3, 600)
    >>> ids, dist = index.query(X[[5, 250, 599]], k=2)
    >>> ids[:, 0]
    array([  5, 250, 599])
    >>> index.mark_deleted([250])
    >>> int(index.query(X[250], k=1)[0][0, 0]) != 250
    True
    >>> ids, _ = index.query(X[5], k=2, filter=np.arange(400, 600))  # only the last shard
    >>> bool((ids >= 400).all())
    True
    """

    def __init__(self, dim, *, metric="sqeuclidean", M=16, ef_construction=200,
                 random_state=None, n_jobs=None):
        self.dim = check_int(dim, "dim", low=1)
        self.metric = check_metric(metric)
        self.M = check_int(M, "M", low=2, high=4096)
        self.ef_construction = check_int(ef_construction, "ef_construction", low=1)
        self.n_jobs = check_n_jobs(n_jobs)
        self.random_state = random_state
        self._seed = random_seed(random_state)
        self._ef = 50
        self._shards: list[_Shard] = []
        self._next_shard = 0  # shards ever built: shard i's levels come from stream i
        self._next_id = 0
        self._client = None  # the dask client holding the shards, if any
        self._writer = threading.Lock()

    # -- parameters -----------------------------------------------------------------------------
    @property
    def ef(self) -> int:
        return self._ef

    @ef.setter
    def ef(self, value) -> None:
        self._ef = check_int(value, "ef", low=1)

    @property
    def n_shards(self) -> int:
        return len(self._shards)

    @property
    def shard_sizes(self) -> np.ndarray:
        """Live elements of each shard."""
        return np.array([s.n_live for s in self._shards], np.int64)

    def __len__(self) -> int:
        return int(sum(s.n_live for s in self._shards))

    def __repr__(self) -> str:
        where = "dask" if self._client is not None else "memory"
        return (f"ShardedHNSWIndex(dim={self.dim}, metric={self.metric!r}, M={self.M}, "
                f"ef_construction={self.ef_construction}, ef={self.ef}, "
                f"n_shards={self.n_shards}, n_live={len(self)}, in {where})")

    def _params(self, number: int) -> dict:
        seed = np.random.SeedSequence(self._seed, spawn_key=(number,)).generate_state(1)[0]
        return {"dim": self.dim, "metric": self.metric, "M": self.M,
                "ef_construction": self.ef_construction, "random_state": int(seed),
                "n_jobs": self.n_jobs}

    # -- adding ---------------------------------------------------------------------------------
    def add(self, X, *, n_shards=None) -> None:
        """Add vectors as new shards, with the ids following the largest so far.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n, dim)
            A dask array: one shard per chunk of rows (chunks along the columns are merged),
            built where the chunk lives. Otherwise a finite array, split into ``n_shards``
            blocks of consecutive rows.
        n_shards : int, optional
            Number of shards for an in-memory ``X`` (default 1), at most its number of rows
            (an empty ``X`` adds nothing).
            Not allowed with a dask array, whose chunks are the shards.

        Raises
        ------
        ValueError
            On a wrong dimension, NaN/inf entries (for a dask array, when its shard is built),
            ``n_shards`` out of range, or a dask array with unknown chunk sizes.
        """
        if _is_dask_array(X):
            if n_shards is not None:
                raise ValueError("n_shards must be None for a dask array, whose chunks of "
                                 f"rows are the shards; got n_shards={n_shards!r} (rechunk "
                                 "X to change the number of shards)")
            self._add_dask(X)
            return
        X = check_vectors(X, "X", self.dim)
        n_shards = check_int(1 if n_shards is None else n_shards, "n_shards", low=1,
                             high=X.shape[0] or None)
        if X.shape[0] == 0:  # nothing to add, however it would have been split
            return
        bounds = np.linspace(0, X.shape[0], n_shards + 1).round().astype(np.int64)
        with self._writer:
            if self._client is not None:
                raise ValueError("X must be a dask array: this index's shards live on Dask "
                                 "workers; got an in-memory array")
            shards = list(self._shards)
            for lo, hi in itertools.pairwise(bounds):
                start = self._next_id + int(lo)
                index = _shard_tasks.build_shard(X[lo:hi], start, self._params(self._next_shard))
                shards.append(_Shard(start, start + int(hi - lo), int(hi - lo), 0, index))
                self._next_shard += 1
            self._next_id += X.shape[0]
            self._shards = shards

    def _add_dask(self, X) -> None:
        from ._dask import add_dask_shards

        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"X must have dim={self.dim} columns (the index dimension); got "
                             f"a dask array of shape {X.shape}")
        if any(np.isnan(c) for c in X.chunks[0]):
            raise ValueError("X must have known chunk sizes along the rows; got a dask array "
                             "with unknown ones (call X.compute_chunk_sizes() first)")
        with self._writer:
            add_dask_shards(self, X)

    # -- deleting -------------------------------------------------------------------------------
    def mark_deleted(self, ids) -> None:
        """Mark elements deleted in their shards: never returned again.

        Parameters
        ----------
        ids : array-like of int
            Ids of live elements (unique). Either all are deleted or, on an error, none.

        Raises
        ------
        KeyError
            If an id is not in the index or already deleted.
        """
        ids = check_ids(ids)
        check_no_duplicates(ids)
        with self._writer:
            shards = self._shards
            starts = np.array([s.start for s in shards], np.int64)
            owner = np.searchsorted(starts, ids, side="right") - 1
            stops = np.array([s.stop for s in shards], np.int64)
            inside = (owner >= 0) & (ids < stops[np.maximum(owner, 0)]) if shards else \
                np.zeros(ids.shape, bool)
            groups = {int(o): ids[owner == o] for o in np.unique(owner[inside])}
            missing = [ids[~inside]]
            missing += self._run(_shard_tasks.missing_ids,
                                 [(shards[o].handle, part) for o, part in groups.items()])
            missing = np.concatenate(missing)
            if missing.size:
                raise KeyError(f"ids contains {missing.size} unknown or deleted ids, e.g. "
                               f"{np.sort(missing)[:5].tolist()}")
            handles = self._run(_shard_tasks.delete_in_shard,
                                [(shards[o].handle, part) for o, part in groups.items()],
                                keep_futures=True)
            shards = list(shards)
            for (o, part), handle in zip(groups.items(), handles):
                shards[o] = dataclasses.replace(shards[o], handle=handle,
                                                n_live=shards[o].n_live - part.size,
                                                n_deleted=shards[o].n_deleted + part.size)
            self._shards = shards

    def _run(self, task, calls, keep_futures=False):
        """``task(*args)`` for each args of ``calls``: here, or on the workers holding the
        shards (results gathered, or futures if ``keep_futures``)."""
        if self._client is None:
            return [task(*args) for args in calls]
        from ._dask import wait_all

        futures = [self._client.submit(task, *args, pure=False) for args in calls]
        if keep_futures:  # the results (shards) stay on the workers
            wait_all(futures)
            return futures
        return self._client.gather(futures)

    # -- querying -------------------------------------------------------------------------------
    def query(self, Q, k=10, *, ef=None, filter=None):
        """The ``k`` approximate nearest live elements of each query, over all shards.

        Every shard returns its ``min(k, n)`` nearest of its ``n`` live (and allowed)
        elements with :meth:`HNSWIndex.query`; the lists are merged by distance (ties by id).

        Parameters
        ----------
        Q : array-like of shape (n_queries, dim) or (dim,)
            Finite query vectors.
        k : int, default=10
            Neighbours per query; at most the number of live (and allowed) elements.
        ef : int, optional
            Candidate-list size of every shard for this call (default: :attr:`ef`).
        filter : array-like of bool or of int, optional
            As for :meth:`HNSWIndex.query`, over the global ids: a boolean mask indexed by id
            (``filter[id]`` True = allowed; ids beyond its length are not allowed) or an array
            of allowed ids. Each shard receives the allowed ids of its own range; shards with
            none are not searched.

        Returns
        -------
        ids : ndarray of int64, shape (n_queries, k)
            Global ids of the neighbours, nearest first.
        distances : ndarray of float32, shape (n_queries, k)
            Their distances under :attr:`metric`.

        Raises
        ------
        ValueError
            On a wrong dimension, NaN/inf entries, ``k < 1`` or ``k`` above the number of
            live (allowed) elements, or a boolean ``filter`` that is not 1-dimensional.
        TypeError
            If ``filter`` is neither booleans nor integers.
        """
        Q = check_vectors(Q, "Q", self.dim)
        k = check_int(k, "k", low=1)
        ef = self._ef if ef is None else check_int(ef, "ef", low=1)
        shards = [s for s in self._shards if s.n_live > 0]
        if filter is None:
            allowed = [None] * len(shards)
            n_live = sum(s.n_live for s in shards)
            if k > n_live:  # known here: no need to ask the shards
                raise ValueError(f"k must be <= the number of live elements ({n_live}); got {k}")
        else:
            allowed = split_filter(filter, np.array([s.start for s in shards], np.int64),
                                   np.array([s.stop for s in shards], np.int64))
            searched = [i for i, ids in enumerate(allowed) if ids.size]
            shards, allowed = [shards[i] for i in searched], [allowed[i] for i in searched]
        parts = self._run(_shard_tasks.query_shard,
                          [(s.handle, Q, k, ef, a) for s, a in zip(shards, allowed)])
        n_returnable = sum(p[2] for p in parts)
        if k > n_returnable:
            what = "live elements" if filter is None else "live elements allowed by filter"
            raise ValueError(f"k must be <= the number of {what} ({n_returnable}); got {k}")
        return merge_top_k([p[0] for p in parts], [p[1] for p in parts], k)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> None:
        """Write one file per shard (:meth:`HNSWIndex.save`'s format) and ``manifest.json``
        into ``folder`` (created if needed). Shards on Dask workers are written by the
        workers, so ``folder`` must be on a file system they share with this process.

        See Also
        --------
        ShardedHNSWIndex.load
        """
        folder = _folder(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with self._writer:
            shards = self._shards
            names = [_manifest.shard_file(i) for i in range(len(shards))]
            self._run(_shard_tasks.save_shard,
                      [(s.handle, str(folder / name)) for s, name in zip(shards, names)])
            _manifest.write_manifest(folder, {
                "format": _manifest.FORMAT, "version": _manifest.FORMAT_VERSION,
                "dim": self.dim, "metric": self.metric, "M": self.M,
                "ef_construction": self.ef_construction, "ef": self._ef,
                "n_jobs": self.n_jobs, "seed": self._seed, "next_shard": self._next_shard,
                "next_id": self._next_id,
                "shards": [{"file": name, "start": s.start, "stop": s.stop, "n_live": s.n_live,
                            "n_deleted": s.n_deleted} for s, name in zip(shards, names)]})

    @classmethod
    def load(cls, folder: str | os.PathLike, *, client=None) -> ShardedHNSWIndex:
        """Read an index written by :meth:`save`.

        The manifest is checked field by field (types, ranges, sorted disjoint id ranges,
        plain file names), each shard file as :meth:`HNSWIndex.load` checks it, and each shard
        against its manifest entry (parameters, counts, ids inside its range).

        Parameters
        ----------
        folder : str or os.PathLike
            The folder given to :meth:`save`.
        client : dask.distributed.Client, optional
            Load the shards on this client's workers (they must see ``folder``) instead of
            into this process.

        Raises
        ------
        ValueError
            ``"corrupt or unsupported sharded index ..."`` if the manifest or a shard file is
            missing, damaged or inconsistent.
        """
        folder = _folder(folder)
        manifest = _manifest.read_manifest(folder)
        self = cls(manifest["dim"], metric=manifest["metric"], M=manifest["M"],
                   ef_construction=manifest["ef_construction"], n_jobs=manifest["n_jobs"])
        self._ef, self._seed = manifest["ef"], manifest["seed"]
        self._next_shard, self._next_id = manifest["next_shard"], manifest["next_id"]
        self._client = client
        calls = []
        for entry in manifest["shards"]:
            path = folder / entry["file"]
            if not path.is_file():
                raise ValueError(f"corrupt or unsupported sharded index: the manifest lists "
                                 f"{entry['file']}, which is not in {folder}")
            expected = {key: manifest[key] for key in ("dim", "metric", "M", "ef_construction")}
            expected.update(entry)
            calls.append((str(path), expected))
        handles = self._run(_shard_tasks.load_shard, calls, keep_futures=True)
        self._shards = [_Shard(e["start"], e["stop"], e["n_live"], e["n_deleted"], h)
                        for e, h in zip(manifest["shards"], handles)]
        return self


def _is_dask_array(X) -> bool:
    # without importing dask: the in-memory path never does
    return type(X).__module__.startswith("dask.") and type(X).__name__ == "Array"


def _folder(folder) -> Path:
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a str or os.PathLike; got {describe_value(folder)}")
    return Path(folder)
