"""Small problems for the common tests and the warm-up of sparsenum.neighbors."""

from __future__ import annotations

import numpy as np


def warm_up():
    from . import HNSWIndex

    X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    for metric in ("l2", "ip", "cosine"):
        index = HNSWIndex(4, metric=metric, M=4, ef_construction=16, random_state=0)
        index.add(X)
        index.query(X[:4], k=3)
