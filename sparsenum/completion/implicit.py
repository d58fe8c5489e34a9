"""The implicit-feedback prior of the row factors (SVD++ / NSVD, Koren 2008; Paterek 2007).

Which columns a row observed is information by itself: on ratings, which lectures a student
evaluated (or films a user rated) says something about their taste, even before the values.
The model keeps ``X = mu + a 1^T + 1 c^T + U V^T`` but pulls each row factor ``u_i`` toward a
prior mean learned from the row's observed set,

    q_i = Y^T x_i,   x_i = n_i^{-1/2} (indicator of the columns row i observed),

so the factor penalty ``reg n_i ||u_i||^2`` becomes ``reg n_i ||u_i - q_i||^2``, and
``Y`` (``n x k``) gets its own ridge ``implicit_reg ||Y||^2``. With ``u_i = z_i + q_i`` this is
Koren's SVD++ objective (the row factor ``z_i + Y^T x_i``, penalties ``reg n_i ||z_i||^2`` and
``implicit_reg ||Y||^2``); written with the prior it alternates in closed form:

* row step: each row's ridge problem with its penalty centred at ``q_i`` (the targets minus
  ``q_i . v_j``, solved for ``u_i - q_i``);
* ``Y`` step: ``min_Y sum_i reg n_i ||u_i - Y^T x_i||^2 + implicit_reg ||Y||^2``, whose normal
  equations are ``(B^T B + (implicit_reg / reg) I) Y = B^T diag(n^{1/2}) U`` with ``B`` the
  0/1 pattern of the observations (the ``n_i`` cancel against ``x_i``'s scaling). ``B^T B`` is
  ``n x n`` and need not be formed: conjugate gradients with the operator ``Y -> B^T (B Y) +
  (implicit_reg / reg) Y``, Jacobi preconditioned (its diagonal is the column counts plus the
  ratio) and warm-started from the previous ``Y``, cost ``O(|Omega| k)`` per iteration. Every
  iteration of conjugate gradients lowers the quadratic it minimises, so the step never raises
  the objective, whatever its tolerance;
* column step: unchanged (it sees the row factors ``U`` only).

A new row's factor is its prior mean ``Y^T x`` pulled toward its own observations by the
same penalty. With ``reg = 0`` the prior has no weight, and the model is plain AltMin.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["IMPLICIT", "ImplicitPrior", "ImplicitSettings"]


@dataclasses.dataclass(frozen=True)
class ImplicitSettings:
    """Tuning constants of the implicit prior, each with its reason."""

    #: cap on conjugate-gradient iterations of one ``Y`` step: warm starts leave a few digits
    #: to gain per sweep, and the Jacobi-preconditioned operator is well conditioned (the
    #: ratio ``implicit_reg / reg`` lifts its smallest eigenvalues)
    max_iterations: int = 200
    #: implicit penalties tried by ``implicit="auto"``, as multiples of ``reg`` times the
    #: mean number of observations per column (``implicit_reg`` and ``reg n_j`` both weigh a
    #: column's factor-sized unknowns), largest (the weakest prior) first. On lecture ratings
    #: the held-out error is flat within a factor two of its best, near 1; the path stops at
    #: the first candidate that does not improve after one that did
    ratio_grid: tuple = (2.0, 1.0, 0.5, 0.25)


IMPLICIT = ImplicitSettings()


class ImplicitPrior:
    """Prior means ``q_i = Y^T x_i`` of the row factors and the joint step of the row factors,
    row biases and ``Y``, on ``data`` (``Observed`` or ``DaskObserved``: both give
    ``implicit_row_systems``, ``implicit_gram``, ``pattern_matmat`` and ``pattern_rmatmat``)."""

    def __init__(self, data, reg, implicit_reg, n_jobs=None,
                 settings: ImplicitSettings = IMPLICIT):
        counts = data.row_counts.astype(np.float64)
        self.data = data
        self.n_jobs = n_jobs
        self.implicit_reg = float(implicit_reg)
        self.weights = float(reg) * counts  # the factor penalty's reg n_i
        self.row_scale = np.where(counts > 0, 1.0 / np.sqrt(np.maximum(counts, 1.0)), 0.0)
        self.settings = settings

    def means(self, Y) -> np.ndarray:
        """``Q`` with rows ``q_i = Y^T x_i`` (zero for rows without observations)."""
        return self.row_scale[:, None] * self.data.pattern_matmat(Y, self.n_jobs)

    def penalty(self, U, Y) -> float:
        """``reg sum_i n_i ||u_i - q_i||^2 + implicit_reg ||Y||^2``."""
        D = U - self.means(Y)
        return (float(self.weights @ np.einsum("ij,ij->i", D, D))
                + self.implicit_reg * float(np.einsum("ij,ij->", Y, Y)))

    def joint_step(self, V, c, U, a, Y, *, offset, fit_bias, pen_bias, tol):
        """The row factors ``U``, row biases ``a`` and ``Y`` minimising the objective with
        ``V, c`` fixed, ``Y`` to a relative residual ``tol``; ``U, a`` are updated in place.
        Returns the new ``Y`` and the conjugate-gradient iterations.

        Row ``i``'s unknowns ``z_i = (u_i, a_i)`` solve ``(G_i + L_i) z_i = A_i^T t_i + L_i m_i``
        with ``L_i = diag(reg n_i, ..., pen_bias_i)`` and the centre ``m_i = (q_i, 0)``.
        Eliminating them leaves a quadratic in the centres, ``sum_i q_i^T H_i q_i - 2 q_i^T
        b_i``, with ``H_i`` and ``b_i`` the factor block of ``L_i - L_i K_i^{-1} L_i`` and of
        ``L_i K_i^{-1} A_i^T t_i`` (``K_i = G_i + L_i``); with ``q_i = x_i^T Y`` its normal
        equations in ``Y`` are ``B^T S H S B Y + implicit_reg Y = B^T S b`` (``S =
        diag(n_i^{-1/2})``), solved by Jacobi-preconditioned conjugate gradients from the
        previous ``Y``. Minimising jointly removes the slow exchange between the row factors
        and their prior that alternating the two would have (a sparsely observed row follows
        its prior almost entirely).
        """
        from ._kernels import implicit_row_solutions

        m, k = U.shape
        d = k + (1 if fit_bias else 0)
        diagonal = np.empty((m, d))
        diagonal[:, :k] = self.weights[:, None]
        if fit_bias:
            diagonal[:, k] = pen_bias
        L, ok, H, b, rhs = self.data.implicit_row_systems(V, c, offset, fit_bias, diagonal,
                                                          n_jobs=self.n_jobs)
        Y, iterations = self._solve_centres(H, b, Y, tol)
        Z = np.empty((m, d))
        implicit_row_solutions(L, ok, rhs, diagonal, self.means(Y), Z)
        U[:] = Z[:, :k]
        if fit_bias:
            a[:] = Z[:, k]
        return Y, iterations

    def _solve_centres(self, H, b, Y, tol):
        s = self.row_scale[:, None]
        scaled_H = (self.row_scale ** 2)[:, None, None] * H
        n_jobs = self.n_jobs

        def pattern_rmatmat(W):
            return self.data.pattern_rmatmat(W, n_jobs)

        def operator(W):
            return self.data.implicit_gram(scaled_H, W, n_jobs=n_jobs) + self.implicit_reg * W

        rhs = pattern_rmatmat(s * b)
        scale = _norm(rhs)
        if scale == 0.0:
            return np.zeros_like(Y), 0
        jacobi = 1.0 / (pattern_rmatmat((s * s) * np.einsum("iaa->ia", H))
                        + self.implicit_reg)
        Y = Y.copy()
        r = rhs - operator(Y)
        z = jacobi * r
        p = z.copy()
        rz = _dot(r, z)
        iterations = 0
        while _norm(r) > tol * scale and iterations < self.settings.max_iterations:
            Ap = operator(p)
            curvature = _dot(p, Ap)
            if curvature <= 0.0:
                break
            alpha = rz / curvature
            Y += alpha * p
            r -= alpha * Ap
            z = jacobi * r
            rz_next = _dot(r, z)
            p = z + (rz_next / rz) * p
            rz = rz_next
            iterations += 1
        return Y, iterations


def _dot(A, B) -> float:
    # einsum, not a BLAS dot: BLAS threads woken for a few thousand numbers cost more than
    # the product (see regularization._frobenius)
    return float(np.einsum("ij,ij->", A, B))


def _norm(A) -> float:
    return math.sqrt(_dot(A, A))
