"""The observed entries held in memory twice, by rows (CSR) and by columns (CSC).

Alternating minimisation reads the observations row by row in the row step and column by column
in the column step; keeping both orders costs one copy of the values and makes both steps stream
through contiguous memory. Row chunks for the parallel kernels are balanced by counted work
(observations plus a constant per row), never by timings.
"""

from __future__ import annotations

import numpy as np

from ._kernels import Side

# a row costs about this many observations' worth of work besides its observations (the
# d x d solve), so chunks of many short rows are not starved
_ROW_OVERHEAD = 16
# chunks per thread: enough to even out rows of different lengths
_CHUNKS_PER_THREAD = 8


def chunk_bounds(ptr: np.ndarray, n_threads: int) -> np.ndarray:
    """Row boundaries splitting ``ptr``'s rows into chunks of about equal work."""
    m = ptr.shape[0] - 1
    n_chunks = max(1, min(m, _CHUNKS_PER_THREAD * n_threads))
    if n_chunks == 1:
        return np.array([0, m], dtype=np.int64)
    work = ptr[1:] + _ROW_OVERHEAD * np.arange(1, m + 1)
    targets = work[-1] * np.arange(1, n_chunks) / n_chunks
    inner = np.searchsorted(work, targets)
    return np.unique(np.concatenate([[0], inner, [m]])).astype(np.int64)


def _side(keys, other, vals, size):
    counts = np.bincount(keys, minlength=size)
    ptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return Side(ptr, np.ascontiguousarray(other, dtype=np.int64),
                np.ascontiguousarray(vals, dtype=np.float64)), counts


