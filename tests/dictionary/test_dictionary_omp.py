"""batch_omp against scikit-learn's orthogonal_mp_gram, plus invariants and bad inputs."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import orthogonal_mp_gram

from sparsenum.dictionary import batch_omp


def _problem(seed, n=60, n_features=16, n_atoms=40):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    return rng.standard_normal((n, n_features)), D


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n_nonzero", [1, 3, 8])
def test_matches_sklearn_fixed_sparsity(seed, n_nonzero):
    X, D = _problem(seed)
    codes = batch_omp(X, D, n_nonzero=n_nonzero)
    reference = orthogonal_mp_gram(D @ D.T, D @ X.T, n_nonzero_coefs=n_nonzero).T
    assert sp.isspmatrix_csr(codes) and codes.shape == (X.shape[0], D.shape[0])
    np.testing.assert_array_equal(codes.toarray() != 0, reference != 0)  # same supports
    np.testing.assert_allclose(codes.toarray(), reference, rtol=0, atol=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_matches_sklearn_tolerance(seed):
    X, D = _problem(seed)
    tol = 0.3 * float(np.median(np.sum(X**2, axis=1)))
    codes = batch_omp(X, D, tol=tol)
    reference = orthogonal_mp_gram(D @ D.T, D @ X.T, tol=tol,
                                   norms_squared=np.sum(X**2, axis=1)).T
    # documented difference: a signal already within tol gets an empty code (sklearn: 1 atom)
    small = np.sum(X**2, axis=1) <= tol
    assert codes[np.flatnonzero(small)].nnz == 0
    ours, ref = codes.toarray()[~small], reference[~small]
    np.testing.assert_array_equal(ours != 0, ref != 0)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)
    residual = np.sum((X - codes @ D) ** 2, axis=1)
    assert np.all(residual <= tol * (1 + 1e-9))


def test_unnormalised_atoms_give_coefficients_for_given_atoms():
    X, D = _problem(5)
    scales = np.linspace(0.5, 3.0, D.shape[0])
    unit = batch_omp(X, D, n_nonzero=4)
    scaled = batch_omp(X, D * scales[:, None], n_nonzero=4)
    np.testing.assert_allclose(scaled.toarray() * scales, unit.toarray(), atol=1e-10)
    np.testing.assert_allclose(scaled @ (D * scales[:, None]), unit @ D, atol=1e-10)


def test_zero_atoms_are_never_selected():
    X, D = _problem(6)
    D[[2, 7]] = 0.0
    codes = batch_omp(X, D, n_nonzero=5)
    assert codes[:, [2, 7]].nnz == 0


def test_exact_recovery_of_sparse_combinations():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((64, 32))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    true = np.zeros((50, 64))
    for row in true:
        row[rng.choice(64, 3, replace=False)] = rng.choice([-1, 1], 3) * rng.uniform(1, 2, 3)
    X = true @ D
    codes = batch_omp(X, D, n_nonzero=3)
    np.testing.assert_allclose(codes.toarray(), true, atol=1e-9)


def test_zero_residual_stops_early_with_warning():
    D = np.eye(2)
    with pytest.warns(RuntimeWarning, match="stopped early for 1 of 1"):
        codes = batch_omp(np.array([[3.0, 0.0]]), D, n_nonzero=2)
    np.testing.assert_array_equal(codes.toarray(), [[3.0, 0.0]])


def test_duplicate_atoms_are_not_both_selected():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((5, 4))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    D = np.vstack([D, D[:1]])
    X = rng.standard_normal((20, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        codes = batch_omp(X, D, n_nonzero=4)
    dense = codes.toarray()
    assert not np.any((dense[:, 0] != 0) & (dense[:, 5] != 0))


@given(seed=st.integers(0, 2**16), n_nonzero=st.integers(1, 6))
def test_codes_are_sparse_and_residual_orthogonal(seed, n_nonzero):
    X, D = _problem(seed, n=8, n_features=10, n_atoms=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        codes = batch_omp(X, D, n_nonzero=n_nonzero)
    assert codes.getnnz(axis=1).max() <= n_nonzero
    residual = X - codes @ D
    for i in range(X.shape[0]):  # least-squares optimality on the chosen support
        support = codes.indices[codes.indptr[i]:codes.indptr[i + 1]]
        np.testing.assert_allclose(D[support] @ residual[i], 0.0, atol=1e-9)


def test_inputs_not_modified_and_threads_agree():
    X, D = _problem(3)
    X0, D0 = X.copy(), D.copy()
    one = batch_omp(X, D, n_nonzero=4, n_jobs=1)
    two = batch_omp(X, D, n_nonzero=4, n_jobs=2)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(D, D0)
    np.testing.assert_array_equal(one.toarray(), two.toarray())


def test_default_sparsity_follows_sklearn():
    X, D = _problem(2, n_features=30, n_atoms=50)
    assert batch_omp(X, D).getnnz(axis=1).max() == 3


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_nonzero": 0}, ValueError, "n_nonzero must be an integer >= 1"),
    ({"n_nonzero": 41}, ValueError, r"n_nonzero must be <= min\(n_components, n_features\) = 16"),
    ({"n_nonzero": 17}, ValueError, "n_features"),
    ({"n_nonzero": 2.0}, TypeError, "n_nonzero must be an integer"),
    ({"tol": -1.0}, ValueError, "tol must be a finite number >= 0"),
    ({"tol": np.nan}, ValueError, "tol"),
    ({"n_jobs": 0}, ValueError, "n_jobs"),
])
def test_bad_arguments(kwargs, error, match):
    X, D = _problem(0)
    with pytest.raises(error, match=match):
        batch_omp(X, D, **kwargs)


def test_bad_arrays():
    X, D = _problem(0)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X must not contain NaN"):
        batch_omp(bad, D)
    bad = D.copy()
    bad[1, 1] = np.inf
    with pytest.raises(ValueError, match="D must be finite"):
        batch_omp(X, bad)
    with pytest.raises(ValueError, match="one column per signal feature"):
        batch_omp(X, D[:, :5])
    with pytest.raises(ValueError, match="at least one nonzero atom"):
        batch_omp(X, np.zeros_like(D))
    with pytest.raises(ValueError, match="2-dimensional"):
        batch_omp(X[0], D)
