"""Small inputs in privacy, completion, graph and unmixing: default ``n_jobs`` against one thread.

Users call these functions in loops over many small problems (one unmixing per image tile, one
completion per user group, one sparsifier per subgraph). Each public function and estimator
method that takes ``n_jobs`` runs on inputs of 1 to 1,000 rows (users, pixels, matrix rows or
graph nodes) twice per pair, with the default ``n_jobs=None`` and with ``n_jobs=1``, back to back
and alternating; BLAS and numba keep their default thread counts, as a user's session has them.
``default_over_serial`` is the median of the per-pair time ratios (it resists the machine's
drift); the target is at most 1.2: the default must choose the serial path when the work is
small. Both calls get the same seed, and the script checks that they return the same answer.

The other modules have the same table in their own scripts (``bench_sketch --small``,
``bench_dictionary --small``, ``bench_neighbors --small-only``, ``bench_ot --small``); bayes and bcd
take no ``n_jobs``.

    python -m benchmarks.bench_small_inputs [--module privacy|completion|graph|unmixing]

writes ``results/<module>_small.json`` for each module run.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from benchmarks._harness import BenchmarkReport, parse_args

MODULES = ("privacy", "completion", "graph", "unmixing")
# warm pairs per call: enough for a stable median, capped so a module's table takes < 1 minute
MIN_PAIRS, MAX_PAIRS, SECONDS_PER_CALL = 7, 41, 1.5


def privacy_cases():
    from sparsenum.privacy import (
        LDPSparseRegression,
        duchi_randomizer,
        ldp_iht,
        nldp_reports,
    )

    rng = np.random.default_rng(0)
    for n in (1, 10, 100, 1000):
        X = np.clip(rng.normal(size=(n, 10)), -3, 3)
        y = np.clip(X[:, 0] - 0.5 * X[:, 1] + 0.1 * rng.normal(size=n), -3, 3)
        G = X / 3.0
        yield (f"duchi_randomizer {n}x10",
               lambda j, G=G: duchi_randomizer(G, 1.0, 1.0, random_state=0, n_jobs=j))
        yield (f"nldp_reports {n}x10",
               lambda j, X=X, y=y: nldp_reports(X, y, 1.0, random_state=0, n_jobs=j).xy)
        if n >= 100:
            yield (f"ldp_iht {n}x10",
                   lambda j, X=X, y=y: ldp_iht(X, y, 1.0, 2, random_state=0, n_jobs=j).coef)
            yield (f"LDPSparseRegression.fit {n}x10",
                   lambda j, X=X, y=y: LDPSparseRegression(
                       1.0, 2, random_state=0, n_jobs=j).fit(X, y).coef_)


def completion_cases():
    from sparsenum.completion import AltMinImputer, AltMinRatingsRegressor, altmin_complete
    from sparsenum.completion._cases import low_rank

    for m in (10, 100, 1000):
        _, M = low_rank(m, 40, 3, 0.3, noise=0.01, seed=1)
        rows, cols = np.nonzero(~np.isnan(M))
        ids, ratings = np.column_stack([rows, cols]), M[rows, cols]
        yield (f"altmin_complete {m}x40",
               lambda j, M=M: altmin_complete(M, 3, random_state=0, n_jobs=j).row_factors)
        yield (f"AltMinImputer.fit_transform {m}x40",
               lambda j, M=M: AltMinImputer(3, random_state=0, n_jobs=j).fit_transform(M))
        yield (f"AltMinRatingsRegressor.fit {m}x40",
               lambda j, ids=ids, r=ratings: AltMinRatingsRegressor(
                   3, random_state=0, n_jobs=j).fit(ids, r).predict(ids))


def _grid(side, seed):
    import scipy.sparse as sp

    n = side * side
    index = np.arange(n).reshape(side, side)
    u = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    v = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    w = np.random.default_rng(seed).uniform(0.5, 2.0, u.size)
    A = sp.coo_matrix((w, (u, v)), shape=(n, n))
    return (A + A.T).tocsr()


def graph_cases():
    from sparsenum.graph import SpectralSparsifier, effective_resistance, sparsify

    for side in (4, 10, 31):
        G = _grid(side, seed=side)
        n = side * side
        yield (f"sparsify grid {n} nodes",
               lambda j, G=G: sparsify(G, random_state=0, n_jobs=j).weights)
        yield (f"effective_resistance grid {n} nodes",
               lambda j, G=G: effective_resistance(G, random_state=0, n_jobs=j))
        yield (f"SpectralSparsifier.fit grid {n} nodes",
               lambda j, G=G: SpectralSparsifier(random_state=0, n_jobs=j).fit(G)
               .sparsifier_.data)


def unmixing_cases():
    from sparsenum.unmixing import FCLSUnmixing, RobustUnmixing, fcls, rrlbs

    rng = np.random.default_rng(0)
    E = rng.uniform(0.1, 1.0, size=(3, 50))
    for n in (1, 10, 100, 1000):
        X = rng.dirichlet(np.ones(3), size=n) @ E + 0.001 * rng.normal(size=(n, 50))
        yield (f"fcls {n} pixels x 50 bands",
               lambda j, X=X: fcls(X, E, n_jobs=j).abundances)
        yield (f"FCLSUnmixing.transform {n} pixels",
               lambda j, X=X: FCLSUnmixing(E, n_jobs=j).fit(X).transform(X))
        if n >= 100:
            yield (f"rrlbs {n} pixels x 50 bands",
                   lambda j, X=X: rrlbs(X, 3, random_state=0, n_jobs=j).abundances)
            yield (f"RobustUnmixing.fit_transform {n} pixels",
                   lambda j, X=X: RobustUnmixing(3, random_state=0, n_jobs=j).fit_transform(X))


CASES = {"privacy": privacy_cases, "completion": completion_cases, "graph": graph_cases,
         "unmixing": unmixing_cases}


def _equal(a, b) -> bool:
    if hasattr(a, "toarray"):
        a, b = a.toarray(), b.toarray()
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))


def _pairs(call) -> tuple[list[float], list[float]]:
    """Warm, alternating pairs (default first, then n_jobs=1, order swapped every pair)."""
    start = time.perf_counter()
    call(1)
    one = time.perf_counter() - start
    pairs = int(min(MAX_PAIRS, max(MIN_PAIRS, SECONDS_PER_CALL / max(one, 1e-6) / 2)))
    times = {None: [], 1: []}
    for p in range(pairs):
        for j in ((None, 1) if p % 2 == 0 else (1, None)):
            start = time.perf_counter()
            call(j)
            times[j].append(time.perf_counter() - start)
    return times[None], times[1]


def run_module(module: str, args) -> None:
    notes = __doc__.split("\n\n")[1].replace("\n", " ")
    report = BenchmarkReport(f"{module}_small", args, notes=notes)
    for problem, call in CASES[module]():
        default, serial = call(None), call(1)
        same = _equal(default, serial)
        t_default, t_serial = _pairs(call)
        ratio = statistics.median(a / b for a, b in zip(t_default, t_serial))
        report.add(f"small: {problem}", "default n_jobs=None", statistics.median(t_default),
                   ours=True, default_over_serial=ratio, same_answer=same)
        report.add(f"small: {problem}", "n_jobs=1", statistics.median(t_serial))
    report.finish()


def main(argv=None):
    def extra(parser):
        parser.add_argument("--module", choices=MODULES, action="append",
                            help="only this module (repeatable; default: all four)")

    args = parse_args(__doc__.splitlines()[0], argv, extra=extra)
    for module in args.module or MODULES:
        print(f"--- {module}", flush=True)
        run_module(module, args)


if __name__ == "__main__":
    main()