class Observed:
    """Observations of an ``m x n`` matrix from sorted triplets (see ``_validation.Triplets``)."""

    def __init__(self, triplets):
        self.shape = triplets.shape
        m, n = self.shape
        self.nnz = triplets.nnz
        self.rows, self.row_counts = _side(triplets.rows, triplets.cols, triplets.vals, m)
        order = np.argsort(triplets.cols, kind="stable")  # rows sorted already
        self.cols, self.col_counts = _side(triplets.cols[order], triplets.rows[order],
                                           triplets.vals[order], n)
        self.row_of = triplets.rows  # row of each observation, CSR order
        self._chunks = {}  # row chunks of each side, per thread count

    def values_sum(self) -> float:
        return float(self.rows.vals.sum())

    def rms(self, offset: float) -> float:
        """Root mean square of the observed values minus ``offset``."""
        return float(np.sqrt(np.mean((self.rows.vals - offset) ** 2))) if self.nnz else 0.0

    def matmat(self, W: np.ndarray, offset: float) -> np.ndarray:
        """``P_Omega(M - offset) @ W``."""
        return self._csr(offset) @ W

    def rmatmat(self, Y: np.ndarray, offset: float) -> np.ndarray:
        """``P_Omega(M - offset)^T @ Y``."""
        return self._csr(offset).T @ Y

    def _csr(self, offset):
        import scipy.sparse as sp

        return sp.csr_matrix((self.rows.vals - offset, self.rows.idx, self.rows.ptr),
                             shape=self.shape)

    def scaled_residual(self, mu, a, c, row_scale, col_scale):
        """``diag(row_scale) P_Omega(M - mu - a 1^T - 1 c^T) diag(col_scale)``: an operator
        with ``matmat`` and ``rmatmat`` (see ``regularization.factor_penalty_bound``)."""
        return ScaledResidual(_scaled_residual_csr(self, mu, a, c, row_scale, col_scale))

    # -- the operations alternating minimisation needs (the Dask backend has the same) -------
    def step(self, which, fixed_factors, fixed_bias, factors, bias, **solve):
        """Row step (``which="rows"``) or column step: solve every row of that side in place."""
        from .row_solvers import run_side

        side, counts = (self.rows, self.row_counts) if which == "rows" else \
            (self.cols, self.col_counts)
        cache = self._chunks.setdefault(which, {})
        return run_side(side, counts, fixed_factors, fixed_bias, factors, bias,
                        chunk_cache=cache, **solve)

    def implicit_row_systems(self, fixed_factors, fixed_bias, offset, fit_bias, diagonal,
                             n_jobs=None):
        """``(L, ok, H, b, rhs)``: every row's system of the implicit prior's joint step (see
        ``_kernels.implicit_row_systems``)."""
        from ._kernels import implicit_row_systems
        from ._threads import run_chunks

        m, d = diagonal.shape
        k = fixed_factors.shape[1]
        L, ok = np.empty((m, d, d)), np.empty(m, dtype=np.bool_)
        H, b, rhs = np.empty((m, k, k)), np.empty((m, k)), np.empty((m, d))
        run_chunks(implicit_row_systems,
                   (self.rows, fixed_factors, fixed_bias, float(offset), bool(fit_bias),
                    diagonal, L, ok, H, b, rhs),
                   self.rows.ptr, n_jobs, self.nnz * d * (d + 1) / 2 + m * d**3,
                   self._chunks.setdefault("rows", {}))
        return L, ok, H, b, rhs

    def implicit_gram(self, scaled_H, W, n_jobs=None):
        """``B^T (scaled_H (B W))`` with ``B`` the 0/1 pattern of the observations: each row's
        product, then each column's sum of its rows' products (in row order, whatever the
        chunks)."""
        from ._kernels import implicit_row_products
        from ._threads import run_chunks

        k = W.shape[1]
        products = np.empty((self.shape[0], k))
        run_chunks(implicit_row_products, (self.rows, scaled_H, W, products), self.rows.ptr,
                   n_jobs, self.nnz * k + self.shape[0] * k * k,
                   self._chunks.setdefault("rows", {}))
        return self.pattern_rmatmat(products, n_jobs)

    def pattern_matmat(self, Y, n_jobs=None):
        """``B Y`` with ``B`` the 0/1 pattern of the observations (each row's sum in its
        stored order)."""
        return self._pattern_sums("rows", Y, n_jobs)

    def pattern_rmatmat(self, W, n_jobs=None):
        """``B^T W`` (each column's sum over its rows in row order, whatever the chunks)."""
        return self._pattern_sums("cols", W, n_jobs)

    def _pattern_sums(self, which, W, n_jobs):
        from ._kernels import pattern_sums
        from ._threads import run_chunks

        side = self.rows if which == "rows" else self.cols
        out = np.empty((side.ptr.shape[0] - 1, W.shape[1]))
        run_chunks(pattern_sums, (side, np.ascontiguousarray(W, dtype=np.float64), out),
                   side.ptr, n_jobs, self.nnz * W.shape[1], self._chunks.setdefault(which, {}))
        return out

    def bias_step(self, which, fixed_bias, bias, offset, pen):
        """Bias-only row (or column) step: ``bias_i = sum_j (M_ij - offset - fixed_j) /
        (n_i + pen)``, in place (0 for a row without observations and no penalty)."""
        from ._kernels import bias_sums

        side, counts = (self.rows, self.row_counts) if which == "rows" else \
            (self.cols, self.col_counts)
        sums = np.empty(counts.shape[0])
        bias_sums(side, fixed_bias, float(offset), sums)
        bias[:] = _bias_update(sums, counts, pen)

    def start(self, U, V, a, c, mu, n_jobs):
        """Store the fitted values of the starting point (the first change is measured to it)."""
        self._current = np.empty(self.nnz)
        self.commit(self.evaluate(U, V, a, c, mu, n_jobs)[1])

    def evaluate(self, U, V, a, c, mu, n_jobs):
        """``(sums, fitted)``: squared error, squared change against the committed fitted
        values and squared fit on the observed entries, and the fitted values themselves."""
        from . import _kernels
        from ._threads import run_chunks

        current = np.empty(self.nnz)
        m = self.shape[0]
        sums = np.zeros((m, 3))
        run_chunks(_kernels.evaluate_chunk, (self.rows, U, V, a, c, float(mu), self._current,
                                             current, sums),
                   self.rows.ptr, n_jobs, self.nnz * (U.shape[1] + 4),
                   self._chunks.setdefault("rows", {}))
        return tuple(float(v) for v in sums.sum(axis=0)), current

    def commit(self, fitted):
        """Make ``fitted`` the values the next change is measured against."""
        self._current = fitted

    def split(self, fraction, seed):
        """``(train, heldout)``: the observations split by a hash of ``(row, col, seed)``."""
        from ._validation import Triplets

        rows, cols, vals = self.row_of, self.rows.idx, self.rows.vals
        held = heldout_mask(rows, cols, seed, fraction)
        keep = ~held
        train = Observed(Triplets(self.shape, rows[keep], cols[keep], vals[keep]))
        heldout = HeldOut(Triplets(self.shape, rows[held], cols[held], vals[held]))
        return train, heldout


