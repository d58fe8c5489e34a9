"""Sweeps to ``tol`` on noisy low-rank matrices with the defaults (``reg="auto"``): which ones
end at the ``n_sweeps=30`` cap, and how they relate to the spectrum at the chosen penalty.

For each matrix: the sweeps of the default fit and, with the cap raised to 400 (the penalty
search is the same, so is the start), the sweeps actually needed; the contraction ``rho`` of
the relative change over the last sweeps; and the singular values of the scaled residual
``S = D_r^{-1/2} P_Omega(M - mu - a 1^T - 1 c^T) D_c^{-1/2}`` (biases of the fit) relative to
the chosen penalty ``lambda``. For a fully observed matrix the fit soft-thresholds the singular
values of ``S`` at ``lambda``: the fitted part scaled the same way, ``D_r^{-1/2} U V^T
D_c^{-1/2}``, has singular values ``sigma_j(S) - lambda``, so ``margin_j = sigma_j(fit) /
lambda = sigma_j(S) / lambda - 1`` says how far direction ``j`` is from dying. A direction with a
small margin settles slowly (its contraction per sweep tends to 1 as the margin vanishes). With
partial observations the margin is the same quantity computed from the fit, a heuristic.

    python -m benchmarks._completion_noisy
"""

from __future__ import annotations

import time

import numpy as np

from sparsenum.completion import altmin_complete
from sparsenum.completion._cases import low_rank

SHAPE = (400, 300)
RANKS = (3, 8)
#: fitted rank beyond the true one (0: the true rank; 5: directions left to fit the noise)
EXTRA_RANKS = (0, 5)
NOISES = (0.1, 0.3, 1.0)
FRACTIONS = (0.1, 0.3)
SEEDS = (0, 1)
LONG_CAP = 400


def margins(result, row_counts, col_counts):
    """``sigma_j(D_r^{-1/2} U V^T D_c^{-1/2}) / lambda``, largest first."""
    P = result.row_factors / np.sqrt(np.maximum(row_counts, 1))[:, None]
    Q = result.col_factors / np.sqrt(np.maximum(col_counts, 1))[:, None]
    _, Rp = np.linalg.qr(P)
    _, Rq = np.linalg.qr(Q)
    return np.linalg.svd(Rp @ Rq.T, compute_uv=False) / result.reg


def residual_top(M, result, row_counts, col_counts):
    """Largest singular value of the scaled residual of the fit, ``D_r^{-1/2} P_Omega(M -
    X) D_c^{-1/2}`` (dense: the matrices here are small): the strongest direction left out."""
    R = np.nan_to_num(M - result.to_dense(), nan=0.0)
    R /= np.sqrt(np.maximum(row_counts, 1))[:, None]
    R /= np.sqrt(np.maximum(col_counts, 1))[None, :]
    return float(np.linalg.norm(R, 2))


def contraction(result, last=5):
    """Geometric mean ratio of successive relative changes over the last sweeps."""
    change = np.asarray(result.history.criterion[:result.n_iter])
    tail = change[-(last + 1):]
    if tail.size < 2 or np.any(tail <= 0):
        return float("nan")
    return float(np.exp(np.mean(np.diff(np.log(tail)))))


#: a direction with a smaller margin has died (its factors are zero at the fixed point)
DEAD = 1e-3


def one(rank, extra, noise, fraction, seed, threads=None):
    X, M = low_rank(*SHAPE, rank, fraction, noise=noise, seed=seed)
    fit_rank = rank + extra
    start = time.perf_counter()
    default = altmin_complete(M, fit_rank, random_state=0, n_jobs=threads)
    seconds = time.perf_counter() - start
    long = altmin_complete(M, fit_rank, n_sweeps=LONG_CAP, random_state=0, n_jobs=threads)
    observed = ~np.isnan(M)
    margin = margins(long, observed.sum(1), observed.sum(0))
    kept = margin[margin > DEAD]
    # the weakest kept direction of S has sigma = lambda (1 + margin) (soft threshold); the
    # strongest left out is the top of the residual: alternating minimisation, a subspace
    # iteration, separates the two at a rate set by their ratio
    left_out = residual_top(M, long, observed.sum(1), observed.sum(0))
    return {
        "sweeps_default": default.n_iter, "seconds_default": seconds,
        "converged_default": bool(default.converged),
        "sweeps_needed": long.n_iter, "converged_long": bool(long.converged),
        "rho": contraction(long), "reg": long.reg,
        "margin_1": float(margin[0]),
        "weakest_margin": float(kept.min()) if kept.size else 0.0,
        "left_out_over_weakest": left_out / (long.reg * (1.0 + kept.min())) if kept.size
        else float("nan"),
        "dead": int(np.count_nonzero(margin <= DEAD)),
        "rel_error": float(np.linalg.norm(long.to_dense() - X) / np.linalg.norm(X)),
        "rel_error_default": float(np.linalg.norm(default.to_dense() - X) / np.linalg.norm(X)),
    }


def rows(threads=None):
    for rank in RANKS:
        for extra in EXTRA_RANKS:
            for fraction in FRACTIONS:
                for noise in NOISES:
                    for seed in SEEDS:
                        yield (rank, extra, noise, fraction, seed), one(
                            rank, extra, noise, fraction, seed, threads)


def noisy(report, args, threads):
    """Rows of the benchmark report (``bench_completion --full --parts noisy``)."""
    for (rank, extra, noise, fraction, seed), r in rows(threads):
        report.add(f"noisy {SHAPE[0]}x{SHAPE[1]} rank {rank} fitted at {rank + extra}, "
                   f"{fraction:.0%} observed, noise {noise}, seed {seed}",
                   "altmin_complete defaults (reg and bias_reg auto)",
                   r["seconds_default"], n_iter=r["sweeps_default"], ours=True,
                   **{k: float(v) for k, v in r.items()
                      if k not in ("sweeps_default", "seconds_default")})


if __name__ == "__main__":
    print("rank fit frac noise seed | default sweeps conv | needed rho | reg margin_1 weakest "
          "dead out/weak | rel_err default, converged")
    for (rank, extra, noise, fraction, seed), r in rows():
        print(f"{rank:4d} {rank + extra:3d} {fraction:4.1f} {noise:5.2f} {seed:4d} | "
              f"{r['sweeps_default']:3d} "
              f"{r['converged_default']!s:5} | {r['sweeps_needed']:4d} {r['rho']:.3f} | "
              f"{r['reg']:.3g} {r['margin_1']:.3f} {r['weakest_margin']:.3f} {r['dead']} "
              f"{r['left_out_over_weakest']:.3f} | {r['rel_error_default']:.4g} "
              f"{r['rel_error']:.4g}",
              flush=True)
