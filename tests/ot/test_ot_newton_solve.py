"""SNS internals: the direct Newton solve and the plan-density estimate, against dense numpy."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsenum.ot import _newton
from sparsenum.ot._scaling import ScalingState


def _sparsified_system(n, m, seed, scale):
    """Row and column sums of a random plan, its kept entries in CSR, a gradient and a shift."""
    rng = np.random.default_rng(seed)
    P = np.exp(-scale * rng.random((n, m)))
    P /= P.sum()
    keep = np.quantile(P, 0.7) <= P
    keep[np.arange(n), rng.integers(0, m, n)] = True  # every row keeps a coupling
    S = sp.csr_matrix(np.where(keep, P, 0.0))
    grad = rng.standard_normal(n + m) * 1e-3
    return P.sum(axis=1), P.sum(axis=0), S, grad, 1e-6 * np.abs(grad).sum()


def _dense_solution(row, col, S, grad, shift):
    n, m = row.shape[0], col.shape[0]
    H = np.zeros((n + m, n + m))
    H[:n, :n] = np.diag(row + shift)
    H[n:, n:] = np.diag(col + shift)
    H[:n, n:] = S.toarray()
    H[n:, :n] = S.toarray().T
    x = np.zeros(n + m)
    x[:-1] = np.linalg.solve(H[:-1, :-1], grad[:-1])  # last g pinned (gauge)
    return x, float(x @ H @ x)


@pytest.mark.parametrize("dense_schur_max", [10_000, 0])  # Schur Cholesky, then sparse LU
@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 25), m=st.integers(2, 25), seed=st.integers(0, 10_000),
       scale=st.floats(1.0, 40.0))
def test_direct_direction_matches_dense_solve(dense_schur_max, n, m, seed, scale):
    row, col, S, grad, shift = _sparsified_system(n, m, seed, scale)
    expected, curvature = _dense_solution(row, col, S, grad, shift)
    old = _newton.DENSE_SCHUR_MAX
    _newton.DENSE_SCHUR_MAX = dense_schur_max
    try:
        x, got_curvature = _newton._direct_direction(row, col, S.indptr.astype(np.int64),
                                                     S.indices.astype(np.int64), S.data, shift,
                                                     grad)
    finally:
        _newton.DENSE_SCHUR_MAX = old
    # the systems are ill-conditioned by design (plans at small reg): compare residual-sized
    np.testing.assert_allclose(x, expected, rtol=1e-6, atol=1e-8 * np.abs(expected).max())
    assert x[-1] == 0.0
    assert got_curvature == pytest.approx(curvature, rel=1e-6)


@pytest.mark.parametrize("reg", [1.0, 0.05, 0.002])
def test_mass_fraction_matches_full_sort(reg):
    rng = np.random.default_rng(3)
    n = 300
    C = rng.random((n, n))
    a = b = np.full(n, 1.0 / n)
    state = ScalingState(C, a, b, reg)
    state.run(30, 0.0, 10)
    P = state.u[:, None] * state.K * state.v[None, :]
    flat = np.sort(P.ravel())[::-1]
    exact = (np.searchsorted(np.cumsum(flat), 0.99 * flat.sum()) + 1) / flat.size
    # 4,000 samples: the binomial error of a fraction near 0.5 is 0.008; 3 sigma
    assert state.mass_fraction(0.99) == pytest.approx(exact, abs=0.025)
