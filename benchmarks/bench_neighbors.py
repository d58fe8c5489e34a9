"""HNSW benchmark, the ann-benchmarks way: recall@10 against queries per second over an ef sweep.

Datasets (float32): Gaussian clusters in 64-D, the uniform hypercube in 128-D,
and an 8-D manifold embedded non-linearly in 256-D; 100k points and 2000 queries (``--quick``:
4000 points, 200 queries and a shorter ef sweep). Exact ground truth by brute force. Solvers, all
with M=16 and ef_construction=200 where they have them: sparsenum's HNSWIndex, hnswlib, faiss
IndexHNSWFlat and pynndescent (n_neighbors=30, swept over epsilon instead of ef; with
``--quick`` only if ``--pynndescent`` is given too: its kernels are compiled again in every
process, about a minute). Builds are timed on one thread for everyone, then again on all
threads (the queries use the one-thread builds; ours builds the same graph on any number of
threads, which the two-thread rows check).

Memory, two numbers per build: ``index_mb``, the size of the index as its library serialises it
(graph and vectors; pynndescent: its pickle), and ``peak_rss_mb``, the peak resident memory
during the build above the level just before it (it includes the library's temporary buffers
and its copy of the data if it makes one). In the full run each solver builds once more in a
fresh subprocess, after a small build there (imports, compilation), which resets its peak-RSS
mark (``/proc/self/clear_refs``) and reports its peak (``VmHWM``) minus its RSS before the
build. With
``--quick`` it is measured in this process instead (psutil, sampled every 2 ms by a thread):
memory freed by earlier builds is reused, so at the quick sizes it reads near 0 and only shows
that no solver allocates much beyond its index.
Queries are timed interleaved (sweep point i of every solver, then point i + 1), each point as
the best of at least ``--repeats`` calls and more while they take under 0.1 s in all, so that
the load of a shared machine falls on every solver alike. The table reports, for each dataset
and thread setting, each solver's best QPS among the sweep points reaching recall@10 >= 0.90 /
0.95 / 0.99; ``time`` is seconds per query so that ``time / ours`` above 1 means ours is faster.

Small inputs (run first, in both modes): indexes of 10, 100 and 1000 points (32-D clusters) and
batches of 1, 10, 100 and 1000 queries, ``add`` of 10 to 1000 points and the transformer's
``fit_transform``, each with the default ``n_jobs=None`` and with ``n_jobs=1``, interleaved, as
the median of warm calls (at least 21, and more while they take under 0.2 s in all). The default
must stay within 1.2x of ``n_jobs=1``: it runs small work on one thread, from a work estimate.

Scale tables (``_neighbors_scale.py``), each on its own: ``--parallel-build N`` (the build on one
and two threads against one-by-one insertion and hnswlib, with recall at every ef;
``neighbors_parallel_build.json``) and ``--sharded N`` (ShardedHNSWIndex with 1, 2 and 4 shards
and on two-worker Dask clusters of threads and of processes beside one index;
``neighbors_sharded.json``).

Run: ``python -m benchmarks.bench_neighbors [--quick [--pynndescent]] [--threads N]
[--datasets ...] [--small-only] [--parallel-build N] [--sharded N]``.
"""

from __future__ import annotations

import gc
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks._harness import BenchmarkReport, Timing, blas_threads, parse_args, time_call

M, EF_CONSTRUCTION, K = 16, 200, 10
# up to 2048: uniform 128-D at 100k needs ef ~ 2000 for recall 0.95 with M=16 (any library)
EF_SWEEP = (10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024, 2048)
EPSILON_SWEEP = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7)
QUICK_EF_SWEEP = (10, 16, 32, 64, 128, 256)
QUICK_EPSILON_SWEEP = (0.0, 0.1, 0.2, 0.4, 0.7)
TARGETS = (0.90, 0.95, 0.99)


# -- data -------------------------------------------------------------------------------------
def clustered(n, n_queries, dim=64, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(100, dim))
    points = centers[rng.integers(0, 100, n + n_queries)] + rng.normal(size=(n + n_queries, dim))
    return points[:n].astype(np.float32), points[n:].astype(np.float32)


def uniform(n, n_queries, dim=128, seed=1):
    rng = np.random.default_rng(seed)
    points = rng.random((n + n_queries, dim), dtype=np.float32)
    return points[:n], points[n:]


