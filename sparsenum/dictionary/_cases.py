"""Small problems for the common tests and the warm-up of sparsenum.dictionary."""

from __future__ import annotations

import numpy as np


def warm_up():
    from . import batch_omp, ksvd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 8))
    D = rng.normal(size=(12, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    batch_omp(X, D, n_nonzero=2)
    ksvd(X, 6, 2, max_iter=2, random_state=0)
