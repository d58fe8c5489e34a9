"""Partitions of the coordinates into blocks (Nutini et al. 2022, Section 3.1).

Fixed partitions split the coordinates once: ``"order"`` (contiguous), ``"random"`` (a random
permutation), ``"sort"`` (by decreasing Lipschitz constant, so a block holds similar constants —
the choice recommended with GSL) and ``"avg"`` (sorted, then dealt round-robin so every block holds
similar averages). ``"variable"`` picks any ``block_size`` coordinates afresh at each iteration;
``"forest"`` is variable too, but keeps the block's graph a forest (message passing).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["FIXED_PARTITIONS", "PARTITIONS", "Partition", "make_partition"]

FIXED_PARTITIONS = ("order", "random", "sort", "avg")
PARTITIONS = (*FIXED_PARTITIONS, "variable", "forest")


@dataclasses.dataclass(frozen=True)
class Partition:
    """Blocks of a fixed partition (``blocks`` is None for variable blocks).

    ``order`` concatenates the blocks and ``starts`` holds each block's first position in it, so
    a per-coordinate score sums per block with ``np.add.reduceat(score[order], starts)``;
    ``owner[i]`` is the block holding coordinate ``i``.
    """

    kind: str
    block_size: int
    blocks: list[np.ndarray] | None = None
    order: np.ndarray | None = None
    starts: np.ndarray | None = None
    owner: np.ndarray | None = None

    @property
    def fixed(self) -> bool:
        return self.blocks is not None

    @property
    def n_blocks(self) -> int:
        return len(self.blocks) if self.blocks is not None else 0


def make_partition(kind, n_coords, block_size, lipschitz, rng) -> Partition:
    """Build the partition ``kind`` of ``range(n_coords)`` into blocks of ``block_size``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bcd.partitions import make_partition
    >>> p = make_partition("sort", 4, 2, np.array([1.0, 4.0, 2.0, 3.0]), None)
    >>> [b.tolist() for b in p.blocks]
    [[1, 3], [2, 0]]
    >>> avg = make_partition("avg", 4, 2, np.array([1.0, 4.0, 2.0, 3.0]), None)
    >>> [b.tolist() for b in avg.blocks]
    [[1, 2], [3, 0]]
    """
    if kind in ("variable", "forest"):
        return Partition(kind, block_size)
    if kind == "order":
        perm = np.arange(n_coords)
    elif kind == "random":
        perm = rng.permutation(n_coords)
    elif kind == "sort":
        perm = np.argsort(-lipschitz, kind="stable")
    elif kind == "avg":
        n_blocks = -(-n_coords // block_size)
        ranked = np.argsort(-lipschitz, kind="stable")
        # rank r goes to block r mod n_blocks: each block gets one coordinate per "round"
        perm = np.concatenate([ranked[b::n_blocks] for b in range(n_blocks)])
    else:  # pragma: no cover - validated by the caller
        raise ValueError(kind)
    starts = np.arange(0, n_coords, block_size)
    if kind == "avg":
        sizes = np.array([len(range(b, n_coords, -(-n_coords // block_size)))
                          for b in range(-(-n_coords // block_size))])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    blocks = np.split(perm, starts[1:])
    owner = np.empty(n_coords, dtype=np.int64)
    for b, blk in enumerate(blocks):
        owner[blk] = b
    return Partition(kind, block_size, [np.ascontiguousarray(b) for b in blocks],
                     perm, starts.astype(np.int64), owner)
