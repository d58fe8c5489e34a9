"""The flat arrays of an HNSW index, their growth, and the memory they would take.

Slots ``0 .. _n_slots - 1`` have been used; a slot with ``level == -1`` is free (never used, or
released after deletion) and has label -1, no links and no upper rows. The layout of the arrays is
described in ``_graph.py``. Slot numbers are int32 (as in hnswlib), so an index holds at most
2**31 - 1 elements.
"""

from __future__ import annotations

import os

import numpy as np

from ._graph import INNER_PRODUCT, L2, Graph
from ._validation import max_norm

MAX_SLOTS = 2**31 - 1


def slot_bytes(dim: int, M: int) -> float:
    """Bytes per element: vector, scale, label, flags, level, layer-0 links, upper-layer row
    offset, the upper rows (about one per M elements) and one visited tag of a search."""
    return 4 * dim + 4 + 8 + 1 + 4 + 4 * (2 * M + 1) + 4 + 4 * (M + 1) / M + 4


def physical_memory() -> int | None:
    """Bytes of RAM of this machine, or None where the OS does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def format_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_capacity(capacity: int, dim: int, M: int, what: str) -> None:
    """Refuse a capacity that int32 slots cannot number or that exceeds the machine's memory,
    saying how much it would need. ``what`` names the user's argument and value."""
    need = capacity * slot_bytes(dim, M)
    if capacity > MAX_SLOTS:
        raise ValueError(f"{what} asks for {capacity} elements; an index holds at most "
                         f"2**31 - 1 = {MAX_SLOTS} (int32 slot numbers), and this many would "
                         f"need {format_bytes(need)} of memory")
    ram = physical_memory()
    if ram is not None and need > ram:
        raise ValueError(f"{what} asks for {capacity} elements of dim={dim} with M={M}, which "
                         f"would need {format_bytes(need)} of memory "
                         f"({slot_bytes(dim, M):.0f} bytes per element); this machine has "
                         f"{format_bytes(ram)}")


