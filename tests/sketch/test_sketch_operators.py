"""Sketch operators: isotropy E[S^T S] = I, subspace embedding, structure, inputs."""

import itertools
import math

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from sparsenum.sketch import SRHT, CountSketch, GaussianSketch, SparseSign, make_sketch

OPERATORS = {
    "gaussian": lambda m, seed: GaussianSketch(m, random_state=seed),
    "srht": lambda m, seed: SRHT(m, random_state=seed),
    "srht_dct": lambda m, seed: SRHT(m, transform="dct", random_state=seed),
    "sparse_sign": lambda m, seed: SparseSign(m, nnz_per_column=3, random_state=seed),
    "countsketch": lambda m, seed: CountSketch(m, random_state=seed),
}


@pytest.mark.parametrize("name", list(OPERATORS))
def test_isotropy_expected_gram_is_identity(name):
    """Mean of S^T S over 400 seeded draws is I within 5 standard errors, entry by entry."""
    n, m, trials = 8, 4, 400
    grams = np.empty((trials, n, n))
    for seed in range(trials):
        S = OPERATORS[name](m, seed).apply(np.eye(n))
        grams[seed] = S.T @ S
    mean = grams.mean(axis=0)
    stderr = grams.std(axis=0, ddof=1) / math.sqrt(trials)
    assert np.all(np.abs(mean - np.eye(n)) <= 5 * stderr + 1e-12)
    # the off-diagonal entries really fluctuate (a test of a constant would be vacuous)
    assert stderr[~np.eye(n, dtype=bool)].min() > 0


def _distortion(SU):
    return float(np.linalg.norm(SU.T @ SU - np.eye(SU.shape[1]), 2))


def _theory(name, n, d, m, delta):
    """Distortion ||U^T S^T S U - I||_2 that theory allows with probability 1 - delta."""
    if name == "gaussian":  # Davidson-Szarek: sigma(SU) in 1 +- (sqrt(d/m) + t/sqrt(m))
        e = math.sqrt(d / m) + math.sqrt(2 * math.log(2 / delta) / m)
        return (1 + e) ** 2 - 1
    if name.startswith("srht"):  # Boutsidis & Gittens (2013), Lemma 4.1
        return math.sqrt(6 * (math.sqrt(d) + math.sqrt(8 * math.log(n / delta))) ** 2
                         * math.log(d / delta) / m)
    # CountSketch / OSNAP second moment: E||U^T S^T S U - I||_F^2 <= 2 d^2 / m, then Markov
    return math.sqrt(2 * d * d / (m * delta))


@pytest.mark.parametrize("name", list(OPERATORS))
def test_subspace_embedding_distortion_within_theory(name):
    n, d, m, delta = 4096, 4, 2048, 0.05
    rng = np.random.default_rng(1)
    distortions = []
    for seed in range(12):
        U = np.linalg.qr(rng.standard_normal((n, d)))[0]
        distortions.append(_distortion(OPERATORS[name](m, seed).apply(U)))
    bound = _theory(name, n, d, m, delta)
    # at most delta of the draws may exceed the bound; with 12 draws, allow 1 (binomial slack)
    assert np.sum(np.array(distortions) > bound) <= 1
    assert max(distortions) < 1  # every draw is an embedding: S U has full rank
    assert np.median(distortions) > 0.01  # and the sketch is not an isometry by accident


def test_srht_walsh_hadamard_matches_explicit_matrix():
    n, m = 20, 7  # padded to 32 rows
    op = SRHT(m, random_state=3)
    samples, _, n_pad = op._prepare(n)
    from sparsenum.sketch._kernels import row_signs

    D = row_signs(np.uint64(op.seed), np.int64(0), np.int64(n))
    W = scipy.linalg.hadamard(n_pad)[:, :n]
    S = W[samples] * D / math.sqrt(m)
    A = np.random.default_rng(0).standard_normal((n, 3))
    np.testing.assert_allclose(op.apply(A), S @ A, atol=1e-12)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_blocks_sum_to_full_sketch(name):
    """S A = sum over row blocks of S[:, rows] A[rows]: the identity the Dask path relies on."""
    if name == "srht_dct":
        pytest.skip("the DCT mixes all rows at once; only in-memory")
    n = 3000
    A = np.random.default_rng(0).standard_normal((n, 4))
    op = OPERATORS[name](300, 5)
    prepared = op._prepare(n)
    cuts = [0, 700, 701, 2048, n]
    total = sum(op._apply_block(np.ascontiguousarray(A[a:b]), a, n, prepared)
                for a, b in itertools.pairwise(cuts))
    np.testing.assert_allclose(total, op.apply(A), atol=1e-10)


