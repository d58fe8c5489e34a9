"""Spectral sparsifiers and sparsifier-preconditioned Laplacian solves against baselines.

Graphs: Delaunay triangulation of 2^13 uniform points, 100 x 100 grid, random geometric graph
(n = 8000, r = 0.022), kNN graph of an 8000-point swiss roll (k = 10, Gaussian weights), and
pyamg's anisotropic diffusion stencil on a 96 x 96 grid (epsilon = 0.01, theta = pi / 6;
weights = the negated off-diagonal entries, positive ones dropped). For every sparsifier the
script recomputes kappa(L_G, L_H) itself (Lanczos on the grounded pencil, tol 1e-6) and the
number of PCG iterations to 1e-8 with L_H factorized as preconditioner. Baselines at the same
off-tree density 0.10: random spanning tree + uniformly random off-tree edges; maximum-weight
tree + off-tree edges sampled without replacement with probability proportional to w_e R_e
(JL sketch, eps = 0.3); Spielman-Srivastava sampling with reweighting at the same edge count.
Solvers: CG without preconditioner, pyamg smoothed aggregation as CG preconditioner, scipy's
spsolve on the grounded system. Then dyGRASS updates on the Delaunay graph: a stream of 1% of
|E| insertions (half 2-3 hops apart, half random pairs) and then 1% random deletions, each timed
against re-running sparsify on the updated graph.

The full run ends with GRASS on larger Delaunay graphs (``--scale``, default 2^16 and 2^18),
each in a fresh process: wall and CPU seconds of ``sparsify``, its kappa estimate, and the
process's peak resident memory (and the peak before the graph was built: imports, warm-up).

    python -m benchmarks.bench_graph [--quick] [--scale 16 18]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from benchmarks._harness import BenchmarkReport, blas_threads, parse_args, time_call
from sparsenum.graph import (
    SpectralSparsifier,
    effective_resistance,
    relative_condition_number,
    solve_laplacian,
    spanning_tree,
    sparsify,
)
from sparsenum.graph._cases import delaunay_graph
from sparsenum.utils import numba_threads


def grid_graph(k):
    import networkx as nx

    return nx.to_scipy_sparse_array(nx.grid_2d_graph(k, k), format="csr").astype(float)


def rgg_graph(n, r, seed=0):
    from scipy.spatial import cKDTree

    points = np.random.default_rng(seed).random((n, 2))
    pairs = cKDTree(points).query_pairs(r, output_type="ndarray")
    A = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return (A + A.T).tocsr()


def knn_swiss_roll(n, k=10, seed=0):
    from sklearn.datasets import make_swiss_roll
    from sklearn.neighbors import kneighbors_graph

    X, _ = make_swiss_roll(n, random_state=seed)
    D = kneighbors_graph(X, k, mode="distance")
    sigma = np.median(D.data)
    D.data = np.exp(-((D.data / sigma) ** 2))
    return D.maximum(D.T).tocsr()


def anisotropic(k):
    import pyamg

    stencil = pyamg.gallery.diffusion_stencil_2d(epsilon=0.01, theta=np.pi / 6, type="FD")
    A = pyamg.gallery.stencil_grid(stencil, (k, k), format="csr")
    W = -(A - sp.diags(A.diagonal()))
    W.data[W.data < 0] = 0.0
    W.eliminate_zeros()
    return W.tocsr()


def upper_edges(A):
    U = sp.triu(A, 1).tocsr()
    U.sort_indices()
    rows = np.repeat(np.arange(A.shape[0]), np.diff(U.indptr))
    return rows, U.indices, U.data


def from_mask(A, mask, weights=None):
    r, c, w = upper_edges(A)
    w = w if weights is None else weights
    H = sp.coo_matrix((w[mask], (r[mask], c[mask])), shape=A.shape)
    return (H + H.T).tocsr()


def random_tree_random_edges(A, density, seed):
    rng = np.random.default_rng(seed)
    T = spanning_tree(A, kind="random", random_state=seed)
    r, c, _ = upper_edges(A)
    in_tree = np.asarray(T[r, c]).ravel() != 0
    off = np.flatnonzero(~in_tree)
    extra = rng.choice(off, min(off.size, round(density * A.shape[0])), replace=False)
    mask = in_tree.copy()
    mask[extra] = True
    return from_mask(A, mask)


def max_tree_resistance_edges(A, density, seed):
    rng = np.random.default_rng(seed)
    T = spanning_tree(A, kind="max_weight")
    r, c, w = upper_edges(A)
    in_tree = np.asarray(T[r, c]).ravel() != 0
    R = effective_resistance(A, method="sketch", eps=0.3, random_state=seed)
    off = np.flatnonzero(~in_tree)
    p = w[off] * R[off]
    extra = rng.choice(off, min(off.size, round(density * A.shape[0])), replace=False,
                       p=p / p.sum())
    mask = in_tree.copy()
    mask[extra] = True
    return from_mask(A, mask)


def laplacian(A):
    return (sp.diags(np.asarray(A.sum(axis=1)).ravel()) - A).tocsr()


def pyamg_pcg(A, b, tol):
    import pyamg

    L = laplacian(A)[1:, 1:].tocsr()
    ml = pyamg.smoothed_aggregation_solver(L)
    residuals = []
    x = ml.solve(b[1:], tol=tol, accel="cg", residuals=residuals, maxiter=1000)
    return np.concatenate([[0.0], x]), len(residuals) - 1


def run_graph(report, name, A, density, repeats):
    n = A.shape[0]
    b = np.random.default_rng(0).standard_normal(n)
    from scipy.sparse.csgraph import connected_components

    _, labels = connected_components(A, directed=False)
    for c in np.unique(labels):
        b[labels == c] -= b[labels == c].mean()
    problem = f"{name} sparsify d={density}"
    print(f"{name}: n={n}, edges={A.nnz // 2}", flush=True)
    candidates = [
        ("grass", True, lambda: sparsify(A, offtree_density=density, random_state=0)),
        ("fegrass", False, lambda: sparsify(A, method="fegrass", offtree_density=density,
                                            random_state=0)),
        ("random tree + random edges", False,
         lambda: random_tree_random_edges(A, density, 0)),
        ("max-weight tree + w R sampled edges", False,
         lambda: max_tree_resistance_edges(A, density, 0)),
        ("Spielman-Srivastava (same edges)", False,
         lambda: sparsify(A, method="resistance", offtree_density=density, random_state=0)),
    ]
    iterations = {}
    for label, ours, make in candidates:
        timing = time_call(make, repeats=repeats)
        H = timing.result if sp.issparse(timing.result) else timing.result.sparsifier
        kappa = relative_condition_number(A, H, exact=False)
        pcg = None
        if np.isfinite(kappa):
            pcg = solve_laplacian(A, b, preconditioner=H, tol=1e-8).n_iter
        iterations[label] = pcg
        report.add(problem, label, timing, ours=ours, kappa=kappa,
                   edges_per_node=(H.nnz // 2) / n, pcg_iterations=pcg)
    solve_problem = f"{name} solve to 1e-8"
    H = sparsify(A, offtree_density=density, random_state=0).sparsifier
    t = time_call(solve_laplacian, A, b, preconditioner=H, tol=1e-8, repeats=repeats)
    report.add(solve_problem, "PCG, GRASS sparsifier (LDL^T of L_H; sparsify not timed)", t,
               n_iter=t.result.n_iter, ours=True, residual=t.result.residual_norm)
    t = time_call(solve_laplacian, A, b, tol=1e-8, max_iter=5000, repeats=repeats)
    report.add(solve_problem, "CG, no preconditioner", t, n_iter=t.result.n_iter,
               residual=t.result.residual_norm)
    L = laplacian(A)
    t = time_call(pyamg_pcg, A, b, 1e-8, repeats=repeats)
    x, its = t.result
    report.add(solve_problem, "pyamg smoothed aggregation + CG (setup timed)", t, n_iter=its,
               residual=float(np.linalg.norm(b - L @ x) / np.linalg.norm(b)))
    Lc = L[1:, 1:].tocsc()
    t = time_call(lambda: spsolve(Lc, b[1:]), repeats=repeats)
    x = np.concatenate([[0.0], t.result])
    report.add(solve_problem, "scipy spsolve (grounded, SuperLU)", t,
               residual=float(np.linalg.norm(b - L @ x) / np.linalg.norm(b)))
    return iterations


def run_density_curve(report, name, A, densities):
    for label, make in (
        ("grass", lambda d: sparsify(A, offtree_density=d, random_state=0).sparsifier),
        ("fegrass", lambda d: sparsify(A, method="fegrass", offtree_density=d,
                                       random_state=0).sparsifier),
        ("max-weight tree + w R sampling", lambda d: max_tree_resistance_edges(A, d, 0)),
    ):
        kappas = [relative_condition_number(A, make(d), exact=False) for d in densities]
        report.add_curve(f"kappa vs density ({name})", label, densities, kappas,
                         xlabel="off-tree edges / nodes", ylabel="kappa(L_G, L_H)")


def local_and_random_pairs(A, k, rng):
    n = A.shape[0]
    A3 = (A @ A @ A).tocsr()
    pairs = []
    for s in rng.integers(0, n, k // 2):
        cand = A3[s].indices
        cand = cand[(cand != s) & (np.asarray(A[s, cand].todense()).ravel() == 0)]
        pairs.append((s, rng.choice(cand)))
    while len(pairs) < k:
        a, c = rng.integers(0, n, 2)
        if a != c:
            pairs.append((a, c))
    return np.array(pairs)


def run_dynamic(report, name, A):
    rng = np.random.default_rng(0)
    k = (A.nnz // 2) // 100
    est = SpectralSparsifier(random_state=0).fit(A)
    est.insert_edges(local_and_random_pairs(A, 4, rng))  # compile the walks
    pairs = local_and_random_pairs(est.graph_, k, rng)
    t_ins = time_call(est.insert_edges, pairs, repeats=0, warmup=False)
    G1 = est.graph_
    refit = time_call(sparsify, G1, random_state=0, repeats=0, warmup=False)
    problem = f"{name} dynamic: insert {k} edges"
    report.add(problem, "SpectralSparsifier.insert_edges", t_ins, ours=True,
               kappa=est.estimate_condition_number(), offtree_density=est.update_history_
               .criterion[-1])
    report.add(problem, "sparsify on the updated graph (refit)", refit,
               kappa=refit.result.condition_number, offtree_density=refit.result.offtree_density)
    upper = sp.triu(G1, 1).tocoo()
    drop = rng.choice(upper.nnz, k, replace=False)
    t_del = time_call(est.delete_edges, np.c_[upper.row[drop], upper.col[drop]], repeats=0,
                      warmup=False)
    G2 = est.graph_
    refit = time_call(sparsify, G2, random_state=0, repeats=0, warmup=False)
    problem = f"{name} dynamic: delete {k} edges"
    report.add(problem, "SpectralSparsifier.delete_edges", t_del, ours=True,
               kappa=est.estimate_condition_number(), offtree_density=est.update_history_
               .criterion[-1])
    report.add(problem, "sparsify on the updated graph (refit)", refit,
               kappa=refit.result.condition_number, offtree_density=refit.result.offtree_density)


def _peak_rss_mb():
    """This process's peak resident memory: ``VmHWM`` (Linux; unlike ``ru_maxrss`` it does not
    carry over the parent's peak into a fresh process), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale_point(exponent, threads):
    """``sparsify`` on a Delaunay graph of ``2**exponent`` nodes in this process (run it in a
    fresh one): prints wall and CPU seconds, the kappa estimate and the peak RSS as JSON."""
    with blas_threads(threads), numba_threads(threads):
        sparsify(delaunay_graph(500, seed=1), random_state=0)  # compile / load the cache
        before = _peak_rss_mb()  # imports, warm-up
        A = delaunay_graph(2**exponent, seed=0)
        wall, cpu = time.perf_counter(), time.process_time()
        result = sparsify(A, random_state=0)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"wall": wall, "cpu": cpu, "kappa": result.condition_number,
                      "n_iter": result.n_iter,
                      "peak_rss_mb": _peak_rss_mb(),
                      "rss_before_graph_mb": before}))


