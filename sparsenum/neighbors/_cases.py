"""Small problems for the common tests and the warm-up of sparsenum.neighbors."""

from __future__ import annotations

import numpy as np


def warm_up():
    """Compiles every kernel: serial and parallel insertion and queries, deletion repair."""
    from . import HNSWIndex

    X = np.random.default_rng(0).normal(size=(600, 4)).astype(np.float32)
    small = HNSWIndex(4, M=4, ef_construction=16, random_state=0, n_jobs=1)
    small.add(X[:50])  # the serial kernels: what a first call on a tiny input compiles
    small.query(X[:3], k=3)
    index = HNSWIndex(4, M=4, ef_construction=16, random_state=0, n_jobs=2)
    index.add(X[:400])  # parallel insertion (n_jobs=2 is obeyed from two batches on)
    index.query(X, k=3)  # parallel queries
    index.mark_deleted(np.arange(10))
    index.add(X[400:])  # repairs the links into the deleted elements, then inserts
    small.mark_deleted(np.arange(5))
    small.add(X[:5], ids=np.arange(5))  # the serial repair


def easy_fits():
    from ..utils.registry import EasyFit
    from .transformer import HNSWTransformer

    X = np.random.default_rng(0).normal(size=(200, 5))
    return [EasyFit(name="HNSWTransformer", estimator=HNSWTransformer(), X=X)]