def manifold(n, n_queries, dim=256, intrinsic=8, seed=2):
    rng = np.random.default_rng(seed)
    z = rng.random((n + n_queries, intrinsic))
    W = rng.normal(scale=3.0, size=(intrinsic, dim))
    b = rng.uniform(0, 2 * np.pi, dim)
    points = np.sin(z @ W + b) + 0.01 * rng.normal(size=(n + n_queries, dim))
    return points[:n].astype(np.float32), points[n:].astype(np.float32)


def ground_truth(X, Q, k=K, block=256):
    sq = (X.astype(np.float64) ** 2).sum(1)
    out = np.empty((Q.shape[0], k), np.int64)
    for s in range(0, Q.shape[0], block):
        d = sq[None, :] - 2.0 * (Q[s:s + block].astype(np.float64) @ X.T.astype(np.float64))
        part = np.argpartition(d, k, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(d, part, 1), axis=1)
        out[s:s + block] = np.take_along_axis(part, order, 1)
    return out


def recall(found, truth):
    hits = sum(np.intersect1d(a, b).size for a, b in zip(found, truth))
    return hits / truth.size


def index_mb(solver, index, tmp) -> float:
    """Size of the index as its library serialises it (the graph and the vectors), in MB."""
    path = os.path.join(tmp, "index")
    if solver.startswith("sparsenum"):
        index.save(path)
    elif solver == "hnswlib":
        index.save_index(path)
    elif solver.startswith("faiss"):
        import faiss

        faiss.write_index(index, path)
    else:
        import pickle

        with open(path, "wb") as f:
            pickle.dump(index, f)
    return os.path.getsize(path) / 2**20


class PeakRSS:
    """Peak resident memory (MB) of this process inside a ``with`` block, above its level at
    the start, sampled every 2 ms by a thread (NaN without psutil)."""

    def __enter__(self):
        try:
            import psutil
        except ImportError:  # pragma: no cover - psutil comes with the bench extras' deps
            self._process = None
            self.peak_mb = math.nan
            return self
        gc.collect()
        self._process = psutil.Process()
        self._base = self._peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.002):
            self._peak = max(self._peak, self._process.memory_info().rss)

    def __exit__(self, *exc):
        if self._process is not None:
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, self._process.memory_info().rss)
            self.peak_mb = (self._peak - self._base) / 2**20
        return False


def build_rss_in_subprocess(solver: str, X, tmp: str) -> float:
    """Peak RSS increase (MB) of building ``solver``'s index on ``X`` in a fresh process."""
    path = os.path.join(tmp, "X.npy")
    np.save(path, X)
    code = ("import sys; from benchmarks.bench_neighbors import _rss_child; "
            "_rss_child(sys.argv[1], sys.argv[2])")
    out = subprocess.run([sys.executable, "-c", code, solver, path], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def _rss_child(solver: str, path: str) -> None:
    import psutil

    X = np.load(path)
    build = SOLVERS[solver][0]
    build(X[:200])  # imports, compilation / cache loading, first allocations
    gc.collect()
    # Reset the kernel's peak-RSS mark (VmHWM, Linux >= 4.0) so that the peak of the imports
    # and of any compilation above is not counted; elsewhere fall back on ru_maxrss.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    before = psutil.Process().memory_info().rss
    build(X)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    if reset:
        with open("/proc/self/status") as f:
            peak = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))
    print(json.dumps({"peak_rss_mb": max(peak - before, 0) / 2**20}))


# -- solvers: build(X) -> state; search(state, Q, knob, threads) -> ids ------------------------
def build_ours(X, threads=1):
    from sparsenum.neighbors import HNSWIndex

    index = HNSWIndex(X.shape[1], M=M, ef_construction=EF_CONSTRUCTION, random_state=0,
                      n_jobs=threads)
    index.add(X)
    return index


def search_ours(index, Q, ef, threads):
    index.n_jobs = threads
    return index.query(Q, K, ef=ef)[0]


def build_hnswlib(X, threads=1):
    import hnswlib

    index = hnswlib.Index(space="l2", dim=X.shape[1])
    index.init_index(max_elements=X.shape[0], M=M, ef_construction=EF_CONSTRUCTION, random_seed=0)
    index.set_num_threads(threads)
    index.add_items(X)
    return index


def search_hnswlib(index, Q, ef, threads):
    index.set_ef(ef)
    index.set_num_threads(threads)
    return index.knn_query(Q, k=K)[0]


