"""Sketch operators: random ``S`` of shape ``m x n`` applied to tall matrices without forming ``S``.

All operators satisfy ``E[S^T S] = I`` and share one interface: ``m`` (rows of ``S``),
``random_state``, and ``apply(A)`` for dense arrays, scipy.sparse matrices and Dask arrays
chunked by rows. One operator instance is one draw of ``S`` (for each ``n``): its seed is fixed
when it is built, so ``op.apply(A)`` and ``op.apply(b)`` use the same ``S``.

Every operator is a sum over row blocks, ``S A = sum_i S[:, rows_i] A[rows_i]``, and the columns
of ``S`` belonging to a block are reproducible from the block's global row offset; this is what
lets the Dask path sketch each chunk where it lives and sum, with the in-memory result.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ..utils import (
    WAKE_UP_WORK,
    check_int,
    check_n_jobs,
    check_one_of,
    effective_n_jobs,
    random_seed,
)
from . import _kernels
from ._validation import check_matrix, check_memory, is_dask_array

__all__ = ["SRHT", "CountSketch", "GaussianSketch", "SketchOperator", "SparseSign", "make_sketch"]


class SketchOperator:
    """Base class: a random ``m x n`` embedding with ``E[S^T S] = I``.

    Parameters
    ----------
    m : int
        Number of rows of ``S`` (the sketch size).
    random_state : None, int, numpy.random.RandomState or Generator
        Seeds the draw of ``S``; the seed is fixed at construction.
    n_jobs : int, optional
        Threads for ``scipy.fft`` in ``SRHT(transform="dct")`` (``None``: one thread for
        transforms of fewer than about ``2e7`` flops, numba's thread count above; ``-1``: all
        cores); the numba kernels are serial (see ``_kernels.py``).
    """

    #: short name used by ``make_sketch`` and in results
    name = "base"
    #: whether every entry of ``S`` is nonzero (the l_inf guarantee needs a dense sketch)
    dense = True

    def __init__(self, m, *, random_state=None, n_jobs=None):
        self.m = check_int(m, "m", low=1)
        self.random_state = random_state
        self.seed = random_seed(random_state)
        self.n_jobs = check_n_jobs(n_jobs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(m={self.m}, random_state={self.random_state!r})"

    # -- public ------------------------------------------------------------------------------
    def apply(self, A):
        """Return ``S @ A`` for ``A`` of shape ``(n,)`` or ``(n, k)`` with ``m <= n``.

        Parameters
        ----------
        A : ndarray, scipy.sparse matrix (CSR, CSC or COO) or dask.array.Array
            The matrix (or vector) to sketch; a Dask array must be chunked by rows.

        Returns
        -------
        SA : ndarray of shape ``(m,)`` or ``(m, k)``, or a dask array for Dask input
            Dense, whatever the input.
        """
        if is_dask_array(A):
            from ._dask import sketch_dask  # dask is only imported for dask input

            A = check_matrix(A, "A", ndim=(1, 2))
            self._check_n(A.shape[0], A.shape[1] if A.ndim == 2 else 1)
            return sketch_dask(self, A)
        return self._apply_valid(check_matrix(A, "A", ndim=(1, 2)))

    def _apply_valid(self, A):
        """:meth:`apply` for an in-memory ``A`` that :func:`check_matrix` has already passed."""
        n = A.shape[0]
        self._check_n(n, 1 if A.ndim == 1 else A.shape[1])
        vector = A.ndim == 1
        block = A[:, None] if vector else A
        out = self._apply_full(block, self._prepare(n))
        return out[:, 0] if vector else out

    def _check_n(self, n: int, k: int = 1) -> None:
        if self.m > n:
            raise ValueError(f"m must be <= the number of rows of A, {n}; got m={self.m}")
        check_memory(8.0 * self.m * (k + self._work_columns(n)),
                     f"a sketch of m={self.m} rows (sketch_size) for {k} columns")

    def _work_columns(self, n: int) -> int:
        """Columns of ``m``-row scratch space the operator allocates besides its output."""
        return 0

    # -- implementation hooks ------------------------------------------------------------------
    def _prepare(self, n: int):
        """Randomness shared by all row blocks (e.g. SRHT's sampled rows); cheap, O(m)."""
        return None

    def _apply_full(self, A, prepared):
        return self._apply_block(A, 0, A.shape[0], prepared)

    def _apply_block(self, A, offset: int, n: int, prepared) -> np.ndarray:  # pragma: no cover
        """``S[:, offset:offset + len(A)] @ A`` for a dense 2-D or CSR row block."""
        raise NotImplementedError

    def _threads(self, work: float) -> int:
        """Threads for ``work`` flops: one for small inputs unless ``n_jobs`` says otherwise."""
        return effective_n_jobs(self.n_jobs, work, WAKE_UP_WORK)

    #: row ranges per kernel call (the numba kernels are serial, see _kernels.py)
    _PARTS = 1


class GaussianSketch(SketchOperator):
    """Dense Gaussian sketch, ``S_ij ~ N(0, 1/m)`` i.i.d.

    The reference dense sketch of the l_inf analysis; ``S A`` costs ``O(m n k)`` (a GEMM), so use
    it for moderate ``n`` or as a baseline. Columns of ``S`` are generated in canonical blocks of
    1024 rows from ``(seed, block)``, never all at once.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.sketch import GaussianSketch
    >>> A = np.random.default_rng(0).standard_normal((2000, 5))
    >>> GaussianSketch(400, random_state=0).apply(A).shape
    (400, 5)
    """

    name = "gaussian"
    _BLOCK = 1024

    def _work_columns(self, n: int) -> int:
        return min(n, self._BLOCK)  # one block of columns of S at a time

    def _block_columns(self, c: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, c])
        return rng.standard_normal((self.m, self._BLOCK)) / math.sqrt(self.m)

    def _apply_block(self, A, offset, n, prepared):
        rows = A.shape[0]
        out = np.zeros((self.m, A.shape[1]))
        B = self._BLOCK
        for c in range(offset // B, (offset + rows - 1) // B + 1):
            lo, hi = max(c * B, offset), min((c + 1) * B, offset + rows)
            S = self._block_columns(c)[:, lo - c * B: hi - c * B]
            part = A[lo - offset: hi - offset]
            out += (part.T @ S.T).T if sp.issparse(part) else S @ part
        return out


class SRHT(SketchOperator):
    """Subsampled randomized Hadamard (or cosine) transform, ``S = sqrt(n/m) P H D``.

    ``D`` flips the sign of each row at random, ``H`` is an orthogonal transform that spreads
    every row over all coordinates, and ``P`` keeps ``m`` rows uniformly without replacement.
    With ``transform="wht"`` (default) ``H`` is the Walsh-Hadamard transform of size
    ``n_pad = 2**ceil(log2 n)`` (``A`` implicitly padded with zero rows), computed by a numba
    kernel that transforms aligned row blocks of size ``B`` in cache and combines only the ``m``
    sampled rows across blocks: ``O(n k log B + (n/B) m k)``. The same factorisation makes the
    Dask path exact. With ``transform="dct"``, ``H`` is ``scipy.fft.dct(norm="ortho")`` over the
    whole column (Blendenpik's choice; in-memory input only).

    Parameters
    ----------
    m : int
        Rows kept.
    transform : {"wht", "dct"}, default="wht"
        The orthogonal transform ``H``.
    random_state, n_jobs
        See :class:`SketchOperator`.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.sketch import SRHT
    >>> A = np.random.default_rng(0).standard_normal((3000, 4))
    >>> SA = SRHT(200, random_state=0).apply(A)
    >>> SA.shape
    (200, 4)
    >>> bool(np.allclose(np.linalg.norm(SA), np.linalg.norm(A), rtol=0.2))
    True
    """

    name = "srht"

    def __init__(self, m, *, transform="wht", random_state=None, n_jobs=None):
        super().__init__(m, random_state=random_state, n_jobs=n_jobs)
        self.transform = check_one_of(transform, "transform", ("wht", "dct"))

    def _prepare(self, n):
        n_transform = 1 << max(0, (n - 1).bit_length()) if self.transform == "wht" else n
        rng = np.random.default_rng([self.seed, 1])
        samples = np.sort(rng.choice(n_transform, self.m, replace=False)).astype(np.int64)
        block = 1 << max(8, min(12, (self.m - 1).bit_length()))  # B ~ m balances both terms
        log_block = int(math.log2(min(block, n_transform))) if n_transform > 1 else 0
        return samples, log_block, n_transform

    def _apply_full(self, A, prepared):
        if self.transform == "dct":
            return self._apply_dct(A, prepared)
        return self._apply_block(A, 0, A.shape[0], prepared)

    def _apply_block(self, A, offset, n, prepared):
        if self.transform != "wht":
            raise ValueError("SRHT(transform='dct') mixes all rows in one transform and cannot "
                             "be applied block by block (Dask); use transform='wht'")
        samples, log_block, _ = prepared
        scale = 1.0 / math.sqrt(self.m)
        if not sp.issparse(A):
            return scale * _kernels.srht_wht_dense(A, offset, self.seed, samples, log_block,
                                                   self._PARTS)
        # sparse input: densify aligned row slabs of bounded size (the transform is dense)
        out = np.zeros((self.m, A.shape[1]))
        slab = max(1 << log_block, (1 << 24) // max(1, A.shape[1]))
        slab = ((slab >> log_block) << log_block) or (1 << log_block)
        start = 0
        while start < A.shape[0]:
            stop = min(A.shape[0], ((offset + start) // slab + 1) * slab - offset)
            dense = np.ascontiguousarray(A[start:stop].toarray())
            out += _kernels.srht_wht_dense(dense, offset + start, self.seed, samples,
                                           log_block, self._PARTS)
            start = stop
        return scale * out

    def _apply_dct(self, A, prepared):
        import scipy.fft

        samples, _, n = prepared
        signs = _kernels.row_signs(np.uint64(self.seed), np.int64(0), np.int64(n))
        out = np.empty((self.m, A.shape[1]))
        step = 64  # column slabs bound the n x step temporary
        # a real transform of length n costs about 2.5 n log2(n) flops per column
        workers = self._threads(2.5 * n * math.log2(max(n, 2)) * min(step, A.shape[1]))
        for c0 in range(0, A.shape[1], step):
            cols = A[:, c0:c0 + step]
            cols = cols.toarray() if sp.issparse(cols) else cols
            mixed = scipy.fft.dct(signs[:, None] * cols, type=2, norm="ortho", axis=0,
                                  workers=workers)
            out[:, c0:c0 + step] = mixed[samples]
        return math.sqrt(n / self.m) * out


class SparseSign(SketchOperator):
    """Sparse sign embedding: each column of ``S`` has ``nnz_per_column`` entries ``+-1/sqrt(s)``
    in distinct random rows (OSNAP-like).

    ``S A`` costs ``O(s nnz(A))`` through a numba kernel, for dense and CSR input. A fine
    preconditioner for ``sketch_and_precondition`` with ``m`` a few times ``d``; not a dense
    sketch, so it carries no l_inf guarantee for sketch-and-solve.

    Parameters
    ----------
    m : int
        Rows of ``S``.
    nnz_per_column : int, default=8
        Nonzeros per column (capped at ``m``).
    random_state, n_jobs
        See :class:`SketchOperator`.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.sketch import SparseSign
    >>> S = SparseSign(6, nnz_per_column=2, random_state=0).apply(np.eye(8))
    >>> np.count_nonzero(S, axis=0).tolist()
    [2, 2, 2, 2, 2, 2, 2, 2]
    """

    name = "sparse_sign"
    dense = False

    def __init__(self, m, *, nnz_per_column=8, random_state=None, n_jobs=None):
        super().__init__(m, random_state=random_state, n_jobs=n_jobs)
        self.nnz_per_column = check_int(nnz_per_column, "nnz_per_column", low=1)

    def _apply_block(self, A, offset, n, prepared):
        s = min(self.nnz_per_column, self.m)
        if sp.issparse(A):
            return _kernels.sparse_embed_csr(A, offset, self.seed, self.m, s, self._PARTS)
        return _kernels.sparse_embed_dense(A, offset, self.seed, self.m, s, self._PARTS)


class CountSketch(SparseSign):
    """CountSketch (Clarkson-Woodruff): one ``+-1`` per column of ``S`` in a random row.

    The cheapest sketch, ``O(nnz(A))``; the sparse negative control of the l_inf guarantee (it
    fails on coherent inputs, see the user guide).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.sketch import CountSketch
    >>> S = CountSketch(4, random_state=0).apply(np.eye(6))
    >>> np.abs(S).sum(axis=0).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """

    name = "countsketch"

    def __init__(self, m, *, random_state=None, n_jobs=None):
        super().__init__(m, nnz_per_column=1, random_state=random_state, n_jobs=n_jobs)


_SKETCHES = {cls.name: cls for cls in (GaussianSketch, SRHT, SparseSign, CountSketch)}


def make_sketch(sketch, m, *, random_state=None, n_jobs=None) -> SketchOperator:
    """A sketch operator from a name (``"gaussian"``, ``"srht"``, ``"sparse_sign"``,
    ``"countsketch"``) or an existing :class:`SketchOperator` (returned as is; ``m`` must then
    be ``None`` or equal to its ``m``).

    Examples
    --------
    >>> from sparsenum.sketch import make_sketch
    >>> make_sketch("srht", 64, random_state=0)
    SRHT(m=64, random_state=0)
    """
    if isinstance(sketch, SketchOperator):
        if m is not None and m != sketch.m:
            raise ValueError(f"m={m} disagrees with the given sketch operator's m={sketch.m}")
        return sketch
    if not isinstance(sketch, str):
        raise TypeError(f"sketch must be a name or a SketchOperator; got {sketch!r}")
    check_one_of(sketch, "sketch", tuple(_SKETCHES))
    return _SKETCHES[sketch](m, random_state=random_state, n_jobs=n_jobs)
