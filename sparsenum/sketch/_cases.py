"""Small problems for the common tests and the warm-up of sparsenum.sketch."""

from __future__ import annotations

import numpy as np


def warm_up():
    from . import sketch_and_precondition, sketch_and_solve

    rng = np.random.default_rng(0)
    A = rng.normal(size=(200, 5))
    b = rng.normal(size=200)
    sketch_and_precondition(A, b, random_state=0)
    sketch_and_solve(A, b, random_state=0)
