"""Scale tables of ``bench_neighbors --scale``: the parallel build and the sharded index.

*Parallel build.* ``HNSWIndex.add`` on clustered 64-D data with ``n_jobs=1`` and ``n_jobs=2``,
hnswlib with ``num_threads=1`` and ``2`` beside it, timed interleaved (round r builds all four,
then round r + 1), each the median of the rounds; recall@10 at every ef of the sweep for our
batched build (the same graph on any thread count, which the rows check), for a one-by-one
insertion of the same data (our kernel with a batch of one node: Malkov & Yashunin's serial
Algorithm 1) and for hnswlib's builds.

*Sharded index.* ``ShardedHNSWIndex`` with 1, 2 and 4 shards from a NumPy array, and with 2
shards from a dask array on a ``LocalCluster`` of 2 single-thread workers (threads, one
process), beside one ``HNSWIndex``: build time, query time of a batch, recall@10 at a few ef.
"""

from __future__ import annotations

import os
import time

import numpy as np

SWEEP = (10, 16, 24, 32, 48, 64, 96, 128, 192, 256)
SHARD_SWEEP = (16, 32, 64, 128)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}/{five:.2f}/{fifteen:.2f}"


def _ours(X, n_jobs, link_batch=None):
    from sparsenum.neighbors import HNSWIndex

    from .bench_neighbors import EF_CONSTRUCTION, M

    index = HNSWIndex(X.shape[1], M=M, ef_construction=EF_CONSTRUCTION, random_state=0,
                      n_jobs=n_jobs)
    if link_batch is not None:
        index._LINK_BATCH = link_batch  # one node per batch: the serial Algorithm 1
    index.add(X)
    return index


def _timed(build, *args, **kwargs):
    start = time.perf_counter()
    out = build(*args, **kwargs)
    return out, time.perf_counter() - start


def parallel_build(report, n: int, rounds: int, n_queries: int = 1000) -> None:
    """Rows ``parallel build ...``: times of n_jobs=1 / 2 and hnswlib 1 / 2, and recalls."""
    from .bench_neighbors import (
        build_hnswlib,
        clustered,
        ground_truth,
        recall,
        search_hnswlib,
        search_ours,
    )

    X, Q = clustered(n, n_queries)
    truth = ground_truth(X, Q)
    for threads in (1, 2):  # compilation and caches, outside the timings
        _ours(X[:600], threads)
        build_hnswlib(X[:600], threads)
    _ours(X[:600], 1, link_batch=1)
    solvers = {
        "sparsenum HNSWIndex n_jobs=1": lambda: _ours(X, 1),
        "sparsenum HNSWIndex n_jobs=2": lambda: _ours(X, 2),
        "hnswlib num_threads=1": lambda: build_hnswlib(X, 1),
        "hnswlib num_threads=2": lambda: build_hnswlib(X, 2),
        "sparsenum one-by-one insertion (batch of 1)": lambda: _ours(X, 1, link_batch=1),
    }
    times = {name: [] for name in solvers}
    cpu = {name: [] for name in solvers}
    built = {}
    loads = [_load()]
    for _ in range(rounds):
        for name, build in solvers.items():
            cpu_start = time.process_time()
            index, seconds = _timed(build)
            cpu[name].append(time.process_time() - cpu_start)
            times[name].append(seconds)
            built.setdefault(name, index)
            loads.append(_load())
    problem = f"parallel build {n} x 64 clustered"
    ours1 = float(np.median(times["sparsenum HNSWIndex n_jobs=1"]))
    ours2 = float(np.median(times["sparsenum HNSWIndex n_jobs=2"]))
    same = np.array_equal(built["sparsenum HNSWIndex n_jobs=1"]._links0,
                          built["sparsenum HNSWIndex n_jobs=2"]._links0)
    for name, ts in times.items():
        median = float(np.median(ts))
        metrics = {"rounds": len(ts), "min_s": round(min(ts), 2), "max_s": round(max(ts), 2),
                   "cpu_s": round(float(np.median(cpu[name])), 2)}
        if name.endswith("n_jobs=2"):
            metrics.update(speedup_vs_n_jobs_1=round(ours1 / median, 3),
                           same_graph_as_n_jobs_1=int(same))
        if name.endswith("num_threads=2"):
            metrics.update(hnswlib2_over_ours2=round(median / ours2, 3))
        report.add(problem + ": build", name, median, ours=name.endswith("n_jobs=1"), **metrics)
    curves = {}
    for ef in SWEEP:
        for name, index in built.items():
            if name.startswith("sparsenum"):
                ids = search_ours(index, Q, ef, 1)
            else:
                ids = search_hnswlib(index, Q, ef, 1)
            curves.setdefault(name, []).append(recall(ids, truth))
    reference = curves["sparsenum one-by-one insertion (batch of 1)"]
    for name, values in curves.items():
        gap = max(abs(a - b) for a, b in zip(values, reference))
        report.add(problem + ": recall@10 over ef " + "/".join(map(str, SWEEP)), name, 0.0,
                   ours=name.endswith("n_jobs=1"),
                   recalls=" ".join(f"{v:.4f}" for v in values),
                   max_gap_to_one_by_one=round(gap, 4))
    report.notes += f" Parallel build: load average (1/5/15 min) during the rounds {loads}."


