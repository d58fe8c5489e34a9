"""Alternating minimisation on a Dask array chunked by rows (imported only for Dask input).

The observations are kept twice in the workers' memory, as the in-memory path keeps them in
both orders: in row blocks (an ``Observed`` of each block of the input) and in column blocks
(an ``Observed`` of the transposed observations of a range of columns, built once from the row
blocks by a shuffle). The factors are small (``(m + n) x k``) and stay on the client.

* Row step: every row block solves its rows against the column factors, which are shipped
  once per step as a single task every block reads. Column step: the same on the column
  blocks with the row factors. Both run the in-memory kernels on the observations in the
  in-memory order, so each row and column gets exactly the in-memory answer, with any solver.
  (Summing the columns' normal equations over row blocks instead ships ``n d^2 / 2`` numbers
  per row block and sweep, and fixes the column solver to the exact one.)
* Evaluation keeps the fitted values of the last accepted point in the workers, next to their
  blocks: a sweep ships the new factors only, and receives three sums per block.
* The implicit prior (:mod:`.implicit`): each row's normal equations come from its row
  block; the products ``B Y`` with the observation pattern are row-local, and ``B^T W`` is
  summed over row blocks. Its per-row ``k x k`` matrices stay on the client, like the factors.
* The randomised SVD start, the penalty bound and the validation split are blockwise; the
  split hashes the global ``(row, col)`` pair, so it is the in-memory split.

The result equals the in-memory one up to the order of floating-point sums.
"""

from __future__ import annotations

import numpy as np

from ._observed import HeldOut, Observed, heldout_mask
from ._validation import Triplets, check_matrix

# a column costs about this many observations' worth of work besides its observations (its
# d x d solve), so column blocks of many short columns are not overloaded
_COLUMN_OVERHEAD = 16


def _make_block(block, offset, name):
    label = f"{name} (rows {offset} to {offset + block.shape[0] - 1})"
    return Observed(check_matrix(block, label, allow_empty=True))


def _summary(block):
    return block.row_counts, block.col_counts, block.nnz, block.values_sum()


def _column_piece(block, lo, hi, offset):
    """The observations of columns ``lo .. hi - 1`` in a row block, as transposed triplets
    (local column, global row, value), sorted by column then row."""
    side = block.cols
    start, stop = side.ptr[lo], side.ptr[hi]
    cols = np.repeat(np.arange(hi - lo, dtype=np.int64), np.diff(side.ptr[lo:hi + 1]))
    return cols, side.idx[start:stop] + offset, side.vals[start:stop]


def _make_column_block(shape, *pieces):
    """The transposed observations of a range of columns from its pieces in row-block order:
    a stable sort by column keeps each column's rows ascending, the in-memory order."""
    cols = np.concatenate([p[0] for p in pieces])
    rows = np.concatenate([p[1] for p in pieces])
    vals = np.concatenate([p[2] for p in pieces])
    order = np.argsort(cols, kind="stable")
    return Observed(Triplets(shape, cols[order], rows[order], vals[order]))


def column_bounds(col_counts, n_blocks) -> np.ndarray:
    """Column boundaries splitting the columns into ``n_blocks`` ranges of about equal work."""
    n = col_counts.shape[0]
    n_blocks = max(1, min(n, n_blocks))
    work = np.cumsum(col_counts + _COLUMN_OVERHEAD)
    inner = np.searchsorted(work, work[-1] * np.arange(1, n_blocks) / n_blocks)
    return np.unique(np.concatenate([[0], inner, [n]])).astype(np.int64)


def _sum_sq(block, offset):
    return float(np.sum((block.rows.vals - offset) ** 2))


def _matmat(block, W, offset):
    return block.matmat(W, offset)


def _scaled_residual(block, mu, a, c, row_scale, col_scale):
    from ._observed import _scaled_residual_csr

    return _scaled_residual_csr(block, mu, a, c, row_scale, col_scale)


def _product(S, W):
    return S @ W


def _rproduct(S, Y):
    return S.T @ Y


class DaskScaledResidual:
    """The scaled residual kept in the row blocks (see ``Observed.scaled_residual``)."""

    def __init__(self, blocks, offsets, block_rows):
        self.blocks, self.offsets, self.block_rows = blocks, offsets, block_rows

    def matmat(self, W):
        import dask

        Wd = dask.delayed(W)
        return np.vstack(dask.compute(*[dask.delayed(_product)(b, Wd) for b in self.blocks]))

    def rmatmat(self, Y):
        import dask

        parts = dask.compute(*[dask.delayed(_rproduct)(b, Y[o:o + s])
                               for b, o, s in zip(self.blocks, self.offsets, self.block_rows)])
        return np.sum(parts, axis=0)


