"""Alternating minimisation on a Dask array chunked by rows (imported only for Dask input).

Each row block is validated and compressed where it lives (an ``Observed`` of the block, kept
in the workers' memory). The factors are small (``(m + n) x k``) and stay on the client.

* Row step: every block solves its own rows against the column factors, which are shipped
  once per step as a single task every block reads; the row solves are the in-memory kernels,
  so each row gets exactly the in-memory answer.
* Column step: every block adds its observations to the columns' normal equations
  (``n d (d + 1) / 2 + n d`` numbers), the pieces are summed by a tree reduction and the
  columns are solved exactly on the client. The column step is therefore always the exact
  solver, whatever ``solver`` says; the iterative solvers would need each column's
  observations in one place.
* Evaluation, the randomised SVD start and the validation split are blockwise sums; the split
  hashes the global ``(row, col)`` pair, so it is the in-memory split.

The result equals the in-memory one up to the order of floating-point sums.
"""

from __future__ import annotations

import numpy as np

from ._observed import HeldOut, Observed, heldout_mask
from ._validation import Triplets, check_matrix

# blocks summed per node of the reduction tree of the column step's normal equations
_SPLIT_EVERY = 4


def _make_block(block, offset, name):
    label = f"{name} (rows {offset} to {offset + block.shape[0] - 1})"
    return Observed(check_matrix(block, label, allow_empty=True))


def _summary(block):
    return block.row_counts, block.col_counts, block.nnz, block.values_sum()


def _sum_sq(block, offset):
    return float(np.sum((block.rows.vals - offset) ** 2))


def _matmat(block, W, offset):
    return block.matmat(W, offset)


def _rmatmat(block, Y, offset):
    return block.rmatmat(Y, offset)


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


def _row_bias_sums(block, c, offset):
    from ._kernels import bias_sums

    out = np.empty(block.shape[0])
    bias_sums(block.rows, c, float(offset), out)
    return out


def _col_bias_sums(block, a, offset):
    return np.bincount(block.rows.idx, weights=block.rows.vals - offset - a[block.row_of],
                       minlength=block.shape[1])


def _row_step(block, V, c, U, a, pen_factor, pen_bias, solvers, solve):
    U, a = U.copy(), a.copy()
    iterations = block.step("rows", V, c, U, a, pen_factor=pen_factor, pen_bias=pen_bias,
                            solvers=solvers, **solve)
    return U, a, iterations


