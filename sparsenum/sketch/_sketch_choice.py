"""Which sketch a least-squares solve draws, and how many rows it gets.

The size comes from exactly one source (``sketch_size``, ``oversampling``, ``eps`` or a given
operator); without one, sketch-and-precondition takes the oversampling that minimises a cost
model of its QR and CG passes (:func:`auto_oversampling`).
"""

from __future__ import annotations

import math

from ..utils import check_int, renamed_argument
from ._validation import check_sketch_size
from .linf import linf_rows
from .operators import SketchOperator, SparseSign, make_sketch

__all__ = ["auto_oversampling"]

# The sketch size that minimises predicted time: a QR of the m x d sketch costs about
# _QR_COST * m * d^2 / (n d) passes over A (single-thread LAPACK against a memory-bound pass,
# measured at n=5e5, d=200), and CG gains sqrt(d/m) per pass, so reaching 1e-14 from the warm
# start takes about 64 / ln(m/d) passes.
_QR_COST = 0.66
_OVERSAMPLING_GRID = (4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)
# nonzeros per column of the sparse sign preconditioner: four embed as well as eight for
# preconditioning (the same CG steps) at half the cost of forming S A
_PRECONDITION_SPARSITY = 4


def _resolve_sketch(sketch, n, d, *, sketch_size, m, default_size, oversampling=None,
                    eps=None, delta=None, random_state=None, n_jobs=None, preconditioner=False):
    """The sketch operator of a solve, its size set by exactly one source.

    The size comes from ``sketch_size`` (or its former name ``m``), ``oversampling``
    (``ceil(oversampling d)``, capped at ``n``), ``eps`` (the l_inf row count) or a given
    operator's own ``m``; two sources at once are an error naming both (one of them would be
    ignored). Without any, ``min(n, default_size)``. Returns None when ``eps`` asks for at
    least ``n`` rows: no sketch can help and the caller solves exactly.
    """
    size, size_name = renamed_argument(sketch_size, m, "sketch_size", "m",
                                       reason="as in SketchedRegression", stacklevel=4)
    operator = isinstance(sketch, SketchOperator)
    if operator and size is not None and check_int(size, size_name, low=1) == sketch.m:
        size = None  # the same size twice: no conflict
    sources = {"sketch": sketch if operator else None, size_name: size,
               "oversampling": oversampling, "eps": eps}
    given = [(name, value) for name, value in sources.items() if value is not None]
    if len(given) > 1:
        (first, a), (second, b) = given[:2]
        raise ValueError(f"give either {first} or {second}, not both: {first}={a!r} and "
                         f"{second}={b!r} each set the sketch size")
    if operator:
        check_sketch_size(sketch.m, n, d, "the sketch operator's m")
        return sketch
    if eps is not None:
        rows = linf_rows(n, d, eps, delta)
        if rows >= n:
            return None
        size = math.ceil(rows)
    elif size is not None:
        size = check_sketch_size(size, n, d, size_name)
    elif oversampling is not None:
        size = min(n, math.ceil(oversampling * d))
    else:
        size = min(n, default_size)
    if preconditioner and isinstance(sketch, str) and sketch == "sparse_sign":
        return SparseSign(size, nnz_per_column=_PRECONDITION_SPARSITY,
                          random_state=random_state, n_jobs=n_jobs)
    return make_sketch(sketch, size, random_state=random_state, n_jobs=n_jobs)



def auto_oversampling(n, d) -> float:
    """The ``m / d`` that :func:`sketch_and_precondition` uses by default for an ``n x d`` ``A``.

    It minimises a cost model, in passes over ``A``: the QR of the sketch,
    ``0.66 (m/d) d^2 / n`` passes, plus the CG steps to ``tol=1e-14``, about
    ``64 / ln(m/d)`` passes, over ``m/d`` in {4, 6, 8, 12, 16, 24, 32}. Very tall matrices get a
    large sketch (fewer, expensive passes); wide-ish ones a small sketch (a costly QR).

    Examples
    --------
    >>> from sparsenum.sketch import auto_oversampling
    >>> auto_oversampling(500_000, 200), auto_oversampling(100_000, 2000)
    (32.0, 4.0)
    """
    n = check_int(n, "n", low=1)
    d = check_int(d, "d", low=1)
    return min(_OVERSAMPLING_GRID,
               key=lambda over: _QR_COST * over * d * d / n + 64.0 / math.log(over))
