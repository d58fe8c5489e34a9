"""A query filter of :class:`~sparsenum.neighbors.ShardedHNSWIndex`, cut into one per shard.

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
