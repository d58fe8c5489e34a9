"""What a :class:`~sparsenum.neighbors.ShardedHNSWIndex` asks of one shard: module-level
functions, so that a Dask worker can run them where the shard lives, and the in-memory path calls
the same ones."""

from __future__ import annotations

import sys

import numpy as np

from ._search import returnable
from .hnsw import HNSWIndex


def build_shard(block, start: int, params: dict) -> HNSWIndex:
    """One index over the rows ``start, start + 1, ...`` of the full array, with those ids."""
    index = HNSWIndex(**params)
    block = np.asarray(block)
    index.add(block, ids=np.arange(start, start + block.shape[0], dtype=np.int64))
    return index


def query_shard(index: HNSWIndex, Q: np.ndarray, k: int, ef: int, allowed):
    """``(ids, distances, n)``: the shard's ``min(k, n)`` nearest among its ``n`` live
    elements that ``allowed`` (sorted ids, or None for all) lets through."""
    while True:
        n = n_returnable(index, allowed)
        if n == 0:
            return np.empty((Q.shape[0], 0), np.int64), np.empty((Q.shape[0], 0), np.float32), 0
        try:
            ids, dist = index.query(Q, min(k, n), ef=ef, filter=allowed)
        except ValueError:
            if n_returnable(index, allowed) < n:  # a deletion came in between: count again
                continue
            raise
        return ids, dist, n


def n_returnable(index: HNSWIndex, allowed) -> int:
    if allowed is None:
        return len(index)
    with index._lock.shared():
        return returnable(index, allowed)[2]


def missing_ids(index: HNSWIndex, ids: np.ndarray) -> np.ndarray:
    """The ``ids`` that are not live in ``index``."""
    with index._lock.shared():
        _, found = index._find(ids)
    return ids[~found]


def delete_in_shard(index: HNSWIndex, ids: np.ndarray) -> HNSWIndex:
    index.mark_deleted(ids)
    return index


def save_shard(index: HNSWIndex, path: str) -> None:
    index.save(path)


def summary(index: HNSWIndex) -> dict:
    """What the manifest records of a shard, and what loading checks against it."""
    with index._lock.shared():
        n = index._n_slots
        labels = index._labels[:n][index._level[:n] >= 0]
        return {"dim": index.dim, "metric": index.metric, "M": index.M,
                "ef_construction": index.ef_construction, "n_live": len(index),
                "n_deleted": int(index._n_deleted),
                "min_id": int(labels.min()) if labels.size else None,
                "max_id": int(labels.max()) if labels.size else None}


def load_shard(path: str, expected: dict) -> HNSWIndex:
    """Read a shard file and check it against its manifest entry (``expected``: parameters,
    counts and the range ``[start, stop)`` its ids must lie in)."""
    index = HNSWIndex.load(path)
    found = summary(index)
    for field in ("dim", "metric", "M", "ef_construction", "n_live", "n_deleted"):
        if found[field] != expected[field]:
            raise ValueError(f"corrupt or unsupported sharded index: {path} has {field}="
                             f"{found[field]!r}, the manifest says {expected[field]!r}")
    if found["min_id"] is not None and not (
            expected["start"] <= found["min_id"] and found["max_id"] < expected["stop"]):
        raise ValueError(f"corrupt or unsupported sharded index: {path} holds ids "
                         f"{found['min_id']}..{found['max_id']}, outside its manifest range "
                         f"[{expected['start']}, {expected['stop']})")
    return index


def shard_nbytes(index: HNSWIndex) -> int:
    """Memory a shard holds: its arrays, at their allocated capacity."""
    return sys.getsizeof(index) + sum(a.nbytes for a in vars(index).values()
                                      if isinstance(a, np.ndarray))


def register_sizeof() -> None:
    """Tell Dask what a shard weighs, if Dask is loaded. Without it Dask measures an index as
    the few bytes of the Python object and its scheduler takes a shard for free to move: work
    stealing and rebalancing would ship whole graphs between workers to save a millisecond."""
    module = sys.modules.get("dask.sizeof")
    if module is not None:
        module.sizeof.register(HNSWIndex)(shard_nbytes)


register_sizeof()  # on a worker, dask is loaded before a task brings this module in