def build_faiss(X, threads=1):
    import faiss

    faiss.omp_set_num_threads(threads)
    index = faiss.IndexHNSWFlat(X.shape[1], M)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.add(X)
    return index


def search_faiss(index, Q, ef, threads):
    import faiss

    faiss.omp_set_num_threads(threads)
    index.hnsw.efSearch = ef
    return index.search(Q, K)[1]


def build_pynndescent(X, threads=1):
    import numba
    import pynndescent

    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        index = pynndescent.NNDescent(X, n_neighbors=30, random_state=0, n_jobs=threads)
        index.prepare()
    finally:
        numba.set_num_threads(previous)
    return index


def search_pynndescent(index, Q, epsilon, threads):
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        return index.query(Q, k=K, epsilon=epsilon)[0]
    finally:
        numba.set_num_threads(previous)


SOLVERS = {
    "sparsenum HNSWIndex": (build_ours, search_ours, EF_SWEEP, True),
    "hnswlib": (build_hnswlib, search_hnswlib, EF_SWEEP, False),
    "faiss IndexHNSWFlat": (build_faiss, search_faiss, EF_SWEEP, False),
    "pynndescent": (build_pynndescent, search_pynndescent, EPSILON_SWEEP, False),
}


# -- small inputs: the default n_jobs against n_jobs=1 -----------------------------------------
def _median_interleaved(calls, min_calls=21, budget=0.2):
    """Median warm time of each call, alternating between them call by call (the median, not
    the mean: on a shared machine a few calls are preempted for milliseconds)."""
    for call in calls:
        call()  # warm (compilation, caches)
    times = [[] for _ in calls]
    while len(times[0]) < min_calls or (sum(times[0]) < budget and len(times[0]) < 2000):
        for call, out in zip(calls, times):
            start = time.perf_counter()
            call()
            out.append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times]


def small_inputs(report):
    """Rows ``small: ...``: the default call against ``n_jobs=1`` on 1-1000 rows."""
    from sparsenum.neighbors import HNSWIndex, HNSWTransformer

    X, Q = clustered(1000, 1000, dim=32, seed=3)
    for n in (10, 100, 1000):
        index = HNSWIndex(32, M=M, ef_construction=100, random_state=0)
        index.add(X[:n])
        for n_q in (1, 10, 100, 1000):
            k = min(K, n)

            def call(n_jobs, n_q=n_q, k=k, index=index):
                index.n_jobs = n_jobs
                index.query(Q[:n_q], k)

            default, serial = _median_interleaved([lambda: call(None), lambda: call(1)])
            _small_rows(report, f"small: query {n_q} x {n} points", "HNSWIndex.query",
                        default, serial)
    for n in (10, 100, 1000):
        def build(n_jobs, n=n):
            HNSWIndex(32, M=M, ef_construction=100, random_state=0, n_jobs=n_jobs).add(X[:n])

        default, serial = _median_interleaved([lambda: build(None), lambda: build(1)],
                                            min_calls=7)
        _small_rows(report, f"small: add {n} points", "HNSWIndex.add", default, serial)
        if n > K:
            def fit(n_jobs, n=n):
                HNSWTransformer(n_neighbors=K, ef_construction=100, random_state=0,
                                n_jobs=n_jobs).fit_transform(X[:n])

            default, serial = _median_interleaved([lambda: fit(None), lambda: fit(1)],
                                                min_calls=7)
            _small_rows(report, f"small: fit_transform {n} points", "HNSWTransformer",
                        default, serial)


def _small_rows(report, problem, solver, default, serial):
    report.add(problem, f"{solver} (n_jobs=None)", default, ours=True,
               default_over_n_jobs_1=round(default / serial, 3))
    report.add(problem, f"{solver} (n_jobs=1)", serial)


# -- the benchmark ----------------------------------------------------------------------------
def best_qps(points, target):
    """Highest QPS among the sweep points with recall >= target (NaN if none)."""
    good = [qps for rec, qps, _ in points if rec >= target]
    return max(good) if good else math.nan


