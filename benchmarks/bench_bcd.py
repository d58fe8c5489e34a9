"""Block coordinate descent: the paper's rule / update comparisons, and Lasso / L1-logistic peers.

Part (a) reproduces Nutini, Laradji & Schmidt (JMLR 2022) on the paper's problem families
(A least squares, B logistic, C multinomial, D lattice and E two-moons label propagation):
``f - f*`` after a fixed budget of iterations for each selection rule and update rule, and
message-passing forest blocks against dense blocks of the same size. Part (b) times the Lasso
and L1-logistic regression against scikit-learn, skglm and celer to a target accuracy computed
by this script identically for every solver: Lasso duality gap <= 1e-8 (y scaled to
``||y||^2 / n = 1``) and L1-logistic duality gap <= 1e-8 of the averaged objective
``mean log(1 + exp(-y x'w)) + lam / n ||w||_1`` (dual point: the loss gradient rescaled into
feasibility, as in celer and skglm). Part (c) times the first call of each public solver on a
tiny input in a fresh process, with an empty numba cache (compilation) and again with the cache
it filled (loading), as a new user meets them.

Run: ``python -m benchmarks.bench_bcd [--quick] [--only peers|paper|first_call] [--clock cpu]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from benchmarks._harness import BenchmarkReport, Timing, blas_threads, parse_args, time_call


# ---------------------------------------------------------------------------- problem families
def family_a(n, d, seed=0):
    """Sparse design: N(0,1)+1 entries, columns scaled by 10 N(0,1), density 10 log n / n."""
    rng = np.random.default_rng(seed)
    density = min(1.0, 10 * np.log(n) / n)
    A = sp.random(n, d, density=density, random_state=seed, format="csc",
                  data_rvs=lambda k: rng.standard_normal(k) + 1.0)
    A = (A @ sp.diags(10 * rng.standard_normal(d))).tocsc()
    w = np.zeros(d)
    nz = rng.choice(d, max(1, d // 10), replace=False)
    w[nz] = rng.standard_normal(nz.size)
    b = A @ w + rng.standard_normal(n)
    y = np.sign(A @ w)
    y[y == 0] = 1.0
    flip = rng.random(n) < 0.1
    y[flip] = -y[flip]
    return A, b, y


def lattice(side, seed=0):
    rng = np.random.default_rng(seed)
    idx = np.arange(side * side).reshape(side, side)
    rows = np.r_[idx[:-1].ravel(), idx[:, :-1].ravel()]
    cols = np.r_[idx[1:].ravel(), idx[:, 1:].ravel()]
    weights = np.where(rng.random(rows.size) < 0.5, 0.0, 1e5)
    W = sp.coo_matrix((weights, (rows, cols)), shape=(side * side,) * 2)
    W = (W + W.T).tocsr()
    W.eliminate_zeros()
    return W


def two_moons(n, k, seed=0):
    from sklearn.datasets import make_moons
    from sklearn.neighbors import kneighbors_graph

    X, y = make_moons(n, noise=0.1, random_state=seed)
    W = kneighbors_graph(X, k, mode="connectivity")
    return W.maximum(W.T).tocsr(), y


def _labelled(n, m, seed):
    lab = np.zeros(n, bool)
    lab[np.random.default_rng(seed).choice(n, m, replace=False)] = True
    return lab


# ---------------------------------------------------------------------------- part (a)
def run_rules(report, name, problem, f_star, configs, max_iter):
    from sparsenum.bcd import block_coordinate_descent

    for label, kwargs in configs:
        block_coordinate_descent(problem, max_iter=2, **kwargs)  # compile / warm caches
        start = time.perf_counter()
        res = block_coordinate_descent(problem, tol=0.0, max_iter=max_iter, random_state=0,
                                       **kwargs)
        elapsed = time.perf_counter() - start
        gap = np.maximum(res.history.objective - f_star, 0.0)
        report.add(name, label, elapsed, n_iter=res.n_iter, ours=not report.rows or
                   report.rows[-1].problem != name, f_minus_fstar=float(gap[-1]))
        report.add_curve(f"{name} iterations", label, res.history.iteration, gap,
                         xlabel="iteration", ylabel="f - f*")
        report.add_curve(f"{name} seconds", label, res.history.elapsed, gap,
                         xlabel="time [s]", ylabel="f - f*")


def part_a(report, quick):
    from scipy.sparse.linalg import lsqr
    from sklearn.linear_model import LogisticRegression

    from sparsenum.bcd import (
        BinaryLogistic,
        LabelPropagationProblem,
        LeastSquares,
        MultinomialLogistic,
    )

    n, d = (200, 600) if quick else (1000, 10000)
    iters = 300 if quick else 1000
    A, b, ylog = family_a(n, d)
    rules = [(f"{sel} + gradient", {"partition": "sort", "selection": sel, "update": "gradient",
                                     "block_size": 5})
             for sel in ("cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq")]
    ls = LeastSquares(A, b)
    x_ls = lsqr(A, b, atol=1e-14, btol=1e-14, iter_lim=100000)[0]
    f_star = ls.objective(ls.start(x_ls))
    run_rules(report, "A least squares", ls, f_star, rules, iters)
    updates = [(f"gsl + {u}", {"partition": "sort", "selection": "gsl", "update": u,
                               "block_size": 5}) for u in ("gradient", "adaptive", "matrix")]
    updates.append(("variable gsq + matrix", {"partition": "variable", "selection": "gsq",
                                              "update": "matrix", "block_size": 5}))
    run_rules(report, "A updates", ls, f_star, updates, iters)

    logit = BinaryLogistic(A, ylog, l2=1.0)
    # f* from scikit-learn's L-BFGS (same objective: C = 1, no intercept)
    ref = LogisticRegression(C=1.0, fit_intercept=False, tol=1e-12, max_iter=10000)
    x_ref = ref.fit(A, ylog).coef_.ravel()
    f_star = min(logit.objective(logit.start(x_ref)), 1e300)
    run_rules(report, "B logistic", logit, f_star,
              [*rules[:5], ("gsl + newton", {"partition": "sort", "selection": "gsl",
                                             "update": "newton", "block_size": 5})], iters)

    rng = np.random.default_rng(1)
    nc, dc, k = (200, 50, 10) if quick else (1000, 1000, 50)
    Ac = rng.standard_normal((nc, dc))
    yc = rng.integers(0, k, nc)
    multi = MultinomialLogistic(Ac, yc, n_classes=k, l2=1.0)
    ref = LogisticRegression(C=1.0, fit_intercept=False, tol=1e-12, max_iter=10000).fit(Ac, yc)
    f_star = multi.objective(multi.start(ref.coef_.T.ravel()))
    run_rules(report, "C multinomial", multi, f_star,
              [(f"{s} + {u}", {"partition": "sort", "selection": s, "update": u,
                               "block_size": k})
               for s, u in (("cyclic", "gradient"), ("gsl", "gradient"), ("gsl", "matrix"))],
              iters)

    side = 20 if quick else 50
    W = lattice(side)
    lab = _labelled(side * side, 100 if not quick else 30, 0)
    target = np.where(np.random.default_rng(2).random(side * side) < 0.5, 1.0, -1.0)
    lp = LabelPropagationProblem(W, target, lab, reg=1.0)
    _mp_vs_dense(report, "D lattice", lp, 3 * iters // 10)

    n_moons = 500 if quick else 2000
    Wm, ym = two_moons(n_moons, 5)
    labm = _labelled(n_moons, 30 if quick else 100, 1)
    lpm = LabelPropagationProblem(Wm, (ym == 1).astype(float), labm)
    _mp_vs_dense(report, "E two moons", lpm, 3 * iters // 10)


def _mp_vs_dense(report, name, problem, iters):
    from scipy.sparse.linalg import spsolve

    x = spsolve(problem.Q.tocsc(), problem.c)
    f_star = 0.5 * x @ (problem.Q @ x) - problem.c @ x + problem.constant
    configs = []
    for size in (5, 50):
        configs.append((f"forest <= {size} + message passing",
                        {"partition": "forest", "selection": "gsl",
                         "update": "message_passing", "block_size": size}))
        configs.append((f"variable {size} + exact (dense)",
                        {"partition": "variable", "selection": "gsl", "update": "exact",
                         "block_size": size}))
    configs.append(("coordinate gsl + exact", {"partition": "order", "selection": "gsl",
                                               "update": "exact", "block_size": 1}))
    run_rules(report, name, problem, f_star, configs, iters)


# ---------------------------------------------------------------------------- part (b)
def lasso_data(n, d, sparse, seed=0):
    rng = np.random.default_rng(seed)
    if sparse:  # text-like: ~1% density, power-law column frequencies, tf-idf-like values
        freq = np.clip(0.5 / np.arange(1, d + 1) ** 0.5, 0.005, 0.5)
        mask = rng.random((n, d)) < freq
        X = sp.csc_matrix(np.where(mask, rng.exponential(1.0, (n, d)), 0.0))
    else:  # correlated: AR(1) columns, rho = 0.5
        X = rng.standard_normal((n, d))
        X[:, 1:] = 0.5 * X[:, :-1] + np.sqrt(0.75) * X[:, 1:]
    w = np.zeros(d)
    w[rng.choice(d, 50, replace=False)] = rng.standard_normal(50)
    y = np.asarray(X @ w).ravel() + 0.5 * rng.standard_normal(n)
    y /= np.sqrt(y @ y / n)
    return X, y


# "wall" (the harness's perf_counter) or "cpu" (process time: on a shared machine the time a
# single-threaded solver computes, without the time it waits for a core); set by --clock
_CLOCK = {"name": "wall"}


def _cpu_time_call(fn, *args, repeats):
    """:func:`time_call` measured in process CPU seconds (first call apart, median of repeats)."""
    start = time.process_time()
    result = fn(*args)
    first = time.process_time() - start
    times = []
    for _ in range(repeats):
        start = time.process_time()
        result = fn(*args)
        times.append(time.process_time() - start)
    return Timing(first, float(np.median(times)), times, result)


def _time_to_target(fit, accuracy, target, repeats, tols=(1e-4, 1e-6, 1e-8, 1e-10, 1e-12)):
    """Loosest tolerance reaching ``accuracy <= target``, timed warm; or the last one tried."""
    for tol in tols:
        coef, _ = fit(tol)
        acc = accuracy(coef)
        if acc <= target:
            break
    if _CLOCK["name"] == "cpu":
        timing = _cpu_time_call(fit, tol, repeats=repeats)
    else:
        timing = time_call(fit, tol, repeats=repeats)
    return timing, acc, tol, timing.result[1]


def _lasso_solvers(X, y, alpha):
    """``tol -> (coef, n_iter)`` fits of each Lasso solver, and the shared gap function."""
    from celer import Lasso as CelerLasso
    from skglm import Lasso as SkglmLasso
    from sklearn.linear_model import Lasso

    from sparsenum.bcd import lasso_duality_gap, solve_lasso

    def ours(tol):
        res = solve_lasso(X, y, alpha, tol=tol, max_iter=1000)
        return res.coef, res.n_iter

    def peer(make):
        def fit(tol):
            model = make(tol).fit(X, y)
            return model.coef_, model.n_iter_
        return fit

    solvers = {
        "sparsenum solve_lasso": ours,
        "sklearn Lasso": peer(lambda tol: Lasso(alpha=alpha, fit_intercept=False, tol=tol,
                                                max_iter=100000)),
        "skglm Lasso": peer(lambda tol: SkglmLasso(alpha=alpha, fit_intercept=False, tol=tol,
                                                   max_iter=1000)),
        "celer Lasso": peer(lambda tol: CelerLasso(alpha=alpha, fit_intercept=False, tol=tol)),
    }
    return solvers, lambda coef: lasso_duality_gap(X, y, coef, alpha)[0]


def part_b(report, quick, repeats):
    n, d = (400, 1500) if quick else (1000, 5000)
    for design in ("correlated", "text-like sparse"):
        X, y = lasso_data(n, d, design != "correlated")
        alpha_max = np.abs(X.T @ y).max() / n
        for frac in (0.1, 0.01):
            alpha = frac * alpha_max
            name = f"Lasso {design} {n}x{d}, alpha={frac} alpha_max"
            solvers, gap = _lasso_solvers(X, y, alpha)
            for label, fit in solvers.items():
                timing, acc, tol, n_iter = _time_to_target(fit, gap, 1e-8, repeats)
                report.add(name, label, timing, n_iter=n_iter, ours=label.startswith("sparsenum"),
                           duality_gap=acc, tol_used=tol)


def _logistic_solvers(X, labels, lam):
    """``tol -> (coef, n_iter)`` fits of each L1-logistic solver on ``sum loss + lam ||w||_1``."""
    from celer import LogisticRegression as CelerLogReg
    from skglm import SparseLogisticRegression
    from sklearn.linear_model import LogisticRegression

    from sparsenum.bcd import BCDLogisticRegression

    n = X.shape[0]

    def fit(make):
        def run(tol):
            model = make(tol).fit(X, labels)
            return model.coef_.ravel(), int(np.max(getattr(model, "n_iter_", -1)))
        return run

    return {
        "sparsenum BCDLogisticRegression": fit(lambda tol: BCDLogisticRegression(
            penalty="l1", C=1.0 / lam, fit_intercept=False, tol=tol)),
        "sklearn liblinear": fit(lambda tol: LogisticRegression(
            penalty="l1", C=1.0 / lam, solver="liblinear", fit_intercept=False, tol=tol,
            max_iter=1000, random_state=0)),  # shuffles: seeded; capped, 1e-12 may never come
        "skglm SparseLogisticRegression": fit(lambda tol: SparseLogisticRegression(
            alpha=lam / n, fit_intercept=False, tol=tol, max_iter=1000)),
        "celer LogisticRegression": fit(lambda tol: CelerLogReg(C=1.0 / lam, tol=tol)),
    }


def part_b_logistic(report, quick, repeats):
    from sparsenum.bcd import l1_logistic_duality_gap

    n, d = (200, 300) if quick else (1000, 5000)
    X, y = lasso_data(n, d, False, seed=3)
    labels = (y > 0).astype(int)
    s = np.where(labels == 1, 1.0, -1.0)
    lam_max = np.abs(X.T @ s).max() / 2  # the gradient of the loss at w = 0 is -s / 2
    for frac in (0.1, 0.01):
        lam = frac * lam_max
        name = f"L1-logistic correlated {n}x{d}, lambda={frac} lambda_max"

        def gap(coef, lam=lam):  # duality gap of the averaged objective (loss / n)
            return l1_logistic_duality_gap(X, s, coef, lam)[0] / n

        for label, fit in _logistic_solvers(X, labels, lam).items():
            timing, acc, tol, n_iter = _time_to_target(fit, gap, 1e-8, repeats)
            report.add(name, label, timing, n_iter=n_iter, ours=label.startswith("sparsenum"),
                       duality_gap=acc, tol_used=tol)


# ---------------------------------------------------------------------------- part (c)
_FIRST_CALLS = {
    "solve_lasso (dense)": "from sparsenum.bcd import solve_lasso\nsolve_lasso(X, y, 0.1)",
    "solve_lasso (sparse CSC, intercept)":
        "from sparsenum.bcd import solve_lasso\n"
        "solve_lasso(sp.csc_matrix(X), y, 0.1, fit_intercept=True)",
    "solve_l1_logistic": "from sparsenum.bcd import solve_l1_logistic\n"
                         "solve_l1_logistic(X, np.sign(y), 0.1)",
    "block_coordinate_descent (least squares)":
        "from sparsenum.bcd import LeastSquares, block_coordinate_descent\n"
        "block_coordinate_descent(LeastSquares(X, y), update='matrix', block_size=4)",
}
_FIRST_CALL_SCRIPT = """import time
t0 = time.perf_counter()
import numpy as np, scipy.sparse as sp
import sparsenum.bcd
t_import = time.perf_counter() - t0
rng = np.random.default_rng(0)
X = rng.normal(size=(20, 10)); y = X @ rng.normal(size=10)
t0, c0 = time.perf_counter(), time.process_time()
{code}
print(time.perf_counter() - t0, time.process_time() - c0, t_import)
"""


def _fresh_process(code, cache):
    """``(wall, cpu, import_wall)`` seconds of ``code`` in a new interpreter using ``cache``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("SPARSENUM_CACHE_DIR", None)
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", _FIRST_CALL_SCRIPT.format(code=code)],
                         cwd=root, env=env, capture_output=True, text=True, check=True)
    return tuple(map(float, out.stdout.split()[-3:]))


