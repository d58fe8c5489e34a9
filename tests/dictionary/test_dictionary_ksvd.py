"""K-SVD: atom recovery, monotone objective, estimator behaviour, bad inputs."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import orthogonal_mp_gram

from sparsenum.dictionary import KSVD, ksvd


def _planted(seed, n_features=16, n_atoms=24, n_nonzero=2, n_samples=1000):
    """Clean signals, each a random combination of n_nonzero atoms of a random dictionary."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = np.zeros((n_samples, n_atoms))
    for row in C:
        row[rng.choice(n_atoms, n_nonzero, replace=False)] = rng.standard_normal(n_nonzero)
    return C @ D, D


def _recovered(learned, true, threshold=0.99):
    """Fraction of true atoms matched by a learned atom with |cosine| > threshold."""
    return float(np.mean(np.abs(learned @ true.T).max(axis=0) > threshold))


@pytest.fixture(scope="module")
def planted():
    return _planted(1)


@pytest.mark.parametrize("approximate", [True, False])
def test_recovers_planted_dictionary(approximate):
    """Clean signals from a random 16 x 24 dictionary, 2 atoms each.

    K-SVD is a local method: single runs recover 88-100% of the atoms (so do published runs
    on Aharon et al.'s 20 x 50 setup, where we measure 94-96% on average), so the 95% bar is
    asserted on the average over six problems, and every run must recover most atoms.
    """
    rates = []
    for seed in range(6):
        X, D = _planted(seed + 10)
        result = ksvd(X, 24, 2, max_iter=60, tol=0.0, approximate=approximate,
                      random_state=seed)
        np.testing.assert_allclose(np.linalg.norm(result.dictionary, axis=1), 1.0, atol=1e-12)
        rates.append(_recovered(result.dictionary, D))
    assert np.mean(rates) >= 0.95 and min(rates) >= 0.85


@pytest.mark.parametrize("approximate", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_objective_never_increases_except_after_replacement(approximate, seed):
    X = np.random.default_rng(seed).standard_normal((400, 12))
    result = ksvd(X, 30, 3, max_iter=15, tol=0.0, approximate=approximate, monotone=True,
                  random_state=seed)
    objective = result.history.objective
    replaced = result.history["replaced"]
    for t in range(1, len(objective)):
        if replaced[t - 1] == 0:
            assert objective[t] <= objective[t - 1] * (1 + 1e-12)
    # the recorded objective is the true one for the returned dictionary and codes
    np.testing.assert_allclose(np.sum((X - result.codes @ result.dictionary) ** 2),
                               result.objective, rtol=1e-10)


def test_codes_are_omp_codes_of_the_learned_dictionary(planted):
    X, _D = planted
    model = KSVD(n_atoms=24, n_nonzero=2, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    codes = model.transform(X)
    reference = orthogonal_mp_gram(model.components_ @ model.components_.T,
                                   model.components_ @ X.T, n_nonzero_coefs=2).T
    np.testing.assert_allclose(codes.toarray(), reference, atol=1e-10)
    assert sp.issparse(codes) and codes.getnnz(axis=1).max() <= 2
    np.testing.assert_allclose(model.inverse_transform(codes), codes @ model.dictionary_)
    assert model.components_ is model.dictionary_
    assert len(model.history_) == model.n_iter_


def test_history_columns_and_convergence_warning():
    X = np.random.default_rng(2).standard_normal((100, 8))
    with pytest.warns(ConvergenceWarning, match="relative_decrease"):
        model = KSVD(n_atoms=10, n_nonzero=2, max_iter=2, tol=0.0, random_state=0).fit(X)
    history = model.history_.as_dict()
    assert {"coding_time", "update_time", "replaced", "squared_residual"} <= set(history)
    assert np.all(history["coding_time"] >= 0) and np.all(history["update_time"] >= 0)


def test_unused_atoms_are_replaced_by_worst_signals():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 6))
    init = np.zeros((8, 6))
    init[:, 0] = 1.0  # all atoms identical: only one can ever be used
    init[0] = rng.standard_normal(6)
    result = ksvd(X, 8, 1, max_iter=1, tol=0.0, dict_init=init, random_state=0)
    assert result.n_replaced >= 6
    # every replaced atom is a normalised training signal
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    matches = np.abs(result.dictionary @ (X / norms).T).max(axis=1)
    assert np.sum(matches > 1 - 1e-12) >= 6


def test_deterministic_and_input_unchanged(planted):
    X, _ = planted
    X0 = X.copy()
    a = ksvd(X, 24, 2, max_iter=3, random_state=5)
    b = ksvd(X, 24, 2, max_iter=3, random_state=5, n_jobs=1)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(a.dictionary, b.dictionary)


def test_estimator_caps_n_nonzero_with_warning():
    X = np.random.default_rng(0).standard_normal((30, 3))
    with pytest.warns(UserWarning, match="exceeds min"):
        model = KSVD(n_atoms=5, n_nonzero=4, max_iter=2, tol=0.5, random_state=0).fit(X)
    assert model.n_nonzero_ == 3


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_atoms": 0}, ValueError, "n_atoms must be an integer >= 1"),
    ({"n_atoms": 2.5}, TypeError, "n_atoms must be an integer"),
    ({"n_nonzero": 0}, ValueError, "n_nonzero must be an integer >= 1"),
    ({"n_nonzero": 9}, ValueError, r"min\(n_atoms, n_features\) = 8"),
    ({"max_iter": 0}, ValueError, "max_iter must be an integer >= 1"),
    ({"tol": -1.0}, ValueError, "tol must be a finite number >= 0"),
    ({"approximate": "yes"}, TypeError, "approximate must be a bool"),
    ({"monotone": 1}, TypeError, "monotone must be a bool"),
    ({"dict_init": np.ones((3, 8))}, ValueError, "dict_init must have shape"),
    ({"n_jobs": 0}, ValueError, "n_jobs"),
])
def test_bad_arguments(kwargs, error, match):
    X = np.random.default_rng(0).standard_normal((20, 8))
    args = {"n_atoms": 10, "n_nonzero": 2}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ksvd(X, args.pop("n_atoms"), args.pop("n_nonzero"), **args)


def test_bad_data():
    X = np.random.default_rng(0).standard_normal((20, 8))
    X[3, 3] = np.inf
    with pytest.raises(ValueError, match="X must be finite"):
        ksvd(X, 10, 2)
    with pytest.raises(ValueError, match="NaN"):
        KSVD(n_atoms=4, n_nonzero=1).fit(np.full((5, 3), np.nan))
    model = KSVD(n_atoms=4, n_nonzero=1, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(np.random.default_rng(0).standard_normal((20, 3)))
    with pytest.raises(ValueError, match="codes must have shape"):
        model.inverse_transform(np.ones((2, 5)))
