"""
Sparse transport plans for several max_nz
=========================================

Sparsity-constrained OT keeps at most ``max_nz`` nonzeros in every column of the plan: every
target point receives mass from at most ``max_nz`` sources ("at most k tokens per expert").
``max_nz = 1`` approaches unregularised OT, ``max_nz = n`` is quadratically regularised OT. The
dual's own support may carry no plan with both marginals (here at ``max_nz = 2``, with
non-uniform weights); the solver repairs it with a maximum-flow-guided search and then solves
the problem on the repaired support exactly, so every plan below meets both marginals to
~1e-15. The printed gap between the plan's objective and the dual bound bounds how far from
optimal it can be.
"""

import matplotlib.pyplot as plt
import numpy as np

from sparsenum.ot import sparsity_constrained_ot

rng = np.random.default_rng(0)
n = 30
x = np.sort(rng.random(n))
y = np.sort(rng.random(n))
C = (x[:, None] - y[None, :]) ** 2
C /= C.max()
a = np.full(n, 1.0 / n)
b = rng.random(n) + 0.5
b /= b.sum()

fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
for ax, k in zip(axes, [2, 4, 8, n]):
    res = sparsity_constrained_ot(a, b, C, 0.5, k)
    ax.imshow(res.plan > 0, cmap="Greys", interpolation="nearest")
    ax.set_title(f"max_nz={k}: nnz={int((res.plan > 0).sum())}")
    ax.set_xlabel("target point j (sorted by position)")
    print(f"max_nz={k}: max nonzeros per column {int((res.plan > 0).sum(0).max())}, "
          f"marginal violation {res.marginal_error:.1e}, cost {res.cost:.5f}, "
          f"gap to the dual bound {res.objective - res.dual_objective:.1e}")
axes[0].set_ylabel("source point i (sorted by position)")
fig.tight_layout()
plt.show()
