"""Partitions of the coordinates into blocks (Nutini et al. 2022, Section 3.1).

Fixed partitions split the coordinates once: ``"order"`` (contiguous), ``"random"`` (a random
permutation), ``"sort"`` (by decreasing Lipschitz constant, so a block holds similar constants —
the choice recommended with GSL) and ``"avg"`` (sorted, then dealt round-robin so every block holds
similar averages). ``"variable"`` picks any ``block_size`` coordinates afresh at each iteration;
``"forest"`` is variable too, but keeps the block's graph a forest (message passing).

Each kind is a small object (:data:`PARTITION_RULES`, keyed by the public strings) that builds
its :class:`Partition`, declares what it requires, and asks the selection rule for a block.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["FIXED_PARTITIONS", "PARTITIONS", "PARTITION_RULES", "Partition", "PartitionRule",
           "make_partition"]


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
    if not PARTITION_RULES[kind].fixed:
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


@dataclasses.dataclass(frozen=True)
class PartitionRule:
    """A kind of partition, and what it requires.

    ``choose(selection, ctx, state, iteration)`` returns ``(block, block_id)``: the sorted
    coordinates to update, and the block's index in a fixed partition (None otherwise).
    """

    name: str
    #: blocks fixed once (``Partition.blocks``) rather than chosen afresh each iteration
    fixed: bool
    #: its blocks can be forests, so message passing may apply (the driver checks each block)
    may_hold_forests: bool = False
    #: blocks grown as forests of a sparse quadratic's graph (needs coordinate scores)
    grows_forests: bool = False

    def build(self, n_coords, block_size, lipschitz, rng) -> Partition:
        return make_partition(self.name, n_coords, block_size, lipschitz, rng)

    def prepare(self, ctx) -> None:
        """Work arrays the partition needs on ``ctx`` (once per run)."""
        if self.grows_forests:
            ctx.union_find = np.arange(ctx.problem.n_coords, dtype=np.int64)
            ctx.in_block = np.zeros(ctx.problem.n_coords, dtype=np.bool_)

    def choose(self, selection, ctx, state, iteration):
        if self.fixed:
            block_id = selection.pick_fixed(ctx, state, iteration)
            return ctx.partition.blocks[block_id], block_id
        if not self.grows_forests:
            return selection.pick_variable(ctx, state, iteration), None
        scores = selection.coordinate_scores(ctx, state, ctx.problem.lipschitz)
        priority = np.argsort(-scores, kind="stable")
        priority = priority[scores[priority] > 0]
        block = ctx.problem.grow_forest_block(priority, ctx.partition.block_size,
                                              ctx.union_find, ctx.in_block)
        return np.sort(block), None


#: the partitions by their public names
PARTITION_RULES = {rule.name: rule for rule in (
    PartitionRule("order", fixed=True, may_hold_forests=True),
    PartitionRule("random", fixed=True, may_hold_forests=True),
    PartitionRule("sort", fixed=True),
    PartitionRule("avg", fixed=True),
    PartitionRule("variable", fixed=False),
    PartitionRule("forest", fixed=False, may_hold_forests=True, grows_forests=True),
)}
PARTITIONS = tuple(PARTITION_RULES)
FIXED_PARTITIONS = tuple(name for name, rule in PARTITION_RULES.items() if rule.fixed)
