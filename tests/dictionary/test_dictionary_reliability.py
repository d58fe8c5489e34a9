"""Bad values and extreme scales: clean errors naming the user's argument, or exact answers."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sparsenum.dictionary import (
    KSVD,
    CalibratedDictionaryCompressor,
    LowRankLayer,
    OnlineOrthogonalDictionary,
    SparseDictionaryLayer,
    batch_omp,
    compress_layer,
    ksvd,
    sparse_dictionary_budget,
)


@pytest.fixture(scope="module")
def fitted():
    X = np.random.default_rng(0).standard_normal((120, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return (KSVD(n_nonzero=2, random_state=0).fit(X),
                OnlineOrthogonalDictionary(random_state=0).fit(X))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_inverse_transform_rejects_non_finite_codes(fitted, bad):
    ksvd_model, _ = fitted
    codes = np.zeros((2, 8))
    codes[1, 3] = bad
    for model in fitted:
        with pytest.raises(ValueError, match="X must"):
            model.inverse_transform(codes)
    with pytest.raises(ValueError, match="X must be finite"):
        ksvd_model.inverse_transform(sp.csr_matrix(codes))


def test_layers_reject_non_finite_factors():
    codes = sp.csr_matrix(np.array([[np.nan, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="codes must be finite"):
        SparseDictionaryLayer(np.eye(2), codes)
    with pytest.raises(ValueError, match="dictionary must not contain NaN"):
        SparseDictionaryLayer(np.array([[np.nan, 0.0], [0.0, 1.0]]), sp.eye(2, format="csr"))
    with pytest.raises(ValueError, match="right must not contain NaN"):
        LowRankLayer(np.ones((3, 1)), np.full((1, 2), np.nan))


@pytest.mark.parametrize(("shape", "error", "match"), [
    ((64.7, 64.2), TypeError, r"shape\[0\] \(d_in\) must be an integer"),
    ((64, True), TypeError, r"shape\[1\] \(d_out\) must be an integer"),
    ((0, 64), ValueError, r"shape\[0\] \(d_in\) must be an integer >= 1"),
    ("ab", TypeError, "shape must be a pair of integers"),
    ((64,), TypeError, "shape must be a pair of integers"),
])
def test_budget_shape_is_a_pair_of_positive_integers(shape, error, match):
    with pytest.raises(error, match=match):
        sparse_dictionary_budget(shape, 0.3)
    assert sparse_dictionary_budget((np.int64(64), 64), 0.3) == (28, 15)


@pytest.mark.parametrize("scale", [1e-300, 1e-100, 1e-9, 1e100, 1e300])
def test_batch_omp_codes_scale_with_the_signals(scale):
    rng = np.random.default_rng(1)
    X, D = rng.standard_normal((20, 8)), rng.standard_normal((12, 8))
    reference = batch_omp(X, D, n_nonzero=3)
    codes = batch_omp(X * scale, D, n_nonzero=3)
    assert codes.nnz == reference.nnz == 60
    np.testing.assert_array_equal(codes.indices, reference.indices)
    np.testing.assert_allclose(codes.data / scale, reference.data, rtol=1e-12)
    # huge or tiny atoms: the coefficients are for the atoms as given
    codes = batch_omp(X, D * scale, n_nonzero=3)
    np.testing.assert_allclose(codes.data * scale, reference.data, rtol=1e-12)


@pytest.mark.parametrize("exponent", [-300, 300])
def test_batch_omp_tolerance_is_in_the_users_units(exponent):
    rng = np.random.default_rng(2)
    X, D = rng.standard_normal((10, 8)), rng.standard_normal((12, 8))
    reference = batch_omp(X, D, tol=0.5)
    codes = batch_omp(X * 2.0**exponent, D, tol=0.5 * 2.0 ** (2 * exponent))
    np.testing.assert_array_equal(codes.indptr, reference.indptr)
    np.testing.assert_array_equal(codes.indices, reference.indices)


@pytest.mark.parametrize("scale", [2.0**-900, 2.0**-300, 2.0**300, 2.0**450])
def test_ksvd_is_scale_equivariant(scale):
    X = np.random.default_rng(3).standard_normal((80, 6))
    ref = ksvd(X, 8, 2, max_iter=4, tol=0.0, random_state=0)
    res = ksvd(X * scale, 8, 2, max_iter=4, tol=0.0, random_state=0)
    np.testing.assert_allclose(res.dictionary, ref.dictionary, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.codes.toarray() / scale, ref.codes.toarray(), rtol=1e-10,
                               atol=1e-12)
    assert res.codes.nnz == ref.codes.nnz
    if np.isfinite(ref.objective * scale**2) and ref.objective * scale**2 > 1e-300:
        assert res.objective == pytest.approx(ref.objective * scale**2, rel=1e-10)


def test_ksvd_on_overflowing_data_names_x():
    X = np.random.default_rng(4).standard_normal((50, 8)) * 1e300
    for call in (lambda: KSVD().fit(X), lambda: ksvd(X, 8, 2)):
        with pytest.raises(ValueError, match="X is too large: its squared Frobenius norm"):
            call()


@pytest.mark.parametrize(("w_scale", "x_scale"), [(1.0, 1e300), (1e300, 1.0), (1e-300, 1e-200)])
def test_compress_layer_does_not_depend_on_scale(w_scale, x_scale):
    rng = np.random.default_rng(5)
    W, X = rng.standard_normal((12, 16)), rng.standard_normal((60, 12))
    ref = compress_layer(W, X, max_iter=5, random_state=0)
    res = compress_layer(W * w_scale, X * x_scale, max_iter=5, random_state=0)
    assert res.activation_error == pytest.approx(ref.activation_error, rel=1e-9)
    np.testing.assert_allclose(res.layer.toarray() / w_scale, ref.layer.toarray(), rtol=1e-8,
                               atol=1e-10)
    svd = compress_layer(W * w_scale, X * x_scale, method="svd")
    assert np.isfinite(svd.activation_error)


def test_former_name_n_atoms_still_works_with_a_future_warning():
    X = np.random.default_rng(6).standard_normal((60, 6))
    with pytest.warns(FutureWarning, match="n_atoms is renamed n_components"):
        old = KSVD(n_atoms=7, n_nonzero=2, max_iter=2, tol=0.5, random_state=0).fit(X)
    new = KSVD(n_components=7, n_nonzero=2, max_iter=2, tol=0.5, random_state=0).fit(X)
    np.testing.assert_array_equal(old.dictionary_, new.dictionary_)
    with pytest.warns(FutureWarning):
        assert ksvd(X, n_atoms=7, n_nonzero=2, max_iter=1).dictionary.shape == (7, 6)
    with pytest.warns(FutureWarning), pytest.raises(TypeError, match="not both"):
        ksvd(X, 7, 2, n_atoms=7)
    result = compress_layer(np.ones((8, 10)) + np.eye(8, 10), max_iter=2, random_state=0)
    with pytest.warns(FutureWarning, match="n_atoms is renamed n_components"):
        assert result.n_atoms == result.n_components


def test_ksvd_warning_states_a_rise_of_the_objective():
    from sparsenum.base import ConvergenceHistory
    from sparsenum.dictionary.ksvd import unsettled_message

    history = ConvergenceHistory(3, ("replaced",))
    history.record(1, 10.0, 0.5, replaced=0)
    history.record(2, 10.5, -0.0125, replaced=2)
    message = unsettled_message("KSVD", history, 2, 1e-4, False)
    assert "rose by 0.0125" in message
    assert "OMP coding is greedy and 2 atoms were replaced" in message
    assert "max_iter=2" in message and "monotone=True" in message
    assert "monotone=True" not in unsettled_message("KSVD", history, 2, 1e-4, True)
    X = np.random.default_rng(1).standard_normal((50, 16))
    with pytest.warns(ConvergenceWarning) as caught:
        model = KSVD(n_components=32, n_nonzero=3, max_iter=3, tol=0.0, random_state=1).fit(X)
    decrease = model.history_.criterion[-1]
    word = "rose" if decrease < 0 else "fell"
    assert f"{word} by {abs(decrease):.3g} in the last iteration" in str(caught[0].message)


def test_online_warning_counts_passes_not_steps():
    X = np.random.default_rng(0).standard_normal((200, 8))
    with pytest.warns(ConvergenceWarning, match=r"max_iter=3 passes over the data \(12 "
                                                 r"mini-batch steps of 64 samples\)"):
        model = OnlineOrthogonalDictionary(max_iter=3, random_state=0).fit(X)
    assert model.n_iter_ == 3 and model.n_steps_ == 12 and not model.converged_


def _planted_orthogonal(n=8, n_samples=2000, seed=0):
    rng = np.random.default_rng(seed)
    D, _ = np.linalg.qr(rng.standard_normal((n, n)))
    codes = rng.standard_normal((n_samples, n)) * (rng.random((n_samples, n)) < 0.2)
    return codes @ D.T


def test_defaults_converge_on_easy_problems_without_warning():
    from sparsenum.dictionary._cases import easy_fits

    for fit in easy_fits():
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            model = fit.estimator.fit(fit.X) if fit.y is None else fit.estimator.fit(fit.X, fit.y)
        assert model.converged_, fit.name


def test_ksvd_callback_and_verbose(capsys):
    X = np.random.default_rng(7).standard_normal((100, 8))
    seen = []

    def watch(iteration, state):
        seen.append((iteration, state["squared_residual"], state["dictionary"]))
        return iteration == 3

    result = ksvd(X, 12, 2, max_iter=10, tol=0.0, random_state=0, callback=watch, verbose=2)
    assert [s[0] for s in seen] == [1, 2, 3] and result.n_iter == 3 and not result.converged
    np.testing.assert_array_equal(result.history.objective, [s[1] for s in seen])
    np.testing.assert_array_equal(result.dictionary, seen[-1][2])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("ksvd: iteration 1 ")


def test_compressor_passes_verbose():
    rng = np.random.default_rng(8)
    W, X = rng.standard_normal((12, 16)), rng.standard_normal((60, 12))
    with pytest.raises(TypeError, match="verbose"):
        CalibratedDictionaryCompressor(max_iter=2, random_state=0, verbose="x").fit(W, X)