def best_time(search, args, repeats, budget=0.1, max_repeats=50):
    """Best wall time of ``search(*args)`` over at least ``repeats`` calls, and more while they
    take under ``budget`` seconds in all: the best of many short calls is the one the other jobs
    of a shared machine did not interrupt (as ann-benchmarks, best of the repeats)."""
    times = []
    while len(times) < repeats or (sum(times) < budget and len(times) < max_repeats):
        start = time.perf_counter()
        ids = search(*args)
        times.append(time.perf_counter() - start)
    return ids, min(times)


def build_all(report, name, X, solvers, rss_subprocess):
    """Build every solver's index (one thread), with its build time and memory rows."""
    indexes = {}
    for solver, (build, _, _, ours) in solvers.items():
        gc.collect()
        warm = time_call(build, X[:200], repeats=0, warmup=False)  # compilation, caches
        warm.result = None  # free the small index before measuring memory
        with PeakRSS() as rss:
            built = time_call(build, X, repeats=0, warmup=False)
        timing = Timing(warm.first_call, built.median, built.times, built.result)
        indexes[solver] = timing.result
        with tempfile.TemporaryDirectory() as tmp:
            memory = index_mb(solver, indexes[solver], tmp)
            peak = build_rss_in_subprocess(solver, X, tmp) if rss_subprocess else rss.peak_mb
        report.add(f"{name}: build, 1 thread", solver, timing, ours=ours,
                   index_mb=round(memory, 2), peak_rss_mb=round(peak, 1))
    return indexes


def build_threaded(report, name, X, solvers, threads, serial):
    """Build times on ``threads`` threads; for ours, whether the graph equals the serial one
    (it must: the insertion batches do not depend on the thread count)."""
    for solver, (build, _, _, ours) in solvers.items():
        build(X[:600], threads)  # compilation of the parallel kernels (from two batches on)
        gc.collect()
        built = time_call(build, X, threads, repeats=0, warmup=False)
        metrics = {}
        if ours:
            same = np.array_equal(built.result._links0, serial[solver]._links0)
            metrics["same_graph_as_1_thread"] = int(same)
        built.result = None
        report.add(f"{name}: build, {threads} threads", solver, built, ours=ours, **metrics)


def run_dataset(report, name, X, Q, truth, solvers, thread_settings, repeats, rss_subprocess):
    indexes = build_all(report, name, X, solvers, rss_subprocess)
    for threads in thread_settings:
        if threads > 1:
            build_threaded(report, name, X, solvers, threads, indexes)
    frontier = {}  # (threads, solver) -> [(recall, qps, knob)]
    for threads in thread_settings:
        for solver, (_, search, sweep, _) in solvers.items():
            search(indexes[solver], Q[:16], sweep[0], threads)  # compile / warm up
            frontier[threads, solver] = []
        # Interleaved: sweep point i of every solver, then point i + 1, so that the load of a
        # shared machine falls on all solvers alike.
        for i in range(max(len(sweep) for _, _, sweep, _ in solvers.values())):
            for solver, (_, search, sweep, _) in solvers.items():
                points = frontier[threads, solver]
                if i >= len(sweep) or (points and points[-1][0] >= 0.995):
                    continue  # swept, or above every target already
                ids, best = best_time(search, (indexes[solver], Q, sweep[i], threads), repeats)
                points.append((recall(ids, truth), Q.shape[0] / best, sweep[i]))
        for solver in solvers:
            points = frontier[threads, solver]
            report.add_curve(f"{name} {threads} thread{'s' * (threads > 1)}", solver,
                             [p[0] for p in points], [p[1] for p in points],
                             xlabel="recall@10", ylabel="queries per second")
    del indexes
    for threads in thread_settings:
        for target in TARGETS:
            for solver, (_, _, _, ours) in solvers.items():
                qps = best_qps(frontier[threads, solver], target)
                report.add(f"{name}: recall>={target:.2f}, {threads} thread(s)", solver,
                           1.0 / qps if qps == qps else math.nan, ours=ours,
                           qps=round(qps) if qps == qps else math.nan)


