"""The problem interface of the general block coordinate descent framework.

Each problem minimises ``F(x) = f(x) + l1 * ||x||_1`` (optionally with ``x >= 0``) where ``f`` is
smooth. A :class:`ProblemState` holds the iterate together with what makes greedy rules cheap
(the full gradient, and for linear models the linear predictor), which the problem updates after
a block step by touching only what the block reaches, so selection rules never recompute a full
gradient. The problems themselves live in :mod:`.linear_problems` (least squares, binary and
multinomial logistic regression) and :mod:`.quadratic_problems` (sparse quadratics, label
propagation).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sparsenum.utils import check_array, check_bool, check_scalar

__all__ = ["BCDProblem", "ProblemState", "prox_l1"]


@dataclasses.dataclass
class ProblemState:
    """Iterate ``x`` (flat), linear predictor ``z`` (or None), gradient ``grad`` of f, ``f``."""

    x: np.ndarray
    z: np.ndarray | None
    grad: np.ndarray
    f: float


def prox_l1(v, threshold, nonneg):
    """Soft-thresholding (then projection on ``v >= 0`` if ``nonneg``); threshold may vary."""
    out = np.sign(v) * np.maximum(np.abs(v) - threshold, 0.0)
    return np.maximum(out, 0.0) if nonneg else out


class BCDProblem:
    """Interface of a problem usable by :func:`~sparsenum.bcd.block_coordinate_descent`.

    Attributes
    ----------
    n_coords : int
        Number of coordinates.
    l1 : float
        Strength of the L1 penalty (0 for a smooth problem).
    nonneg : bool
        Whether ``x >= 0`` is imposed (with the L1 term this is the nonnegative L1 penalty).
    is_quadratic : bool
        True if ``f`` is quadratic, so the matrix update is exact block minimisation.
    lipschitz : ndarray of shape (n_coords,)
        Coordinate-wise Lipschitz constants ``L_i`` of the gradient.
    """

    n_coords: int
    l1: float = 0.0
    nonneg: bool = False
    is_quadratic: bool = False
    supports_message_passing: bool = False
    lipschitz: np.ndarray

    # -- to be provided by subclasses --------------------------------------------------------
    def start(self, x0=None) -> ProblemState:  # pragma: no cover - interface
        raise NotImplementedError

    def apply(self, state: ProblemState, block: np.ndarray, d: np.ndarray) -> None:
        """Move ``x[block] += d`` and update ``z``, the gradient and ``f`` incrementally."""
        raise NotImplementedError  # pragma: no cover

    def smooth_change(self, state, block, d) -> float:
        """``f(x + U_b d) - f(x)`` without changing the state, computed without cancellation."""
        raise NotImplementedError  # pragma: no cover

    def directional_derivative(self, state, block, d) -> float:
        """``grad f(x + U_b d)_b' d``, free of the cancellation that value differences suffer."""
        raise NotImplementedError  # pragma: no cover

    def block_bound(self, block) -> np.ndarray:
        """A constant matrix ``H_b`` with ``hess_bb f(x) <= H_b`` for every ``x``."""
        raise NotImplementedError  # pragma: no cover

    def block_hessian(self, state, block) -> np.ndarray:
        """The exact block Hessian at the current iterate."""
        raise NotImplementedError  # pragma: no cover

    def diag_bound(self, block_size: int) -> np.ndarray:
        """``d`` with ``hess_bb f <= diag(d_b)`` for every block of at most ``block_size``."""
        raise NotImplementedError  # pragma: no cover

    def bound_matvec(self, v) -> np.ndarray:
        """Product of a full Hessian upper bound with ``v`` (approximate variable-block GSQ)."""
        raise NotImplementedError  # pragma: no cover

    # -- shared -------------------------------------------------------------------------------
    def objective(self, state: ProblemState) -> float:
        """``F(x) = f(x) + l1 ||x||_1``."""
        return float(state.f + self.l1 * np.abs(state.x).sum()) if self.l1 else float(state.f)

    @property
    def criterion_name(self) -> str:
        return "prox_gradient_residual" if (self.l1 or self.nonneg) else "max_abs_gradient"

    def optimality(self, state: ProblemState) -> float:
        """``max|grad f|``, or ``max|x - prox(x - grad f)|`` with an L1 penalty or ``x >= 0``."""
        if not (self.l1 or self.nonneg):
            return float(np.abs(state.grad).max())
        step = prox_l1(state.x - state.grad, self.l1, self.nonneg)
        return float(np.abs(state.x - step).max())

    def _check_penalty(self, l1, nonneg):
        self.l1 = check_scalar(l1, "l1", low=0.0)
        self.nonneg = check_bool(nonneg, "nonneg")

    def _check_x0(self, x0):
        if x0 is None:
            return np.zeros(self.n_coords)
        x = check_array(x0, "x0", ndim=1, copy=True)
        if x.shape[0] != self.n_coords:
            raise ValueError(f"x0 must have length n_coords={self.n_coords}; got {x.shape[0]}")
        if self.nonneg and (x < 0).any():
            raise ValueError("x0 must be nonnegative when nonneg=True")
        return x
