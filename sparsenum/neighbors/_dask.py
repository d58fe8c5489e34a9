"""The Dask side of :class:`~sparsenum.neighbors.ShardedHNSWIndex`, imported only when a dask
array is added or a client is given: one shard per chunk of rows, built where the chunk lives."""

from __future__ import annotations

import dask.sizeof  # noqa: F401 (loaded for register_sizeof)
import numpy as np

from ._shard_tasks import build_shard, register_sizeof

register_sizeof()  # workers of a threaded cluster share this process and its registry


def current_client():
    """The active ``dask.distributed`` client, or None (no distributed, or no client)."""
    try:
        from dask.distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def wait_all(futures: list) -> None:
    """Wait for ``futures`` without moving their results here; re-raise the first error."""
    from dask.distributed import wait

    wait(futures)
    for future in futures:
        if future.status == "error":
            future.result()


def add_dask_shards(index, X) -> None:
    """One shard per row chunk of the dask array ``X``: built by the workers holding the chunks
    under a distributed client (the shards stay there), else computed and built here."""
    import dask

    from .sharded import _Shard

    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    client = current_client()
    if index._shards and client is not index._client:
        where = "in this process" if index._client is None else "on another Dask client"
        raise ValueError(f"X cannot be added under this Dask setting: the index's shards are "
                         f"{where}; add to it the way its first shards were added")
    sizes = [int(c) for c in X.chunks[0]]
    starts = index._next_id + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    blocks = X.to_delayed().ravel()
    chosen = [(b, int(s), n) for b, s, n in zip(blocks, starts, sizes) if n > 0]
    numbers = range(index._next_shard, index._next_shard + len(chosen))
    if client is None:
        handles = [build_shard(b.compute(), s, index._params(i))
                   for (b, s, _), i in zip(chosen, numbers)]
    else:
        # A chunk already in a worker's memory asks for its shard's build on that worker: Dask's
        # scheduler readily moves a small chunk to an idle worker, and every later query,
        # deletion and save of the shard follows it there. Loosely: if that worker is gone or
        # the scheduler steals the task to balance the load, another worker builds the shard
        # (a strict restriction would wait forever for a lost worker).
        homes = client.who_has([b.key for b, _, _ in chosen])
        handles = [client.compute(dask.delayed(build_shard, pure=False)(b, s, index._params(i)),
                                  workers=list(homes.get(b.key, ())) or None,
                                  allow_other_workers=True)
                   for (b, s, _), i in zip(chosen, numbers)]
        wait_all(handles)
    index._shards = index._shards + [_Shard(s, s + n, n, 0, h)
                                     for (_, s, n), h in zip(chosen, handles)]
    index._next_shard += len(chosen)
    index._next_id += int(sum(sizes))
    index._client = client
