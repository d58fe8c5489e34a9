"""
l_inf error of sketch-and-solve against the sketch size
=======================================================

Sketch-and-solve replaces ``min ||A x - b||`` by ``min ||S A x - S b||``. Song, Ye, Yin & Zhang
(ICML 2023) show that with a *dense* sketch every coordinate of the answer is within
``eps / sqrt(d) * ||A x* - b|| * ||A^+||`` of the optimum, and that sparse sketches cannot
promise this. We measure the achieved ``eps_hat = ||x' - x*||_inf sqrt(d) / (||r*|| ||A^+||)``
against ``m`` on a *coherent* matrix (``A = [I; 0]``: all the leverage on ``d`` rows, and a
residual made of spikes on other rows). The dense sketches (SRHT, Gaussian) improve like
``1 / sqrt(m)``; CountSketch's worst case stays large, because a spike that hashes into the
bucket of a leverage row lands on one coordinate, whatever ``m``.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np

from sparsenum.sketch import RankDeficientWarning, linf_error_bound, sketch_and_solve

d, n, k = 32, 2048, 32
A = np.zeros((n, d))
A[:d] = np.eye(d)
b = np.zeros(n)
b[d:d + k] = np.where(np.arange(k) % 2, 1.0, -1.0) / np.sqrt(k)
x_star = np.linalg.lstsq(A, b, rcond=None)[0]
unit = linf_error_bound(A, b, eps=1.0)  # the bound for eps = 1

sizes = [128, 256, 512, 1024]
trials = 6
fig, ax = plt.subplots(figsize=(6, 4))
for sketch, color in (("srht", "C0"), ("gaussian", "C1"), ("sparse_sign", "C2"),
                      ("countsketch", "C3")):
    worst, median = [], []
    for m in sizes:
        errors = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RankDeficientWarning)
            for seed in range(trials):
                if sketch == "gaussian" and m > 512:
                    continue  # O(m n d): the dense reference gets slow
                res = sketch_and_solve(A, b, sketch=sketch, sketch_size=m, random_state=seed)
                errors.append(np.abs(res.coef - x_star).max() / unit)
        worst.append(max(errors) if errors else np.nan)
        median.append(np.median(errors) if errors else np.nan)
    ax.plot(sizes, worst, "o-", color=color, label=f"{sketch} (worst of {trials})")
    ax.plot(sizes, median, "x--", color=color, alpha=0.6)
ax.plot(sizes, 2.0 * np.sqrt(d / np.array(sizes)), "k:", label="2 sqrt(d / m)")
ax.set(xscale="log", yscale="log", xlabel="sketch rows m",
       ylabel="achieved eps  (||x' - x*||_inf / bound(eps=1))",
       title="coherent matrix: dense vs sparse sketches")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