def main(argv=None) -> None:
    def extra(parser):
        parser.add_argument("--pynndescent", action="store_true",
                            help="with --quick, include pynndescent (it compiles for about a "
                                 "minute in every run)")
        parser.add_argument("--datasets", default="clustered,uniform,manifold",
                            help="comma-separated subset of clustered, uniform, manifold")
        parser.add_argument("--small-only", action="store_true",
                            help="only the small-input table (written to neighbors_small.json)")
        parser.add_argument("--parallel-build", type=int, metavar="N", default=None,
                            help="only the parallel-build table on N clustered points "
                                 "(neighbors_parallel_build.json)")
        parser.add_argument("--sharded", type=int, metavar="N", default=None,
                            help="only the sharded-index table on N clustered points "
                                 "(neighbors_sharded.json)")

    args = parse_args(__doc__.splitlines()[0], argv, extra=extra)
    if args.parallel_build or args.sharded:
        return _scale(args)
    n, n_queries = (4_000, 200) if args.quick else (100_000, 2_000)
    all_threads = args.threads or os.cpu_count()
    thread_settings = sorted({1, all_threads})
    chosen = [name.strip() for name in args.datasets.split(",") if name.strip()]
    unknown = sorted(set(chosen) - {"clustered", "uniform", "manifold"})
    if unknown:
        raise SystemExit(f"--datasets: unknown {unknown}; choose from clustered, uniform, manifold")
    # the full-size run has its own results file, so the quick table stays beside it
    name = "neighbors" if args.quick else "neighbors_full_" + "_".join(chosen)
    if args.small_only:
        name, chosen = "neighbors_small", []
    report = BenchmarkReport(name, args, notes=(
        f"M={M}, ef_construction={EF_CONSTRUCTION}, k={K}, {n} points, {n_queries} queries; "
        "time = seconds per query at the best sweep point reaching the recall target "
        "(build rows: seconds for the whole build, on one thread or on all; the one-thread "
        "rows' first-call column is a "
        "200-point build run before, which includes numba compilation or cache loading). "
        "pynndescent sweeps epsilon. index_mb: serialised index size; peak_rss_mb: peak RSS "
        "of the process during the build above its level before (psutil, sampled every 2 ms). "
        "The machine may be shared: QPS are the best of the repeats. Rows 'small: ...': median "
        "time of warm calls with the default n_jobs=None and with n_jobs=1, interleaved "
        "(default_over_n_jobs_1: their ratio, target <= 1.2)."))
    datasets = {"clustered 64-D": clustered, "uniform 128-D": uniform,
                "manifold 8-D in 256-D": manifold}
    datasets = {label: make for label, make in datasets.items() if label.split()[0] in chosen}
    with blas_threads(args.threads):
        small_inputs(report)
        for name, make in datasets.items():
            X, Q = make(n, n_queries)
            start = time.perf_counter()
            truth = ground_truth(X, Q)
            print(f"{name}: ground truth in {time.perf_counter() - start:.1f} s", flush=True)
            solvers = dict(SOLVERS)
            if args.quick and not args.pynndescent:
                solvers.pop("pynndescent")
            if args.quick:
                solvers = {solver: (build, search, QUICK_EPSILON_SWEEP
                                    if solver == "pynndescent" else QUICK_EF_SWEEP, ours)
                           for solver, (build, search, _, ours) in solvers.items()}
            run_dataset(report, name, X, Q, truth, solvers, thread_settings, args.repeats,
                        rss_subprocess=not args.quick)
    report.finish()


def _scale(args) -> None:
    """``--parallel-build N`` / ``--sharded N``: the tables of ``_neighbors_scale.py``."""
    from benchmarks import _neighbors_scale

    with blas_threads(1):
        if args.parallel_build:
            # the threading layer decides how idle threads wait at the batches' barriers
            layer = os.environ.get("NUMBA_THREADING_LAYER", "")
            report = BenchmarkReport("neighbors_parallel_build" + (layer and "_" + layer), args,
                                     notes=(
                f"M={M}, ef_construction={EF_CONSTRUCTION}, k={K}, {args.parallel_build} "
                "clustered 64-D points, 1000 queries on one thread; build rows: median of "
                f"{args.repeats} interleaved rounds (time / ours: against n_jobs=1); numba "
                f"threading layer {layer or 'default'}, OMP_WAIT_POLICY="
                f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}."))
            _neighbors_scale.parallel_build(report, args.parallel_build, args.repeats)
            report.finish()
        if args.sharded:
            report = BenchmarkReport("neighbors_sharded", args, notes=(
                f"M={M}, ef_construction={EF_CONSTRUCTION}, k=10, {args.sharded} clustered "
                "64-D points, 1000 queries; build: one timed build; query: best of 3 calls "
                "(time / ours: against the single index)."))
            _neighbors_scale.sharded(report, args.sharded)
            report.finish()


if __name__ == "__main__":
    main()