def _bias_sums(block, fixed_bias, offset):
    from ._kernels import bias_sums

    out = np.empty(block.shape[0])
    bias_sums(block.rows, fixed_bias, float(offset), out)
    return out


def _solve_block(block, fixed_factors, fixed_bias, factors, bias, pen_factor, pen_bias,
                 solvers, solve):
    """The rows of a block (a row block, or the transposed observations of a column block)
    solved against the fixed side: the in-memory row step on the block's observations."""
    factors, bias = factors.copy(), bias.copy()
    iterations = block.step("rows", fixed_factors, fixed_bias, factors, bias,
                            pen_factor=pen_factor, pen_bias=pen_bias, solvers=solvers, **solve)
    return factors, bias, iterations


def _row_systems(block, fixed_factors, fixed_bias, offset, fit_bias, diagonal):
    return block.implicit_row_systems(fixed_factors, fixed_bias, offset, fit_bias, diagonal,
                                      n_jobs=1)


def _implicit_gram(block, scaled_H, W):
    return block.implicit_gram(scaled_H, W, n_jobs=1)


def _pattern_matmat(block, Y):
    return block.pattern_matmat(Y, n_jobs=1)


def _pattern_rmatmat(block, W):
    return block.pattern_rmatmat(W, n_jobs=1)


def _evaluate(block, U, V, a, c, mu, previous):
    """``(sums, fitted)`` of a row block: squared error, squared change against ``previous``
    (the fitted values last accepted; ``None`` at the start) and squared fit, and the fitted
    values of the block's observations."""
    from ._kernels import evaluate_chunk

    m = block.shape[0]
    current = np.empty(block.nnz)
    sums = np.zeros((m, 3))
    evaluate_chunk(block.rows, U, V, a, c, float(mu),
                   current if previous is None else previous, current, sums, 0, m)
    return sums.sum(axis=0), current


def _first(pair):
    return pair[0]


def _split(block, offset, seed, fraction, transposed):
    rows, cols, vals = block.row_of, block.rows.idx, block.rows.vals
    held = heldout_mask(cols, rows + offset, seed, fraction) if transposed else \
        heldout_mask(rows + offset, cols, seed, fraction)
    keep = ~held
    train = Observed(Triplets(block.shape, rows[keep], cols[keep], vals[keep]))
    heldout = Triplets(block.shape, rows[held], cols[held], vals[held])
    return train, heldout


def _size(triplets):
    return triplets.nnz


def _heldout_sums(triplets, U, V, a, c, mu):
    if triplets.nnz == 0:
        return 0.0, 0
    part = HeldOut(triplets)
    return part.rmse(U, V, a, c, mu) ** 2 * triplets.nnz, triplets.nnz


def _difference_sums(triplets, model, reference, mu):
    return HeldOut(triplets).difference_sums(model, reference, mu)


class DaskHeldOut:
    """Held-out entries living in the row blocks."""

    def __init__(self, parts, offsets, block_rows, sizes):
        self.parts, self.offsets, self.block_rows = parts, offsets, block_rows
        self.size = int(sum(sizes))

    def rmse(self, U, V, a, c, mu) -> float:
        import dask

        if self.size == 0:
            return float("nan")
        Vd, cd = dask.delayed(V), dask.delayed(c)
        tasks = [dask.delayed(_heldout_sums)(p, U[o:o + s], Vd, a[o:o + s], cd, mu)
                 for p, o, s in zip(self.parts, self.offsets, self.block_rows)]
        sums = dask.compute(*tasks)
        return float(np.sqrt(sum(t[0] for t in sums) / sum(t[1] for t in sums)))

    def difference_sums(self, model, reference, mu):
        """:meth:`HeldOut.difference_sums`, summed over the blocks."""
        import dask

        model_cols = dask.delayed(model[1]), dask.delayed(model[3])
        reference_cols = dask.delayed(reference[1]), dask.delayed(reference[3])

        def rows(fit, cols, o, s):
            return fit[0][o:o + s], cols[0], fit[2][o:o + s], cols[1]

        tasks = [dask.delayed(_difference_sums)(p, rows(model, model_cols, o, s),
                                                rows(reference, reference_cols, o, s), mu)
                 for p, o, s in zip(self.parts, self.offsets, self.block_rows)]
        sums = dask.compute(*tasks)
        return tuple(sum(t[i] for t in sums) for i in range(3))


