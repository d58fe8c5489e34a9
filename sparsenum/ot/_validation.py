"""Input checks of the OT solvers: weights, costs, regularisation, potentials, progress hooks.

Every solver works on a *normalised* problem: ``a`` and ``b`` divided by their own total masses,
so both have mass one. This makes ``tol`` relative to the total mass (a problem with masses of
1e-9 is solved as accurately as one with mass 1), absorbs the rounding of float32 marginals
(whose masses differ by about 1e-8 relative: no plan meets both to 1e-9, and an absolute test
would run to ``max_iter``), and keeps huge masses from overflowing the plan's sums. Results are
scaled back to the mass of ``a``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..utils import check_array, check_int, check_scalar, check_shape
from ..utils.validation import check_callback, check_verbose, describe_value  # noqa: F401 (shared)
from ._result import Support

#: Relative tolerance on ``|sum(a) - sum(b)|`` accepted by every solver.
MASS_RTOL = 1e-6
#: ``reg`` below this times ``max|C|`` is refused: the exponents ``(f_i + g_j - C_ij) / reg``
#: then carry a rounding error of ``eps * max|C| / reg`` > 2e-6 from the costs alone, so the
#: plan's entries are set by rounding, not by the problem (and at subnormal ``reg`` they are
#: ``inf - inf = NaN``).
REG_FLOOR = 1e-10
#: Costs above this in absolute value are refused: potentials and their sums (``f_i + g_j``,
#: ``a @ f``) reach a few times ``max|C|`` and would overflow float64.
COST_MAX = 1e300


@dataclasses.dataclass(frozen=True)
class Marginals:
    """The user's weights (float64) and the unit-mass weights a solver works with."""

    a: np.ndarray  # as given (float64 view or copy)
    b: np.ndarray
    mass: float  # total mass of a: plans are scaled back to it
    a_unit: np.ndarray  # a / sum(a)
    b_unit: np.ndarray  # b / sum(b)

    @property
    def b_solved(self) -> np.ndarray:
        """``b`` rescaled to the mass of ``a``: the column marginal the returned plan meets."""
        return self.b_unit * self.mass


def _weights(x, name: str) -> tuple[np.ndarray, float]:
    arr = check_array(x, name, ndim=1, nonnegative=True)
    with np.errstate(over="ignore"):
        total = float(arr.sum())
    if not math.isfinite(total):
        raise ValueError(f"{name} must have a finite total mass; its sum overflows float64 "
                         f"(largest entry {arr.max():.3g}): rescale {name}")
    if not total > 0:
        raise ValueError(f"{name} must have positive total mass; got sum {total:g}")
    return arr, total


def check_weights(a, b, C) -> tuple[Marginals, np.ndarray]:
    """Validate ``a``, ``b`` and ``C``; the error names the argument whose length is wrong."""
    a, sa = _weights(a, "a")
    b, sb = _weights(b, "b")
    C = check_array(C, "C", ndim=2)
    n, m = C.shape
    largest = float(np.abs(C).max())
    if largest > COST_MAX:
        raise ValueError(f"C must have entries of magnitude at most {COST_MAX:g} (potentials "
                         f"and their sums would overflow); got max|C| = {largest:.3g}: rescale C")
    if C.shape != (a.shape[0], b.shape[0]):
        if n == a.shape[0] and m != b.shape[0]:
            raise ValueError(f"b must have length {m} (the number of columns of C, shape "
                             f"{C.shape}); got {b.shape[0]}")
        if m == b.shape[0] and n != a.shape[0]:
            raise ValueError(f"a must have length {n} (the number of rows of C, shape "
                             f"{C.shape}); got {a.shape[0]}")
        check_shape(C, "C", (a.shape[0], b.shape[0]))
    if abs(sa - sb) > MASS_RTOL * max(sa, sb):
        raise ValueError(
            f"a and b must have the same total mass (relative tolerance {MASS_RTOL:g}); got "
            f"sum(a)={sa:.10g} and sum(b)={sb:.10g}")
    return Marginals(a=a, b=b, mass=sa, a_unit=a / sa, b_unit=b / sb), C


def smallest_reg(C: np.ndarray) -> float:
    """The smallest regularisation the solvers accept for costs ``C`` (see REG_FLOOR)."""
    scale = float(np.abs(C).max()) if C.size else 0.0
    return max(REG_FLOOR * scale, np.finfo(np.float64).tiny)


