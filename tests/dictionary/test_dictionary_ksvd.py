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
        if replaced[t] == 0:  # replacements happen at the start of an iteration
            assert objective[t] <= objective[t - 1] * (1 + 1e-12)
    # the recorded objective is the true one for the returned dictionary and codes
    np.testing.assert_allclose(np.sum((X - result.codes @ result.dictionary) ** 2),
                               result.objective, rtol=1e-10)


def test_codes_are_omp_codes_of_the_learned_dictionary(planted):
    X, _D = planted
    model = KSVD(n_components=24, n_nonzero=2, max_iter=5, random_state=0)
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
    with pytest.warns(ConvergenceWarning, match=r"did not settle in max_iter=2 iterations: the "
                                                 r"relative squared error fell by") as caught:
        model = KSVD(n_components=10, n_nonzero=2, max_iter=2, tol=0.0, random_state=0).fit(X)
    decrease = model.history_.criterion[-1]
    assert f"fell by {decrease:.3g} in the last iteration" in str(caught[0].message)
    history = model.history_.as_dict()
    assert {"replaced", "squared_residual", "error_decrease"} <= set(history)
    assert model.n_iter_ == 2 and model.history_.iteration[-1] == 2


def test_unused_atoms_are_replaced_by_worst_signals():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 6))
    init = np.zeros((8, 6))
    init[:, 0] = 1.0  # all atoms identical: only one can ever be used
    init[0] = rng.standard_normal(6)
    result = ksvd(X, 8, 1, max_iter=2, tol=0.0, dict_init=init, random_state=0)
    # unused atoms are replaced before the second coding stage, and then attract signals
    assert result.n_replaced == result.history["replaced"][1] >= 6
    assert np.all(result.codes.getnnz(axis=0) > 0)
    # a replaced atom is the worst-represented signal, normalised, each signal used once
    from sparsenum.dictionary.ksvd import _replace_atoms

    D = init / np.linalg.norm(init, axis=1, keepdims=True)
    errors = np.arange(60.0)
    assert _replace_atoms(X, D, np.arange(8) >= 2, errors) == 6
    np.testing.assert_allclose(D[2:], X[59:53:-1] / np.linalg.norm(X[59:53:-1], axis=1,
                                                                    keepdims=True))


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
        model = KSVD(n_components=5, n_nonzero=4, max_iter=2, tol=0.5, random_state=0).fit(X)
    assert model.n_nonzero_ == 3


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_components": 0}, ValueError, "n_components must be an integer >= 1"),
    ({"n_components": 2.5}, TypeError, "n_components must be an integer"),
    ({"n_components": 10**9}, ValueError, "n_components=1000000000 would need .* GiB"),
    ({"n_nonzero": 0}, ValueError, "n_nonzero must be an integer >= 1"),
    ({"n_nonzero": 9}, ValueError, r"min\(n_components, n_features\) = 8"),
    ({"max_iter": 0}, ValueError, "max_iter must be an integer >= 1"),
    ({"tol": -1.0}, ValueError, "tol must be a finite number >= 0"),
    ({"tol": "0.0001"}, TypeError, "tol must be a real number"),
    ({"tol": True}, TypeError, "tol must be a real number"),
    ({"approximate": "yes"}, TypeError, "approximate must be True or False"),
    ({"monotone": 1}, TypeError, "monotone must be True or False"),
    ({"random_state": -1}, ValueError, "random_state must be"),
    ({"verbose": "yes"}, TypeError, "verbose"),
    ({"callback": 1}, TypeError, "callback"),
    ({"dict_init": np.ones((3, 8))}, ValueError, "dict_init must have shape"),
    ({"n_jobs": 0}, ValueError, "n_jobs"),
])
def test_bad_arguments(kwargs, error, match):
    X = np.random.default_rng(0).standard_normal((20, 8))
    args = {"n_components": 10, "n_nonzero": 2}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ksvd(X, args.pop("n_components"), args.pop("n_nonzero"), **args)


def test_bad_data():
    X = np.random.default_rng(0).standard_normal((20, 8))
    X[3, 3] = np.inf
    with pytest.raises(ValueError, match="X must be finite"):
        ksvd(X, 10, 2)
    with pytest.raises(ValueError, match="NaN"):
        KSVD(n_components=4, n_nonzero=1).fit(np.full((5, 3), np.nan))
    model = KSVD(n_components=4, n_nonzero=1, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(np.random.default_rng(0).standard_normal((20, 3)))
    with pytest.raises(ValueError, match="X must hold codes of shape"):
        model.inverse_transform(np.ones((2, 5)))