class _Blocks:
    """Blocks of one side (persisted ``Observed``) and the ranges of that side they hold."""

    def __init__(self, blocks, bounds):
        self.blocks = blocks
        self.bounds = np.asarray(bounds, dtype=np.int64)

    def ranges(self):
        return zip(self.blocks, self.bounds[:-1].tolist(), self.bounds[1:].tolist())


class DaskObserved:
    """The operations of ``_observed.Observed`` for observations held in Dask row blocks and
    column blocks."""

    def __init__(self, M, name="M", *, _sides=None, _shape=None):
        import dask

        if _sides is not None:
            self.shape = _shape
            self.row_side, self.col_side = _sides
        else:
            if M.ndim != 2:
                raise ValueError(f"{name} must be 2-dimensional; got shape {M.shape}")
            if any(np.isnan(s) for s in M.shape):
                raise ValueError(f"{name} must have known chunk sizes; call "
                                 f"{name}.compute_chunk_sizes() first")
            M = M.rechunk({1: -1})
            self.shape = (int(M.shape[0]), int(M.shape[1]))
            bounds = np.concatenate([[0], np.cumsum(M.chunks[0])])
            make = dask.delayed(_make_block, pure=True)
            blocks = dask.persist(*[make(b, int(o), name) for b, o in
                                    zip(M.to_delayed().ravel(), bounds[:-1])])
            self.row_side = _Blocks(blocks, bounds)
        summaries = dask.compute(*[dask.delayed(_summary)(b) for b in self.row_side.blocks])
        self.row_counts = np.concatenate([s[0] for s in summaries])
        self.col_counts = np.sum([s[1] for s in summaries], axis=0)
        self.nnz = int(sum(s[2] for s in summaries))
        self._values_sum = float(sum(s[3] for s in summaries))
        if self.nnz == 0 and _sides is None:
            raise ValueError(f"{name} must have at least one observed entry; got none in a "
                             f"{self.shape[0]}x{self.shape[1]} matrix")
        if _sides is None:
            self.col_side = self._shuffle_to_columns()
        self._committed = None

    def _shuffle_to_columns(self):
        """Column blocks (as many as row blocks, balanced by observations) built from pieces
        of every row block."""
        import dask

        m = self.shape[0]
        bounds = column_bounds(self.col_counts, len(self.row_side.blocks))
        blocks = []
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            pieces = [dask.delayed(_column_piece, pure=True)(b, lo, hi, o)
                      for b, o, _ in self.row_side.ranges()]
            blocks.append(dask.delayed(_make_column_block, pure=True)((hi - lo, m), *pieces))
        return _Blocks(dask.persist(*blocks), bounds)

    def values_sum(self) -> float:
        return self._values_sum

    def rms(self, offset) -> float:
        import dask

        if self.nnz == 0:
            return 0.0
        parts = dask.compute(*[dask.delayed(_sum_sq)(b, offset) for b in self.row_side.blocks])
        return float(np.sqrt(sum(parts) / self.nnz))

    def _side_products(self, side, W, offset):
        import dask

        Wd = dask.delayed(W)
        return np.vstack(dask.compute(*[dask.delayed(_matmat)(b, Wd, offset)
                                        for b in side.blocks]))

    def matmat(self, W, offset):
        """``P_Omega(M - offset) @ W`` from the row blocks."""
        return self._side_products(self.row_side, W, offset)

    def rmatmat(self, Y, offset):
        """``P_Omega(M - offset)^T @ Y`` from the column blocks (each its own columns)."""
        return self._side_products(self.col_side, Y, offset)

    def scaled_residual(self, mu, a, c, row_scale, col_scale):
        import dask

        cd, csd = dask.delayed(c), dask.delayed(col_scale)
        blocks = dask.persist(*[dask.delayed(_scaled_residual)(b, mu, a[lo:hi], cd,
                                                               row_scale[lo:hi], csd)
                                for b, lo, hi in self.row_side.ranges()])
        bounds = self.row_side.bounds
        return DaskScaledResidual(blocks, bounds[:-1].tolist(), np.diff(bounds).tolist())

    def _side(self, which):
        return self.row_side if which == "rows" else self.col_side

    def bias_step(self, which, fixed_bias, bias, offset, pen):
        import dask

        from ._observed import _bias_update

        side, counts = (self.row_side, self.row_counts) if which == "rows" else \
            (self.col_side, self.col_counts)
        fixed = dask.delayed(fixed_bias)
        sums = np.concatenate(dask.compute(*[dask.delayed(_bias_sums)(b, fixed, offset)
                                             for b in side.blocks]))
        bias[:] = _bias_update(sums, counts, pen)

    def step(self, which, fixed_factors, fixed_bias, factors, bias, *, pen_factor, pen_bias,
             solvers, **solve):
        import dask

        Fd, fd = dask.delayed(fixed_factors), dask.delayed(fixed_bias)
        ranges = list(self._side(which).ranges())
        tasks = [dask.delayed(_solve_block)(b, Fd, fd, factors[lo:hi], bias[lo:hi],
                                            pen_factor[lo:hi], pen_bias[lo:hi],
                                            solvers[lo:hi], solve)
                 for b, lo, hi in ranges]
        total = 0
        for (F, f, iterations), (_, lo, hi) in zip(dask.compute(*tasks), ranges):
            factors[lo:hi], bias[lo:hi] = F, f
            total += iterations
        return total

    def implicit_row_systems(self, fixed_factors, fixed_bias, offset, fit_bias, diagonal,
                             n_jobs=None):
        """Every row's system of the implicit prior's joint step, from its row block (the
        workers' threads, not ``n_jobs``, run the blocks)."""
        import dask

        Fd, fd = dask.delayed(fixed_factors), dask.delayed(fixed_bias)
        parts = dask.compute(*[dask.delayed(_row_systems)(b, Fd, fd, offset, fit_bias,
                                                          diagonal[lo:hi])
                               for b, lo, hi in self.row_side.ranges()])
        return tuple(np.concatenate([p[t] for p in parts]) for t in range(5))

    def implicit_gram(self, scaled_H, W, n_jobs=None):
        """``B^T (scaled_H (B W))``: the row blocks' parts summed in block order (the workers'
        threads, not ``n_jobs``, run the blocks)."""
        import dask

        Wd = dask.delayed(W)
        parts = dask.compute(*[dask.delayed(_implicit_gram)(b, scaled_H[lo:hi], Wd)
                               for b, lo, hi in self.row_side.ranges()])
        return np.sum(parts, axis=0)

    def pattern_matmat(self, Y, n_jobs=None):
        """``B Y`` (``B`` the 0/1 pattern), row block by row block (the workers' threads, not
        ``n_jobs``, run the blocks)."""
        import dask

        Yd = dask.delayed(Y)
        return np.vstack(dask.compute(*[dask.delayed(_pattern_matmat)(b, Yd)
                                        for b in self.row_side.blocks]))

    def pattern_rmatmat(self, W, n_jobs=None):
        """``B^T W``: the row blocks' products summed in block order (the workers' threads,
        not ``n_jobs``, run the blocks)."""
        import dask

        parts = dask.compute(*[dask.delayed(_pattern_rmatmat)(b, W[lo:hi])
                               for b, lo, hi in self.row_side.ranges()])
        return np.sum(parts, axis=0)

    def _evaluations(self, U, V, a, c, mu, previous):
        import dask

        Vd, cd = dask.delayed(V), dask.delayed(c)
        if previous is None:
            previous = [None] * len(self.row_side.blocks)
        return dask.persist(*[dask.delayed(_evaluate, pure=True)(b, U[lo:hi], Vd, a[lo:hi], cd,
                                                                 mu, p)
                              for (b, lo, hi), p in zip(self.row_side.ranges(), previous)])

    def start(self, U, V, a, c, mu, n_jobs):
        import dask

        self._committed = [dask.delayed(_fitted)(e)
                           for e in self._evaluations(U, V, a, c, mu, None)]

    def evaluate(self, U, V, a, c, mu, n_jobs):
        """``(sums, fitted)`` as in memory; ``fitted`` stays in the workers (persisted)."""
        import dask

        evaluations = self._evaluations(U, V, a, c, mu, self._committed)
        sums = np.sum(dask.compute(*[dask.delayed(_first)(e) for e in evaluations]), axis=0)
        return tuple(float(v) for v in sums), [dask.delayed(_fitted)(e) for e in evaluations]

    def commit(self, fitted):
        self._committed = fitted

    def split(self, fraction, seed):
        import dask

        def halves(side, transposed):
            pairs = dask.persist(*[dask.delayed(_split, nout=2)(b, lo, seed, fraction,
                                                                transposed)
                                   for b, lo, _ in side.ranges()])
            return [p[0] for p in pairs], [p[1] for p in pairs]

        row_train, held = halves(self.row_side, False)
        col_train, _ = halves(self.col_side, True)
        train = DaskObserved(None, _shape=self.shape, _sides=(
            _Blocks(row_train, self.row_side.bounds), _Blocks(col_train, self.col_side.bounds)))
        sizes = dask.compute(*[dask.delayed(_size)(h) for h in held])
        bounds = self.row_side.bounds
        return train, DaskHeldOut(held, bounds[:-1].tolist(), np.diff(bounds).tolist(), sizes)


def _fitted(evaluation):
    return evaluation[1]
