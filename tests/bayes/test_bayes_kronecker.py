"""kronecker_sbl: its E-step against the dense E-step on numpy.kron, the single-factor case
against sparse_bayesian_learning, recovery, and the factor updates."""

import importlib

import numpy as np
import pytest

from sparsenum.bayes import KroneckerSBLResult, kronecker_sbl, sparse_bayesian_learning
from sparsenum.bayes._cases import kronecker_problem
from sparsenum.bayes._posterior import gaussian_posterior

kron_module = importlib.import_module("sparsenum.bayes.kronecker")


def _kron(mats):
    out = mats[0]
    for m in mats[1:]:
        out = np.kron(out, m)
    return out


@pytest.mark.parametrize("complex_data", [False, True])
@pytest.mark.parametrize("shapes", [[(3, 4), (2, 5), (4, 3)], [(5, 7)], [(4, 2), (3, 6)]])
def test_kronecker_estep_equals_dense_estep(shapes, complex_data):
    rng = np.random.default_rng(len(shapes))
    factors = [rng.standard_normal(s) + (1j * rng.standard_normal(s) if complex_data else 0)
               for s in shapes]
    m = int(np.prod([s[0] for s in shapes]))
    y = rng.standard_normal(m) + (1j * rng.standard_normal(m) if complex_data else 0)
    gammas = [rng.uniform(0.1, 2.0, s[1]) for s in shapes]
    idx = [np.arange(s[1]) for s in shapes]
    step = kron_module._KronEStep(factors, y.reshape([s[0] for s in shapes]), gammas, idx, 0.3)
    dense = gaussian_posterior(_kron(factors), y, _kron(gammas), 0.3)
    np.testing.assert_allclose(step.mean.ravel(), dense.mean, rtol=0,
                               atol=1e-10 * np.abs(dense.mean).max())
    np.testing.assert_allclose(step.var.ravel(), dense.var, rtol=1e-10, atol=1e-14)
    assert step.log_det_c == pytest.approx(dense.log_det_c, rel=1e-10)
    assert step.quad == pytest.approx(dense.quad, rel=1e-10)
    assert step.residual_sq == pytest.approx(dense.residual_sq, rel=1e-9)
    assert step.dof == pytest.approx(dense.dof, rel=1e-10)


@pytest.mark.parametrize("noise_var", [None, 0.05])
def test_single_factor_is_sparse_bayesian_learning(noise_var):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 60))
    x = np.zeros(60)
    x[[3, 4, 30]] = [1.0, -1.0, 2.0]
    y = A @ x + 0.05 * rng.standard_normal(30)
    a = kronecker_sbl([A], y, noise_var=noise_var, prune=1e-8, tol=1e-8, max_iter=400)
    b = sparse_bayesian_learning(A, y, noise_var=noise_var, tol=1e-8, max_iter=400)
    assert a.n_iter == b.n_iter
    np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=1e-8 * np.abs(b.coef).max())
    assert a.noise_var == pytest.approx(b.noise_var, rel=1e-8)
    np.testing.assert_allclose(a.history.objective, b.history.objective, rtol=1e-9)


@pytest.mark.parametrize("update", ["am", "svd"])
def test_recovers_the_kronecker_sparse_vector(update):
    errors = []
    for seed in range(3):
        factors, y, x, sigma2 = kronecker_problem(seed, n=(8, 8, 8), m=(5, 6, 7), k=2,
                                                  snr_db=25.0)
        res = kronecker_sbl(factors, y, update=update)
        assert isinstance(res, KroneckerSBLResult)
        errors.append(np.sum((res.coef - x) ** 2) / np.sum(x**2))
        assert 1 / 3 < res.noise_var / sigma2 < 3  # learned, of the right size
    assert np.median(errors) < 0.05


def test_factors_and_their_product():
    factors, y, _, _ = kronecker_problem(1, n=(6, 7), m=(4, 5), k=2, snr_db=30.0)
    res = kronecker_sbl(factors, y)
    g = res.factor_prior_var
    assert [len(v) for v in g] == [6, 7]
    np.testing.assert_allclose(res.prior_var[res.support], np.kron(*g)[res.support],
                               rtol=1e-12)
    assert np.linalg.norm(g[0]) == pytest.approx(1.0)  # scale moved to the last factor
    np.testing.assert_array_equal(res.support, np.flatnonzero(np.kron(*g) > 0))


def test_am_update_is_exact_per_block():
    """Each AM block update maximises the EM objective over that factor: perturbing the
    result can only lower sum(-log gamma - Lambda / gamma)."""
    rng = np.random.default_rng(2)
    second = rng.uniform(0.1, 1.0, (4, 5))
    g = [rng.uniform(0.5, 1.5, 4), rng.uniform(0.5, 1.5, 5)]
    new = kron_module._update_am(second, g)

    def q(gs):
        gamma = np.multiply.outer(*gs)
        return float(np.sum(-np.log(gamma) - second / gamma))

    base = q(new)
    for _ in range(20):
        perturbed = [new[0], new[1] * rng.uniform(0.9, 1.1, 5)]
        assert q(perturbed) <= base + 1e-12


def test_complex_factors():
    rng = np.random.default_rng(3)
    factors = [rng.standard_normal((5, 8)) + 1j * rng.standard_normal((5, 8)),
               rng.standard_normal((6, 8)) + 1j * rng.standard_normal((6, 8))]
    x1, x2 = np.zeros(8, complex), np.zeros(8, complex)
    x1[[1, 5]], x2[[2, 6]] = [1 + 1j, -1], [2j, 1]
    x = np.kron(x1, x2)
    y = _kron(factors) @ x + 0.01 * (rng.standard_normal(30) + 1j * rng.standard_normal(30))
    res = kronecker_sbl(factors, y)
    assert res.coef.dtype == np.complex128
    assert np.linalg.norm(res.coef - x) < 0.05 * np.linalg.norm(x)


def test_sizes_must_multiply():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="multiply to 12"):
        kronecker_sbl([rng.standard_normal((3, 4)), rng.standard_normal((4, 4))],
                      np.ones(13))


def test_all_zero_y():
    with pytest.warns(UserWarning, match="all zeros"):
        res = kronecker_sbl([np.eye(3), np.eye(2)], np.zeros(6))
    assert [len(g) for g in res.factor_prior_var] == [3, 2] and np.all(res.coef == 0)