def _partial_normal(block, U, a, offset, fit_bias):
    from . import _kernels

    n = block.shape[1]
    d = U.shape[1] + (1 if fit_bias else 0)
    G = np.zeros((n, d * (d + 1) // 2))
    rhs = np.zeros((n, d))
    _kernels.partial_normal_equations(block.rows, U, a, float(offset), bool(fit_bias), G, rhs)
    return G, rhs


def _add(*parts):
    G = parts[0][0].copy()
    rhs = parts[0][1].copy()
    for g, r in parts[1:]:
        G += g
        rhs += r
    return G, rhs


def _evaluate(block, new, old, mu):
    """Sums of the block for the factors ``new``, the change measured against ``old``."""
    block.start(*old, mu, 1)
    return block.evaluate(*new, mu, 1)[0]


def _split(block, offset, seed, fraction):
    rows, cols, vals = block.row_of, block.rows.idx, block.rows.vals
    held = heldout_mask(rows + offset, cols, seed, fraction)
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


class DaskObserved:
    """The operations of ``_observed.Observed`` for observations held in Dask row blocks."""

    def __init__(self, M, name="M", *, _blocks=None):
        import dask

        if _blocks is not None:
            self.shape, self.blocks, self.offsets, self.block_rows = _blocks
        else:
            if M.ndim != 2:
                raise ValueError(f"{name} must be 2-dimensional; got shape {M.shape}")
            if any(np.isnan(s) for s in M.shape):
                raise ValueError(f"{name} must have known chunk sizes; call "
                                 f"{name}.compute_chunk_sizes() first")
            M = M.rechunk({1: -1})
            self.shape = (int(M.shape[0]), int(M.shape[1]))
            self.block_rows = [int(s) for s in M.chunks[0]]
            self.offsets = [int(o) for o in np.concatenate([[0], np.cumsum(self.block_rows)])[:-1]]
            make = dask.delayed(_make_block, pure=True)
            self.blocks = dask.persist(*[make(b, o, name) for b, o in
                                         zip(M.to_delayed().ravel(), self.offsets)])
        summaries = dask.compute(*[dask.delayed(_summary)(b) for b in self.blocks])
        self.row_counts = np.concatenate([s[0] for s in summaries])
        self.col_counts = np.sum([s[1] for s in summaries], axis=0)
        self.nnz = int(sum(s[2] for s in summaries))
        self._values_sum = float(sum(s[3] for s in summaries))
        if self.nnz == 0 and _blocks is None:
            raise ValueError(f"{name} must have at least one observed entry; got none in a "
                             f"{self.shape[0]}x{self.shape[1]} matrix")

    def _slices(self):
        return zip(self.blocks, self.offsets, self.block_rows)

    def values_sum(self) -> float:
        return self._values_sum

    def rms(self, offset) -> float:
        import dask

        if self.nnz == 0:
            return 0.0
        parts = dask.compute(*[dask.delayed(_sum_sq)(b, offset) for b in self.blocks])
        return float(np.sqrt(sum(parts) / self.nnz))

    def matmat(self, W, offset):
        import dask

        Wd = dask.delayed(W)
        return np.vstack(dask.compute(*[dask.delayed(_matmat)(b, Wd, offset)
                                        for b in self.blocks]))

    def rmatmat(self, Y, offset):
        import dask

        parts = dask.compute(*[dask.delayed(_rmatmat)(b, Y[o:o + s], offset)
                               for b, o, s in self._slices()])
        return np.sum(parts, axis=0)

    def scaled_residual(self, mu, a, c, row_scale, col_scale):
        import dask

        cd, csd = dask.delayed(c), dask.delayed(col_scale)
        blocks = dask.persist(*[dask.delayed(_scaled_residual)(b, mu, a[o:o + s], cd,
                                                               row_scale[o:o + s], csd)
                                for b, o, s in self._slices()])
        return DaskScaledResidual(blocks, self.offsets, self.block_rows)

    def bias_step(self, which, fixed_bias, bias, offset, pen):
        import dask

        from ._observed import _bias_update

        if which == "rows":
            cd = dask.delayed(fixed_bias)
            sums = np.concatenate(dask.compute(*[dask.delayed(_row_bias_sums)(b, cd, offset)
                                                 for b in self.blocks]))
            bias[:] = _bias_update(sums, self.row_counts, pen)
            return
        parts = dask.compute(*[dask.delayed(_col_bias_sums)(b, fixed_bias[o:o + s], offset)
                               for b, o, s in self._slices()])
        bias[:] = _bias_update(np.sum(parts, axis=0), self.col_counts, pen)

    def step(self, which, fixed_factors, fixed_bias, factors, bias, *, pen_factor, pen_bias,
             solvers, **solve):
        import dask

        if which == "rows":
            Vd, cd = dask.delayed(fixed_factors), dask.delayed(fixed_bias)
            tasks = [dask.delayed(_row_step)(b, Vd, cd, factors[o:o + s], bias[o:o + s],
                                             pen_factor[o:o + s], pen_bias[o:o + s],
                                             solvers[o:o + s], solve)
                     for b, o, s in self._slices()]
            total = 0
            for (U, a, iterations), o, s in zip(dask.compute(*tasks), self.offsets,
                                                self.block_rows):
                factors[o:o + s], bias[o:o + s] = U, a
                total += iterations
            return total
        from . import _kernels
        from ._threads import run_chunks

        fit_bias = solve["fit_bias"]
        parts = [dask.delayed(_partial_normal)(b, fixed_factors[o:o + s], fixed_bias[o:o + s],
                                               solve["offset"], fit_bias)
                 for b, o, s in self._slices()]
        while len(parts) > 1:  # tree reduction
            parts = [dask.delayed(_add)(*parts[i:i + _SPLIT_EVERY])
                     for i in range(0, len(parts), _SPLIT_EVERY)]
        G, rhs = dask.compute(parts[0])[0]
        n, d = rhs.shape
        run_chunks(_kernels.solve_packed_chunk,
                   (G, rhs, pen_factor, pen_bias, bool(fit_bias), factors, bias),
                   np.arange(n + 1), solve["n_jobs"], n * d**3 / 3)
        return 0

    def start(self, U, V, a, c, mu, n_jobs):
        self._committed = (U.copy(), V.copy(), a.copy(), c.copy())

    def evaluate(self, U, V, a, c, mu, n_jobs):
        import dask

        new, old = (U, V, a, c), self._committed
        tasks = []
        for b, o, s in self._slices():
            rows_new = (new[0][o:o + s], dask.delayed(new[1]), new[2][o:o + s],
                        dask.delayed(new[3]))
            rows_old = (old[0][o:o + s], dask.delayed(old[1]), old[2][o:o + s],
                        dask.delayed(old[3]))
            tasks.append(dask.delayed(_evaluate)(b, rows_new, rows_old, mu))
        sums = np.sum(dask.compute(*tasks), axis=0)
        return tuple(float(v) for v in sums), tuple(x.copy() for x in new)

    def commit(self, fitted):
        self._committed = fitted

    def split(self, fraction, seed):
        import dask

        pairs = dask.persist(*[dask.delayed(_split, nout=2)(b, o, seed, fraction)
                               for b, o, _ in self._slices()])
        trains = [p[0] for p in pairs]
        helds = [p[1] for p in pairs]
        train = DaskObserved(None, _blocks=(self.shape, trains, self.offsets, self.block_rows))
        sizes = dask.compute(*[dask.delayed(_size)(h) for h in helds])
        return train, DaskHeldOut(helds, self.offsets, self.block_rows, sizes)
