"""Small problems for the common tests and the warm-up of sparsenum.neighbors."""

from __future__ import annotations

import numpy as np


def warm_up():
    """Compiles every kernel: insertion, serial and parallel queries, deletion repair."""
    from . import HNSWIndex

    X = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    index = HNSWIndex(4, M=4, ef_construction=16, random_state=0, n_jobs=2)
    index.add(X[:200])
    index.query(X[:1], k=3)  # serial kernel
    index.query(X, k=3)  # parallel kernel (n_jobs=2 is obeyed)
    index.mark_deleted(np.arange(10))
    index.add(X[200:])  # repairs the links into the deleted elements, then inserts
    index.n_jobs = 1
    index.mark_deleted(np.arange(10, 20))
    index.add(X[:10], ids=np.arange(10))  # the serial repair


def easy_fits():
    from ..utils.registry import EasyFit
    from .transformer import HNSWTransformer

    X = np.random.default_rng(0).normal(size=(200, 5))
    return [EasyFit(name="HNSWTransformer", estimator=HNSWTransformer(), X=X)]