def run_scale(report, exponents, threads):
    for exponent in exponents:
        code = f"from benchmarks.bench_graph import scale_point; scale_point({exponent}, {threads})"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.strip().splitlines()[-1]
        row = json.loads(out)
        print(f"Delaunay 2^{exponent}: {row}", flush=True)
        report.add(f"Delaunay 2^{exponent} sparsify d=0.1", "grass", row["wall"], ours=True,
                   n_iter=row["n_iter"], kappa=row["kappa"], cpu_seconds=row["cpu"],
                   peak_rss_mb=row["peak_rss_mb"], rss_before_graph_mb=row["rss_before_graph_mb"])


def _scale_option(parser):
    parser.add_argument("--scale", type=int, nargs="*", default=None, metavar="EXPONENT",
                        help="Delaunay 2^EXPONENT scaling points, each in a fresh process "
                             "(default: 16 and 18 in the full run, none with --quick)")


def main(argv=None):
    args = parse_args(__doc__.splitlines()[0], argv, extra=_scale_option)
    threads = args.threads or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    report = BenchmarkReport("graph", args, notes=(
        f"One BLAS and {threads} numba thread(s); load average {load:.1f} on a shared 2-core "
        "machine at the start. kappa recomputed by Lanczos on the grounded pencil (tol 1e-6) "
        "from each returned graph; PCG iterations to relative residual 1e-8 with each "
        "sparsifier factorized as preconditioner. Spielman-Srivastava at this density leaves "
        "the graph disconnected (kappa = inf). PyGSP's graph_sparsify was not run: it inverts "
        "the dense Laplacian and needs scipy.stats.itemfreq, removed from scipy."))
    repeats = 1 if args.quick else args.repeats
    graphs = [("Delaunay 2^13", lambda: delaunay_graph(2**13, seed=0)),
              ("grid 100x100", lambda: grid_graph(100))]
    if not args.quick:
        graphs += [("RGG n=8000", lambda: rgg_graph(8000, 0.022)),
                   ("kNN swiss roll n=8000", lambda: knn_swiss_roll(8000)),
                   ("anisotropic 96x96", lambda: anisotropic(96))]
    else:
        graphs += [("kNN swiss roll n=8000", lambda: knn_swiss_roll(8000))]
    with blas_threads(1), numba_threads(threads):
        for name, make in graphs:
            run_graph(report, name, make(), 0.10, repeats)
        run_density_curve(report, "Delaunay 2^13", delaunay_graph(2**13, seed=0),
                          [0.05, 0.10, 0.15, 0.20])
        run_dynamic(report, "Delaunay 2^13", delaunay_graph(2**13, seed=0))
    scale = args.scale if args.scale is not None else ([] if args.quick else [16, 18])
    run_scale(report, scale, threads)
    print(report.finish())


if __name__ == "__main__":
    main()