def part_c(report):
    """First call on a 20 x 10 input: cold (empty numba cache, compiles) and warm (loads)."""
    problem = "first call in a fresh process, 20x10 input (time: warm cache, first: empty)"
    for i, (label, code) in enumerate(_FIRST_CALLS.items()):
        with tempfile.TemporaryDirectory() as cache:
            cold, cold_cpu, _ = _fresh_process(code, cache)
            warm, warm_cpu, imported = _fresh_process(code, cache)
        report.add(problem, label, Timing(cold, warm, [warm], None), ours=i == 0,
                   cold_cpu=cold_cpu, warm_cpu=warm_cpu, import_bcd=imported)


def main(argv=None):
    def extra(parser):
        parser.add_argument(
            "--only", choices=("all", "peers", "paper", "first_call"), default="all",
            help="run only part (b), the peer comparisons (written to bcd_peers*), only part "
                 "(a), or only part (c), the first calls")
        parser.add_argument(
            "--clock", choices=("wall", "cpu"), default="wall",
            help="time part (b) in wall seconds or in process CPU seconds (on a shared machine, "
                 "with --threads 1, CPU time is what each solver computes, without waiting)")

    args = parse_args(__doc__.splitlines()[0], argv, extra=extra)
    _CLOCK["name"] = args.clock
    notes = ("(a) paper families A-E, f - f* after a fixed iteration budget; the first row of each "
             "problem is the reference of 'time / ours'. (b) time to Lasso duality gap <= 1e-8 "
             "(||y||^2/n = 1) and L1-logistic duality gap <= 1e-8 (averaged loss), each solver "
             "run at the loosest of its tolerances 1e-4..1e-12 that reaches the target. (c) "
             "first call of each solver on a 20x10 input in a fresh process: 'first call' with an "
             "empty numba cache (compilation), 'time' with the cache filled (loading); CPU "
             "seconds beside, since wall time on a shared machine includes waiting. Part (b) "
             f"clock: {args.clock} seconds. Load "
             f"average at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}.")
    report = BenchmarkReport("bcd" if args.only == "all" else f"bcd_{args.only}", args,
                             notes=notes)
    warnings.filterwarnings("ignore")
    # the peer timings are milliseconds on a shared machine: two warm repeats even when quick
    repeats = 2 if args.quick else args.repeats
    with blas_threads(args.threads):
        if args.only in ("all", "peers"):
            part_b(report, args.quick, repeats)
            part_b_logistic(report, args.quick, repeats)
        if args.only not in ("peers", "first_call"):
            part_a(report, args.quick)
    if args.only in ("all", "first_call"):
        part_c(report)
    report.finish()


if __name__ == "__main__":
    main()
