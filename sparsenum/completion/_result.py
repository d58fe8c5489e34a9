"""The result type of :func:`sparsenum.completion.altmin_complete`."""

from __future__ import annotations

import dataclasses

import numpy as np

from sparsenum.base import SolverResult

__all__ = ["CompletionResult"]


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class CompletionResult(SolverResult):
    """A completed matrix ``X = global_mean + row_bias[:, None] + col_bias[None, :] + U V^T``.

    Attributes
    ----------
    row_factors : ndarray of shape (m, rank)
        ``U``. A row with no observation has zero factors when ``reg > 0``.
    col_factors : ndarray of shape (n, rank)
        ``V``.
    row_bias, col_bias : ndarray of shape (m,) and (n,)
        Per-row and per-column offsets (zeros when ``biases=False``).
    global_mean : float
        Mean of the observed values (0 when ``biases=False``).
    reg : float
        The factor penalty ``lambda`` used (chosen on a validation split if ``reg="auto"``).
    bias_reg : tuple of two floats
        The bias penalties used on rows and on columns (zeros when ``biases=False``).
    implicit_reg : float or None
        The penalty of the implicit prior's ``Y`` (chosen on the validation split if
        ``implicit="auto"``); None when the model has no implicit prior.
    implicit_factors : ndarray of shape (n, rank)
        ``Y``: row ``i``'s factor is shrunk toward ``Y^T x_i``, ``x_i`` the indicator of its
        observed columns over the square root of their number (zeros without the prior).
    train_rmse : float
        Root-mean-square error on the observed entries, recomputed from the returned factors.
    reg_search : ndarray of shape (n_candidates, 5)
        The candidates tried by ``reg="auto"``, ``bias_reg="auto"`` or ``implicit="auto"``:
        columns ``reg`` (NaN for the bias-only fits), row and column bias penalties,
        ``implicit_reg`` (NaN without the prior), and the validation RMSE of each (no rows
        when nothing was searched).
    solver_rows : dict of str to int
        How many rows and columns each per-row solver handled (``"exact"``, ``"cg"``,
        ``"sketch"``).
    converged, n_iter, history
        See :class:`~sparsenum.base.SolverResult`. One iteration is a sweep (a row step then a
        column step). The history has one row per sweep: the regularised objective, the
        relative change of the fitted values on the observed entries (the stopping criterion),
        ``train_rmse``, ``validation_rmse`` (NaN without a validation set) and the
        ``inner_iterations`` of the iterative row solvers during the sweep.
    """

    row_factors: np.ndarray
    col_factors: np.ndarray
    row_bias: np.ndarray
    col_bias: np.ndarray
    global_mean: float
    reg: float
    bias_reg: tuple
    implicit_reg: float | None
    implicit_factors: np.ndarray
    train_rmse: float
    reg_search: np.ndarray
    solver_rows: dict

    @property
    def shape(self) -> tuple[int, int]:
        """``(m, n)``, the shape of the completed matrix."""
        return (self.row_factors.shape[0], self.col_factors.shape[0])

    def predict(self, rows, cols) -> np.ndarray:
        """Completed entries at ``(rows[t], cols[t])``.

        Parameters
        ----------
        rows, cols : array-like of int, of one length
            Row and column indices, ``0 <= rows < m`` and ``0 <= cols < n``.

        Returns
        -------
        values : ndarray of float64

        Examples
        --------
        >>> import numpy as np
        >>> from sparsenum.completion import altmin_complete
        >>> M = np.outer([1.0, 2.0, 3.0], [1.0, 1.0, 2.0])
        >>> M[0, 2] = np.nan
        >>> result = altmin_complete(M, 1, reg=0, biases=False, random_state=0)
        >>> result.predict([0], [2]).round(6)
        array([2.])
        """
        from ._validation import check_ids

        m, n = self.shape
        rows = check_ids(rows, "rows", high=m)
        cols = check_ids(cols, "cols", high=n)
        if rows.shape != cols.shape:
            raise ValueError(f"rows and cols must have one length; got {rows.shape[0]} and "
                             f"{cols.shape[0]}")
        out = self.global_mean + self.row_bias[rows] + self.col_bias[cols]
        step = max(1, (1 << 20) // max(1, self.row_factors.shape[1]))  # bound the temporary
        for lo in range(0, rows.shape[0], step):
            r, c = rows[lo:lo + step], cols[lo:lo + step]
            out[lo:lo + step] += np.einsum("ij,ij->i", self.row_factors[r], self.col_factors[c])
        return out

    def to_dense(self) -> np.ndarray:
        """The whole completed ``m x n`` matrix (for matrices that fit in memory).

        Examples
        --------
        >>> import numpy as np
        >>> from sparsenum.completion import altmin_complete
        >>> M = np.outer([1.0, 2.0, 3.0], [1.0, 1.0, 2.0])
        >>> M[0, 2] = np.nan
        >>> altmin_complete(M, 1, reg=0, biases=False).to_dense().round(6)
        array([[1., 1., 2.],
               [2., 2., 4.],
               [3., 3., 6.]])
        """
        return (self.global_mean + self.row_bias[:, None] + self.col_bias[None, :]
                + self.row_factors @ self.col_factors.T)