def _bias_update(sums, counts, pen):
    denominator = counts + pen
    return np.divide(sums, denominator, out=np.zeros_like(sums), where=denominator > 0)


def _scaled_residual_csr(obs, mu, a, c, row_scale, col_scale):
    import scipy.sparse as sp

    rows, cols = obs.row_of, obs.rows.idx
    vals = (obs.rows.vals - mu - a[rows] - c[cols]) * row_scale[rows] * col_scale[cols]
    return sp.csr_matrix((vals, cols, obs.rows.ptr), shape=obs.shape)


class ScaledResidual:
    """A sparse matrix held in memory, as the products the penalty bound needs."""

    def __init__(self, S):
        self.S, self.St = S, S.T.tocsr()  # both orders: each product streams its rows

    def matmat(self, W):
        return self.S @ W

    def rmatmat(self, Y):
        return self.St @ Y


class HeldOut:
    """Entries kept aside to measure the fit: RMSE of a factor model on them."""

    def __init__(self, triplets):
        self.triplets = triplets
        self.size = triplets.nnz

    def rmse(self, U, V, a, c, mu) -> float:
        t = self.triplets
        if t.nnz == 0:
            return float("nan")
        return float(np.sqrt(np.mean(self._squared_errors(U, V, a, c, mu))))

    def _squared_errors(self, U, V, a, c, mu):
        t = self.triplets
        pred = mu + a[t.rows] + c[t.cols] + np.einsum("ij,ij->i", U[t.rows], V[t.cols])
        return (t.vals - pred) ** 2

    def difference_sums(self, model, reference, mu):
        """``(sum d, sum d^2, count)`` of ``d``, the squared error of ``model`` minus that of
        ``reference`` (each a ``(U, V, a, c)`` tuple) entry by entry: the sums of a paired
        comparison of the two fits on the same held-out entries."""
        if self.triplets.nnz == 0:
            return 0.0, 0.0, 0
        d = self._squared_errors(*model, mu) - self._squared_errors(*reference, mu)
        return float(np.sum(d)), float(d @ d), int(d.size)


_MIX_ROW = np.uint64(0x9E3779B97F4A7C15)
_MIX_COL = np.uint64(0xC2B2AE3D27D4EB4F)


def heldout_mask(rows, cols, seed, fraction) -> np.ndarray:
    """Whether each ``(row, col)`` is held out: a SplitMix64 hash of the pair and the seed,
    compared with ``fraction``. A pure function of the pair, so every block of a distributed
    matrix draws the same split as the whole matrix in memory."""
    with np.errstate(over="ignore"):
        z = (np.uint64(seed) ^ (rows.astype(np.uint64) * _MIX_ROW)
             ^ (cols.astype(np.uint64) * _MIX_COL))
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0) < fraction
