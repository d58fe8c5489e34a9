"""Small problems for the common tests and the warm-up of sparsenum.bcd."""

from __future__ import annotations

import numpy as np


def warm_up():
    import scipy.sparse as sp

    from . import LeastSquares, block_coordinate_descent, solve_l1_logistic, solve_lasso

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 10))
    y = X @ rng.normal(size=10)
    solve_lasso(X, y, 0.1)
    solve_lasso(sp.csc_matrix(X), y, 0.1)
    solve_l1_logistic(X, np.sign(y), 0.1)
    block_coordinate_descent(LeastSquares(X, y), max_iter=5)
