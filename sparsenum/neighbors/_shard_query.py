"""One query over the shards of a :class:`~sparsenum.neighbors.ShardedHNSWIndex`: the filter cut
into one per shard, and the shards' answers merged.

The user's filter speaks of global ids, as :meth:`HNSWIndex.query`'s does (a boolean mask indexed
by id, or an array of allowed ids). Every shard holds a contiguous range of global ids, so each
shard gets the sorted allowed ids inside its range: what travels to a worker is proportional to
what the shard may return, never to the length of a mask over all ids, and a shard with no
allowed id is not searched at all.
"""

from __future__ import annotations

import numpy as np

from ._search import allowed_slots

_NO_LABELS = np.empty(0, np.int64)


def allowed_ids(filter) -> np.ndarray:
    """The sorted, distinct ids that ``filter`` allows (errors as :meth:`HNSWIndex.query`)."""
    allowed_slots(filter, _NO_LABELS)  # the single index's checks and messages, on no slots
    arr = np.asarray(filter)
    if arr.dtype == np.bool_:
        return np.flatnonzero(arr).astype(np.int64)
    return np.unique(arr.astype(np.int64).reshape(-1))  # checked: nonnegative integers


def split_filter(filter, starts: np.ndarray, stops: np.ndarray) -> list[np.ndarray]:
    """Per shard ``[starts[i], stops[i])``, the allowed ids inside it (int64, sorted)."""
    ids = allowed_ids(filter)
    lo = np.searchsorted(ids, starts, side="left")
    hi = np.searchsorted(ids, stops, side="left")
    return [ids[a:b] for a, b in zip(lo, hi)]


def merge_top_k(ids: list, dists: list, k: int):
    """The ``k`` smallest distances per row over the column blocks ``dists`` (ties: smaller
    id first), with their ids."""
    all_ids = np.concatenate(ids, axis=1)
    all_dist = np.concatenate(dists, axis=1)
    order = np.lexsort((all_ids, all_dist), axis=1)[:, :k]
    return (np.take_along_axis(all_ids, order, 1),
            np.take_along_axis(all_dist, order, 1))