def sharded(report, n: int, n_queries: int = 1000) -> None:
    """Rows ``sharded ...``: build and query times against the number of shards."""
    from sparsenum.neighbors import HNSWIndex, ShardedHNSWIndex

    from .bench_neighbors import EF_CONSTRUCTION, M, clustered, ground_truth, recall

    X, Q = clustered(n, n_queries, seed=5)
    truth = ground_truth(X, Q)
    params = {"M": M, "ef_construction": EF_CONSTRUCTION, "random_state": 0}
    small = HNSWIndex(64, **params)
    small.add(X[:600])
    small.query(Q[:5], 10)
    ShardedHNSWIndex(64, **params).add(X[:600], n_shards=2)

    def single():
        index = HNSWIndex(64, n_jobs=1, **params)
        index.add(X)
        return index

    configs = {"HNSWIndex (1 index)": single}
    for shards in (1, 2, 4):
        configs[f"ShardedHNSWIndex numpy, {shards} shard(s)"] = (
            lambda s=shards: _shards_numpy(X, s, params))
    loads = [_load()]
    problem = f"sharded {n} x 64 clustered"
    for name, build in configs.items():
        index, seconds = _timed(build)
        _query_rows(report, problem, name, index, Q, truth, seconds, recall)
        loads.append(_load())
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is an optional extra
        return
    import dask.array as da

    # one thread per shard, as the single index: the two workers' builds share the two cores
    for processes, kind in ((False, "thread"), (True, "process")):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                          dashboard_address=":0") as cluster, Client(cluster):
            chunks = da.from_array(X, chunks=(-(-n // 2), 64)).persist()
            warm = ShardedHNSWIndex(64, n_jobs=1, **params)
            warm.add(chunks[:600].rechunk((300, 64)))  # load the kernels in the workers
            warm.query(Q[:5], 10)
            index, seconds = _timed(_built, ShardedHNSWIndex(64, n_jobs=1, **params), chunks)
            _query_rows(report, problem, f"ShardedHNSWIndex dask, 2 {kind} workers, 2 shards",
                        index, Q, truth, seconds, recall)
            loads.append(_load())
            del index  # its futures, before the cluster closes
    report.notes += f" Sharded: load average during the builds {loads}."


def _built(index, X, **kwargs):
    index.add(X, **kwargs)
    return index


def _shards_numpy(X, shards, params):
    from sparsenum.neighbors import ShardedHNSWIndex

    return _built(ShardedHNSWIndex(X.shape[1], n_jobs=1, **params), X, n_shards=shards)


def _query_rows(report, problem, name, index, Q, truth, build_seconds, recall):
    ours = name.startswith("HNSWIndex")
    report.add(problem + ": build", name, build_seconds, ours=ours)
    for ef in SHARD_SWEEP:
        index.query(Q[:10], 10, ef=ef)  # warm
        runs = [_timed(index.query, Q, 10, ef=ef) for _ in range(3)]
        ids = runs[0][0][0]
        report.add(f"{problem}: query {Q.shape[0]} at ef={ef}", name,
                   min(seconds for _, seconds in runs), ours=ours,
                   recall=round(recall(ids, truth), 4))