@pytest.mark.parametrize("name", list(OPERATORS))
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_input_equals_dense_input(name, fmt):
    A = sp.random(500, 8, density=0.05, random_state=0, format=fmt)
    op = OPERATORS[name](50, 2)
    np.testing.assert_allclose(op.apply(A), op.apply(A.toarray()), atol=1e-12)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_same_operator_same_matrix_and_inputs_untouched(name):
    A = np.random.default_rng(0).standard_normal((300, 3))
    A_copy = A.copy()
    op = OPERATORS[name](40, 9)
    first = op.apply(A)
    np.testing.assert_array_equal(first, op.apply(A))
    np.testing.assert_allclose(first[:, 1], op.apply(A[:, 1]), atol=1e-12)  # vectors
    np.testing.assert_array_equal(first, OPERATORS[name](40, 9).apply(A))  # int seeds
    assert not np.allclose(first, OPERATORS[name](40, 10).apply(A))
    np.testing.assert_array_equal(A, A_copy)


def test_sparse_sign_column_structure():
    S = SparseSign(10, nnz_per_column=4, random_state=0).apply(np.eye(50))
    assert (np.count_nonzero(S, axis=0) == 4).all()
    np.testing.assert_allclose(np.abs(S[S != 0]), 0.5)
    S = CountSketch(10, random_state=0).apply(np.eye(50))
    assert (np.count_nonzero(S, axis=0) == 1).all()


@given(alpha=st.floats(-3, 3), seed=st.integers(0, 2**31), name=st.sampled_from(list(OPERATORS)))
def test_linearity(alpha, seed, name):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((64, 2)), rng.standard_normal((64, 2))
    op = OPERATORS[name](16, seed)
    np.testing.assert_allclose(op.apply(alpha * A + B), alpha * op.apply(A) + op.apply(B),
                               atol=1e-10)


@pytest.mark.parametrize(
    ("make", "A", "error", "match"),
    [
        (lambda: SRHT(0), None, ValueError, "m must be an integer >= 1"),
        (lambda: SRHT(2.5), None, TypeError, "m must be an integer"),
        (lambda: SRHT(4, transform="fft"), None, ValueError, "transform must be one of"),
        (lambda: SparseSign(4, nnz_per_column=0), None, ValueError, "nnz_per_column"),
        (lambda: make_sketch("haar", 4), None, ValueError, "sketch must be one of"),
        (lambda: make_sketch(3, 4), None, TypeError, "sketch must be a name"),
        (lambda: make_sketch(SRHT(4), 5), None, ValueError, "disagrees"),
        (lambda: SRHT(40), np.ones((10, 2)), ValueError, "m must be <= the number of rows"),
        (lambda: SRHT(4), np.full((10, 2), np.nan), ValueError, "NaN"),
        (lambda: SRHT(4), np.full((10, 2), np.inf), ValueError, "finite"),
        (lambda: SRHT(4), np.ones((10, 2, 2)), ValueError, "dimensional"),
        (lambda: SRHT(4), "abc", TypeError, "array-like"),
        (lambda: SRHT(4), sp.lil_matrix((10, 2)), TypeError, "supported sparse formats"),
        (lambda: SRHT(4), sp.dok_matrix((10, 2)), TypeError, "tocsr"),
    ],
)
def test_bad_inputs(make, A, error, match):
    with pytest.raises(error, match=match):
        op = make()
        op.apply(A)
