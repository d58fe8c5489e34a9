"""
When sharding an HNSW index pays, and what it costs
===================================================

:class:`~sparsenum.neighbors.ShardedHNSWIndex` splits the vectors into ``s`` shards, one HNSW
graph each, sends every query to every shard and merges the per-shard top ``k`` lists. It is
how a collection too large for one machine is indexed: on a Dask cluster each worker builds and
searches the shards whose rows it holds. This example measures, on one machine, what a split
into ``s`` shards does to

* the **build**: the total work of building all shards, and the work of one shard, which is the
  time of the build when each shard has its own worker;
* the **queries**: all shards searched one after the other in one process, and one shard alone
  (again the time when the shards search in parallel on their own workers, before the merge
  and the network);
* the **recall** at a given ``ef``, against exact brute-force neighbours.

Everything runs in this process on one thread, so the numbers are work, not a cluster's wall
time: a real cluster adds the time to ship the queries and the results.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from sparsenum.neighbors import HNSWIndex, ShardedHNSWIndex

# %%
# Data: 16,000 points in 48 dimensions, Gaussian clusters on a 32-dimensional subspace, and 500
# queries from the same distribution. Exact neighbours by brute force (one matrix product).
rng = np.random.default_rng(0)
centers = rng.normal(scale=3.0, size=(40, 32))
basis = rng.normal(size=(32, 48)) / np.sqrt(32)


def sample(n):
    Z = centers[rng.integers(0, 40, n)] + rng.normal(size=(n, 32))
    return (Z @ basis + 0.05 * rng.normal(size=(n, 48))).astype(np.float32)


X, Q = sample(16_000), sample(500)
scores = (X.astype(np.float64) ** 2).sum(1)[None, :] - 2.0 * Q.astype(np.float64) @ X.T
exact = np.argsort(scores, axis=1)[:, :10]


def recall(ids):
    return np.mean([np.intersect1d(a, b).size / 10 for a, b in zip(ids, exact)])


def best_time(call, *args, repeats=3, **kwargs):
    """Seconds of ``call(*args, **kwargs)``, best of a few runs: the least disturbed by other
    work on the machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return min(times)


params = {"M": 12, "ef_construction": 64, "random_state": 0, "n_jobs": 1}
HNSWIndex(48, **params).add(X[:50])  # the first call loads the compiled kernels

# %%
# One index (one shard), then 2, 4 and 8 shards. For each split: the build of all shards, the
# build of one shard of ``n / s`` rows on its own (an :class:`HNSWIndex`, what each worker
# does), and the query time of both at ``ef=16``; recall and query time of the sharded index over
# a sweep of ``ef``.
efs = [8, 16, 32, 64]
splits = [1, 2, 4, 8]
rows = []
for s in splits:
    index = ShardedHNSWIndex(48, **params)
    build_all = best_time(index.add, X, n_shards=s, repeats=1)
    one, build_one = index, build_all  # s = 1: the one shard is the whole index
    if s > 1:
        one = HNSWIndex(48, **params)
        build_one = best_time(one.add, X[: len(X) // s], repeats=1)
    query_one = best_time(one.query, Q, 10, ef=16)
    sweep = [best_time(index.query, Q, 10, ef=ef) for ef in efs]
    recalls = [recall(index.query(Q, 10, ef=ef)[0]) for ef in efs]
    rows.append((s, build_all, build_one, sweep[efs.index(16)], query_one, recalls, sweep))
    print(f"{s} shard(s): build {build_all:5.2f} s (one shard {build_one:5.2f} s), "
          f"500 queries at ef=16 {1e3 * sweep[1]:5.1f} ms (one shard {1e3 * query_one:5.1f} "
          "ms), recall@10 " + " ".join(f"ef={ef}: {r:.3f}" for ef, r in zip(efs, recalls)))

# %%
# The build: the total work does not grow with ``s`` (each shard's graph is smaller, and an
# insertion costs about the logarithm of the graph's size), so with a worker per shard the
# build finishes several times sooner, and no machine holds more than ``n / s`` vectors.
# Queries go the other way: every shard is searched, and the search of ``n / s`` elements costs
# much more than ``1 / s`` of the search of ``n`` (the cost falls slowly with the size), so the
# total work grows with ``s``. With the shards on their own workers, the latency is that of one
# shard plus the merge and the network. The recall at a given ``ef`` rises with ``s``, since
# each shard returns its own ``k`` best: at equal recall the sharded index needs a smaller
# ``ef``, but in one process it still takes more time than one index (right panel).
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
s_axis = [r[0] for r in rows]
axes[0].plot(s_axis, [r[1] for r in rows], "o-", label="all shards, one process")
axes[0].plot(s_axis, [r[2] for r in rows], "s--", label="one shard (a worker each)")
axes[0].set(xlabel="number of shards s", ylabel="build time (s)", xscale="log", title="build")
axes[1].plot(s_axis, [1e3 * r[3] for r in rows], "o-", label="all shards, one process")
axes[1].plot(s_axis, [1e3 * r[4] for r in rows], "s--", label="one shard (a worker each)")
axes[1].set(xlabel="number of shards s", ylabel="500 queries at ef=16 (ms)", xscale="log",
            title="queries")
for r in rows:
    axes[2].plot([1e3 * t for t in r[6]], r[5], "o-",
                 label=f"s={r[0]}" + (" (one index)" if r[0] == 1 else ""))
axes[2].set(xlabel="500 queries, all shards in one process (ms)", ylabel="recall@10",
            xscale="log", title=f"recall against time, ef in {efs}")
for ax in axes[:2]:
    ax.set_xticks(splits, [str(s) for s in splits])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_ylim(bottom=0)
for ax in axes:
    ax.legend(fontsize=8)
fig.suptitle("16k x 48 float32, k=10, M=12, one thread")
fig.tight_layout()
plt.show()

# %%
# **When it pays.** Shard when one machine cannot hold the vectors and the graph (about
# ``4 dim + 8 M + 30`` bytes per element), or cannot build it in the time you have: ``s``
# workers build ``s`` shards at once. On one machine, one index with all its threads is the
# faster choice for queries. The split also costs a merge of ``s k`` candidates per query and,
# on a cluster, the round trip to the workers, which dominates for small batches: send queries
# in batches.
