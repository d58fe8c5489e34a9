"""Problem generators (the papers' standard experiments) and small cases for the common tests."""

from __future__ import annotations

import numpy as np


def clustered_problem(seed, *, n=100, m=40, n_clusters=2, cluster_size=5, snr_db=20.0,
                      complex_data=False):
    """The Turbo-VBI papers' standard experiment: ``n_clusters`` clusters of ``cluster_size``
    N(0, 1) coefficients at random, non-overlapping positions; a Gaussian ``A`` (m x n) with
    unit-norm columns; noise at ``SNR = ||A x||^2 / (m sigma^2)``. Returns ``(A, y, x, sigma2)``.
    """
    rng = np.random.default_rng(seed)
    starts: list[int] = []
    while len(starts) < n_clusters:
        s = int(rng.integers(0, n - cluster_size + 1))
        if all(abs(s - t) >= cluster_size for t in starts):
            starts.append(s)
    x = np.zeros(n, complex if complex_data else float)
    for s in starts:
        x[s:s + cluster_size] = _gaussian(rng, cluster_size, complex_data)
    A = _gaussian(rng, (m, n), complex_data)
    A /= np.linalg.norm(A, axis=0)
    clean = A @ x
    sigma2 = float(np.real(np.vdot(clean, clean))) / m / 10 ** (snr_db / 10)
    y = clean + np.sqrt(sigma2) * _gaussian(rng, m, complex_data)
    return A, y, x, sigma2


def grid_problem(seed, *, shape=(16, 16), m=100, n_rectangles=2, size=(3, 5), snr_db=20.0):
    """A 2-D clustered support: ``n_rectangles`` random rectangles (side lengths drawn from
    ``size``) of N(0, 1) values on an ``H x W`` grid, measured through a Gaussian ``A`` with
    unit-norm columns. Returns ``(A, y, x, sigma2)`` with ``x`` in C order."""
    rng = np.random.default_rng(seed)
    h, w = shape
    image = np.zeros(shape)
    for _ in range(n_rectangles):
        rh, rw = rng.integers(size[0], size[1] + 1, size=2)
        i, j = rng.integers(0, h - rh + 1), rng.integers(0, w - rw + 1)
        image[i:i + rh, j:j + rw] = rng.standard_normal((rh, rw))
    x = image.ravel()
    A = rng.standard_normal((m, h * w))
    A /= np.linalg.norm(A, axis=0)
    clean = A @ x
    sigma2 = float(clean @ clean) / m / 10 ** (snr_db / 10)
    return A, clean + np.sqrt(sigma2) * rng.standard_normal(m), x, sigma2


def kronecker_problem(seed, *, n=(10, 10, 10), m=(6, 8, 10), k=3, snr_db=15.0):
    """KroSBL's generator: ``x = x_1 kron ... kron x_D`` with ``k`` random N(0, 1) nonzeros per
    factor, Gaussian factors ``A_m`` (m_d x n_d) with unit-norm columns. Returns
    ``(factors, y, x, sigma2)``."""
    rng = np.random.default_rng(seed)
    factors, parts = [], []
    for nd, md in zip(n, m):
        part = np.zeros(nd)
        part[rng.choice(nd, k, replace=False)] = rng.standard_normal(k)
        parts.append(part)
        Am = rng.standard_normal((md, nd))
        factors.append(Am / np.linalg.norm(Am, axis=0))
    x = parts[0]
    A = factors[0]
    for part, Am in zip(parts[1:], factors[1:]):
        x = np.kron(x, part)
        A = np.kron(A, Am)
    clean = A @ x
    sigma2 = float(clean @ clean) / clean.size / 10 ** (snr_db / 10)
    return factors, clean + np.sqrt(sigma2) * rng.standard_normal(clean.size), x, sigma2


def _gaussian(rng, size, complex_data):
    if complex_data:
        return (rng.standard_normal(size) + 1j * rng.standard_normal(size)) / np.sqrt(2.0)
    return rng.standard_normal(size)


def _previous_change(run, result):
    """The history's last criterion recomputed from two returned solutions: the run stopped
    one iteration earlier returns the previous iterate (every iteration is deterministic)."""
    from .sbl import relative_change

    previous = run(max_iter=result.n_iter - 1).coef if result.n_iter > 1 else \
        np.zeros_like(result.coef)
    return relative_change(result.coef, previous)


def solver_cases():
    from functools import partial

    from ..utils.registry import SolverCase
    from . import kronecker_sbl, sparse_bayesian_learning, turbo_vbi

    A, y, _, _ = clustered_problem(0, n=60, m=30, cluster_size=4, snr_db=20.0)
    Ac, yc, _, _ = clustered_problem(1, n=40, m=24, cluster_size=3, snr_db=20.0,
                                     complex_data=True)
    Ag, yg, _, _ = grid_problem(0, shape=(8, 8), m=40, size=(2, 3), snr_db=20.0)
    factors, yk, _, _ = kronecker_problem(0, n=(6, 6), m=(4, 5), k=2, snr_db=20.0)
    runs = {
        "sparse_bayesian_learning em 30x60": partial(sparse_bayesian_learning, A, y,
                                                      max_iter=400),
        "sparse_bayesian_learning mackay 30x60": partial(sparse_bayesian_learning, A, y,
                                                          update="mackay"),
        "sparse_bayesian_learning pc-sbl complex 24x40": partial(
            sparse_bayesian_learning, Ac, yc, coupling=1.0, max_iter=300),
        "turbo_vbi chain 30x60": partial(turbo_vbi, A, y, random_state=0),
        "turbo_vbi mrf 8x8 grid": partial(turbo_vbi, Ag, yg, support="mrf", shape=(8, 8),
                                          random_state=0),
        "turbo_vbi iid complex 24x40": partial(turbo_vbi, Ac, yc, support="iid",
                                               random_state=0),
        "kronecker_sbl am 20x36": partial(kronecker_sbl, factors, yk),
        "kronecker_sbl svd 20x36": partial(kronecker_sbl, factors, yk, update="svd"),
    }
    return [SolverCase(name=name, run=run, criterion=partial(_previous_change, run),
                       rtol=1e-9, atol=1e-14) for name, run in runs.items()]


def easy_fits():
    from ..utils.registry import EasyFit
    from .estimators import SBLRegressor, TurboVBIRegressor

    A, y, _, _ = clustered_problem(2, n=50, m=80, cluster_size=4, snr_db=30.0)
    return [EasyFit(name="SBLRegressor", estimator=SBLRegressor(), X=A, y=y + 3.0),
            EasyFit(name="TurboVBIRegressor", estimator=TurboVBIRegressor(random_state=0),
                    X=A, y=y + 3.0)]


def warm_up():
    """Each public function once on tiny real and complex inputs (fills numba's cache)."""
    from . import kronecker_sbl, sparse_bayesian_learning, turbo_vbi

    for complex_data in (False, True):
        A, y, _, _ = clustered_problem(0, n=20, m=10, cluster_size=3,
                                       complex_data=complex_data)
        sparse_bayesian_learning(A, y, max_iter=5)
        turbo_vbi(A, y, max_iter=5, random_state=0)
        turbo_vbi(A, y, support="mrf", shape=(4, 5), max_iter=5, random_state=0)
        factors = [A[:5, :4], A[5:, 4:8]]
        kronecker_sbl(factors, np.kron(y[:5], y[5:]), max_iter=3)
