"""
Selection rules compared on least squares
=========================================

Block coordinate descent on ``1/2 ||Ax - b||^2`` with columns of very different scales, the
setting of Nutini et al. (2022, problem A): cyclic and random selection ignore the Lipschitz
constants, Gauss-Southwell (GS) looks at the gradient, GS-Lipschitz (GSL) weighs it by each
block's constant, and GS-quadratic (GSQ) by the block's full curvature. With blocks sorted by
Lipschitz constant the greedy rules that use curvature make the most progress per iteration.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp

from sparsenum.bcd import LeastSquares, block_coordinate_descent

rng = np.random.default_rng(0)
n, d = 200, 400
A = sp.random(n, d, density=10 * np.log(n) / n, random_state=0, format="csc",
              data_rvs=lambda k: rng.standard_normal(k) + 1.0)
A = (A @ sp.diags(10 * rng.standard_normal(d))).tocsc()
b = A @ np.where(rng.random(d) < 0.1, rng.standard_normal(d), 0.0) + rng.standard_normal(n)
problem = LeastSquares(A, b)

# f* from LAPACK's least-squares solver
x_star = np.linalg.lstsq(A.toarray(), b, rcond=None)[0]
f_star = 0.5 * np.sum((A @ x_star - b) ** 2)

fig, ax = plt.subplots(figsize=(6, 4))
for selection in ("cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq"):
    res = block_coordinate_descent(problem, partition="sort", selection=selection,
                                   update="gradient", block_size=5, tol=0.0, max_iter=300,
                                   random_state=0)
    ax.semilogy(res.history.iteration, res.history.objective - f_star + 1e-16, label=selection)
ax.set(xlabel="iteration", ylabel="f - f*", title="blocks of 5 (sorted by L), 1/L updates")
ax.legend()
fig.tight_layout()
plt.show()