class GraphStorage:
    """The arrays of the graph and their bookkeeping (a base of HNSWIndex): allocation, growth,
    the slots of new elements, the id lookup, and the arrays' part of the saved state."""

    dim: int
    M: int
    metric: str

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
        self._max_norm = 0.0  # largest norm ever added: the scale of the index
        self._lookup = None

    @property
    def _metric_code(self) -> int:
        return L2 if self.metric in ("sqeuclidean", "euclidean") else INNER_PRODUCT

    def _graph(self) -> Graph:
        """The arrays as the kernels take them (the current ones: growth replaces them)."""
        return Graph(self._data, self._scale, self._metric_code, self._links0, self._upper,
                     self._upper_off, self._level)

    @property
    def capacity(self) -> int:
        """Number of slots currently allocated (grows automatically, see :meth:`resize`)."""
        return self._data.shape[0]

    def _grow(self, needed: int, what: str) -> None:
        """At least ``needed`` slots: doubling, unless doubling would not fit in memory."""
        old = self.capacity
        if needed <= old:
            return
        check_capacity(needed, self.dim, self.M, what)
        new = min(max(needed, 2 * old, 1024), MAX_SLOTS)
        ram = physical_memory()
        if ram is not None and new * slot_bytes(self.dim, self.M) > ram:
            new = needed
        self._set_capacity(new)

    def _set_capacity(self, new: int) -> None:
        """Reallocate every per-slot array to ``new`` slots (``new >= _n_slots``)."""
        keep = min(new, self.capacity)

        def resized(a, fill):
            out = np.full((new, *a.shape[1:]), fill, a.dtype)
            out[:keep] = a[:keep]
            return out

        self._data = resized(self._data, 0)
        self._scale = resized(self._scale, 1)
        self._labels = resized(self._labels, -1)
        self._deleted = resized(self._deleted, 0)
        self._level = resized(self._level, -1)
        self._links0 = resized(self._links0, 0)
        self._upper_off = resized(self._upper_off, -1)

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

    # -- id lookup ------------------------------------------------------------------------------
    def _live_lookup(self):
        """(ids of the live elements ascending, their slots), cached until the next change."""
        lookup = self._lookup
        if lookup is None:
            n = self._n_slots
            live = np.flatnonzero((self._level[:n] >= 0) & (self._deleted[:n] == 0))
            labels = self._labels[live]
            order = np.argsort(labels, kind="stable")
            lookup = self._lookup = (labels[order], live[order].astype(np.int64))
        return lookup

    def _find(self, ids: np.ndarray):
        """Slots of ``ids`` and a mask of which were found among the live elements."""
        labels, slots = self._live_lookup()
        if labels.size == 0:
            return np.zeros(ids.shape, np.int64), np.zeros(ids.shape, bool)
        pos = np.minimum(np.searchsorted(labels, ids), labels.size - 1)
        return slots[pos], labels[pos] == ids

    def _slots_of(self, ids: np.ndarray, name: str = "ids") -> np.ndarray:
        slots, found = self._find(ids)
        if not found.all():
            missing = ids[~found][:5].tolist()
            raise KeyError(f"{name} contains {int((~found).sum())} unknown or deleted ids, "
                           f"e.g. {missing}")
        return slots

    # -- slots of new elements ------------------------------------------------------------------
    def _claim_slots(self, n: int, what: str) -> np.ndarray:
        """Slots for ``n`` new elements: free ones first (in slot order), then fresh ones,
        growing the arrays if needed. Deleted elements must have been released before."""
        free = np.flatnonzero(self._level[: self._n_slots] < 0)
        reused = free[:n]
        n_fresh = n - reused.size
        self._grow(self._n_slots + n_fresh, what)
        fresh = np.arange(self._n_slots, self._n_slots + n_fresh)
        self._n_slots += n_fresh
        return np.concatenate([reused, fresh]).astype(np.int32)

    def _place(self, slots, levels, X, scales, ids) -> None:
        """Write the vectors, scales, ids and upper-layer rows of new elements (before their
        links are made)."""
        rows = np.where(levels > 0, levels, 0)
        first = self._reserve_upper_rows(int(rows.sum()))
        self._upper_off[slots] = np.where(levels > 0, first + np.cumsum(rows) - rows, -1)
        self._data[slots] = X
        self._scale[slots] = scales
        self._labels[slots] = ids
        self._deleted[slots] = 0

    def _mark_deleted(self, slots) -> None:
        self._deleted[slots] = 1
        self._n_live -= slots.size
        self._n_deleted += slots.size
        self._lookup = None

    # -- persistence ----------------------------------------------------------------------------
    def _state_arrays(self) -> dict:
        """The arrays that define the index, trimmed to the slots in use (views, no copies)."""
        n = self._n_slots
        return {"data": self._data[:n], "scale": self._scale[:n], "labels": self._labels[:n],
                "deleted": self._deleted[:n], "level": self._level[:n],
                "links0": self._links0[:n], "upper_off": self._upper_off[:n],
                "upper": self._upper[: self._n_upper]}

    def _state_counts(self) -> dict:
        return {"n_live": self._n_live, "n_deleted": self._n_deleted, "entry": self._entry,
                "max_level": self._max_level, "next_id": self._next_id}

    def _restore(self, arrays: dict, counts: dict) -> None:
        """Arrays and counts of :meth:`_state_arrays` and :meth:`_state_counts`, checked by
        ``_state.check_state``."""
        n = arrays["data"].shape[0]
        self._allocate(0)
        self._set_capacity(n)
        for name in ("data", "scale", "labels", "deleted", "level", "links0", "upper_off"):
            getattr(self, "_" + name)[:n] = arrays[name]
        self._upper = np.ascontiguousarray(arrays["upper"], np.int32)
        if self._upper.shape[0] == 0:
            self._upper = np.zeros((1, self.M + 1), np.int32)
        self._n_upper = arrays["upper"].shape[0]
        self._n_slots = n
        self._n_live, self._n_deleted = counts["n_live"], counts["n_deleted"]
        self._entry, self._max_level = counts["entry"], counts["max_level"]
        self._next_id = counts["next_id"]
        self._max_norm = max_norm(self._data[:n][self._level[:n] >= 0])