def check_reg(reg, C: np.ndarray, *, name: str = "reg", mass: float = 1.0) -> float:
    """``reg > 0``, and not so small that float64 rounding of ``C`` decides the plan.

    ``mass`` is the total mass for regularisers that scale with it (the quadratic one: the
    solver's problem on unit masses has ``reg * mass``).
    """
    reg = check_scalar(reg, name, low=0.0, include_low=False)
    floor = smallest_reg(C) / mass
    if not reg * mass >= smallest_reg(C):
        scale = float(np.abs(C).max())
        raise ValueError(
            f"{name}={reg!r} is too small for these costs (max|C| = {scale:.3g}"
            + (f", total mass {mass:.3g}" if mass != 1.0 else "")
            + f"): the smallest usable value is {floor:.3g}; below it float64 rounding of C "
            "alone changes the plan's entries")
    return reg


@dataclasses.dataclass(frozen=True)
class Problem:
    """A validated problem: the user's inputs and the unit-mass problem on the support.

    ``a``, ``b`` (unit mass) and ``C`` are restricted to the rows and columns of positive
    weight; solvers work on them and :meth:`plan_scale` brings plans back to the user's mass.
    """

    marginals: Marginals
    C_full: np.ndarray
    reg: float
    support: Support
    a: np.ndarray
    b: np.ndarray
    C: np.ndarray

    @classmethod
    def of(cls, a, b, C, reg, *, quadratic: bool = False,
           regularised: bool = True) -> Problem:
        marginals, C_full = check_weights(a, b, C)
        mass = marginals.mass
        if regularised:
            reg = check_reg(reg, C_full, mass=mass if quadratic else 1.0)
        # the objective's terms: <C, P> <= mass max|C|; the entropy term is about reg * mass,
        # the quadratic one at most reg / 2 * mass^2
        reg_scale = 0.0 if not regularised else reg * mass if quadratic else reg
        scale = mass * max(float(np.abs(C_full).max()), reg_scale)
        if not scale <= COST_MAX:
            raise ValueError(
                f"the total mass of a and b ({mass:.3g}) times the cost scale (max|C|, or the "
                f"regulariser's if larger) must be at most {COST_MAX:g} so that costs and "
                "objectives stay finite; got "
                f"{scale:.3g}: rescale a and b (plans and costs scale linearly with the mass)")
        # the support of the problem the solvers see: a weight far below the total mass can
        # underflow to zero once divided by it, and a zero-weight row inside the support
        # gets a -inf potential
        support = Support.of(marginals.a_unit, marginals.b_unit)
        a_s, b_s, C_s = support.restrict(marginals.a_unit, marginals.b_unit, C_full)
        return cls(marginals, C_full, reg, support, a_s, b_s, C_s)

    @property
    def mass(self) -> float:
        return self.marginals.mass

    @property
    def shape(self) -> tuple[int, int]:
        return self.C_full.shape


def check_tol_max_iter(tol, max_iter) -> tuple[float, int]:
    tol = check_scalar(tol, "tol", low=0.0, include_low=False)
    max_iter = check_int(max_iter, "max_iter", low=1)
    return tol, max_iter


def check_init(init, marginals: Marginals):
    """Warm-start potentials ``(f, g)``; ``-inf`` only where the weight is zero (as returned)."""
    if init is None:
        return None
    if not isinstance(init, (tuple, list)) or len(init) != 2:
        raise TypeError(f"init must be None or a pair (f, g) of potentials; got "
                        f"{describe_value(init)}")
    out = []
    for k, (values, weights, label) in enumerate(((init[0], marginals.a, "f"),
                                                  (init[1], marginals.b, "g"))):
        name = f"init[{k}] ({label})"
        arr = check_array(values, name, ndim=1, allow_inf=True)
        check_shape(arr, name, (weights.shape[0],))
        bad = ~np.isfinite(arr) & ((arr > 0) | (weights > 0))
        if bad.any():
            raise ValueError(f"{name} must be finite where the weight is positive (-inf is "
                             f"allowed only at zero weights); got {int(bad.sum())} infinite "
                             "entries")
        out.append(arr)
    return tuple(out)

