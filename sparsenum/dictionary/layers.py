"""Compressed linear layers: ``x -> x W~`` evaluated from the factors, never forming ``W~``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..utils import check_array, check_sparse

__all__ = ["LowRankLayer", "SparseDictionaryLayer"]


class _FactoredLayer:
    left: np.ndarray
    # make ``ndarray @ layer`` defer to __rmatmul__ instead of converting the layer
    __array_ufunc__ = None

    @property
    def shape(self) -> tuple[int, int]:
        """Shape ``(d_in, d_out)`` of the weight matrix the layer stands for."""
        return (self.left.shape[0], self._right().shape[1])

    def _right(self):
        raise NotImplementedError

    def matmul(self, x) -> np.ndarray:
        """``x @ W~`` for ``x`` of shape (..., d_in), as ``(x @ left) @ right``."""
        x = check_array(x, "x", ndim=(1, 2))
        if x.shape[-1] != self.shape[0]:
            raise ValueError(f"x must have {self.shape[0]} columns (the layer's input "
                             f"dimension); got shape {x.shape}")
        hidden = np.atleast_2d(x) @ self.left
        out = np.asarray(hidden @ self._right())
        return out[0] if x.ndim == 1 else out

    def __rmatmul__(self, x):
        return self.matmul(x)

    def scaled(self, factor: float):
        """The layer for ``factor * W~`` (the right factor scaled)."""
        raise NotImplementedError

    def toarray(self) -> np.ndarray:
        """The dense ``(d_in, d_out)`` weight matrix (for inspection; defeats the compression)."""
        return np.asarray(self.left @ self._right())


class SparseDictionaryLayer(_FactoredLayer):
    """``W~ = D S`` with a dense dictionary ``D`` (d_in x k) and column-sparse codes ``S``.

    ``x @ W~`` is computed as ``(x @ D) @ S``: a dense product into the k-dimensional atom
    space, then a sparse one.

    Parameters
    ----------
    dictionary : ndarray of shape (d_in, k)
    codes : scipy.sparse matrix of shape (k, d_out)
        At most ``n_nonzero`` entries per column.

    Attributes
    ----------
    n_params : float
        Stored numbers counted as in CoSpaDi: ``d_in * k`` dictionary values, ``nnz(S)`` code
        values and the ``k * d_out`` bit sparsity mask counted as ``k * d_out / 16`` 16-bit
        values.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from sparsenum.dictionary import SparseDictionaryLayer
    >>> layer = SparseDictionaryLayer(np.eye(2), sp.csr_matrix([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]))
    >>> layer.matmul(np.array([[1.0, 1.0]]))
    array([[1., 3., 2.]])
    >>> layer.n_params
    7.375
    """

    def __init__(self, dictionary, codes):
        self.left = check_array(dictionary, "dictionary", ndim=2)
        if not sp.issparse(codes):
            raise TypeError("codes must be a scipy.sparse matrix of shape (k, d_out)")
        self.codes = check_sparse(codes, "codes", format="csr")
        if self.codes.shape[0] != self.left.shape[1]:
            raise ValueError(f"codes must have {self.left.shape[1]} rows (one per atom); "
                             f"got shape {codes.shape}")

    def _right(self):
        return self.codes

    def scaled(self, factor: float) -> SparseDictionaryLayer:
        return SparseDictionaryLayer(self.left, self.codes * factor)

    @property
    def dictionary(self) -> np.ndarray:
        return self.left

    @property
    def n_params(self) -> float:
        d_in, k = self.left.shape
        return float(d_in * k + self.codes.nnz + k * self.codes.shape[1] / 16.0)

    def __repr__(self) -> str:
        return (f"SparseDictionaryLayer(shape={self.shape}, atoms={self.left.shape[1]}, "
                f"nnz={self.codes.nnz})")


class LowRankLayer(_FactoredLayer):
    """``W~ = A B`` with ``A`` (d_in x r) and ``B`` (r x d_out), both dense.

    Attributes
    ----------
    n_params : float
        ``r * (d_in + d_out)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.dictionary import LowRankLayer
    >>> layer = LowRankLayer(np.ones((3, 1)), np.ones((1, 2)))
    >>> layer.matmul(np.ones(3)), layer.n_params
    (array([3., 3.]), 5.0)
    """

    def __init__(self, left, right):
        self.left = check_array(left, "left", ndim=2)
        self.right = check_array(right, "right", ndim=2)
        if self.right.shape[0] != self.left.shape[1]:
            raise ValueError(f"right must have {self.left.shape[1]} rows; got shape "
                             f"{self.right.shape}")

    def _right(self):
        return self.right

    def scaled(self, factor: float) -> LowRankLayer:
        return LowRankLayer(self.left, self.right * factor)

    @property
    def n_params(self) -> float:
        return float(self.left.shape[1] * (self.left.shape[0] + self.right.shape[1]))

    def __repr__(self) -> str:
        return f"LowRankLayer(shape={self.shape}, rank={self.left.shape[1]})"
