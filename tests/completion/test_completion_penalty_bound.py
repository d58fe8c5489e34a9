"""The factor penalty bound of the penalty search: sigma_1 of the count-scaled bias residual,
checked against scipy's svds and against fits just above and below it."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from sparsenum.completion import altmin_complete
from sparsenum.completion._cases import low_rank
from sparsenum.completion._observed import Observed
from sparsenum.completion._validation import check_matrix
from sparsenum.completion.regularization import PenaltySearch, _bias_only, factor_penalty_bound

BIAS_REG = (1.0, 2.0)


def _bias_fit(M, bias_reg):
    data = Observed(check_matrix(M, "M"))
    mu = data.values_sum() / data.nnz
    common = {"mu": mu, "biases": True, "tol": 1e-14, "seed": 0, "n_jobs": 1,
              "solver": "exact"}
    state = _bias_only(data, bias_reg, common, PenaltySearch(bias_sweeps=500))
    return data, mu, state


@pytest.fixture(scope="module")
def noisy():
    _, M = low_rank(90, 70, 3, 0.4, noise=0.5, seed=11)
    data, mu, state = _bias_fit(M, BIAS_REG)
    return M, data, mu, state, factor_penalty_bound(data, mu, state.a, state.c)


def test_bound_is_the_top_singular_value_of_the_scaled_residual(noisy):
    M, _, mu, state, bound = noisy
    observed = ~np.isnan(M)
    R = np.where(observed, np.nan_to_num(M) - mu - state.a[:, None] - state.c[None, :], 0.0)
    n_i, n_j = observed.sum(1), observed.sum(0)
    S = R / np.sqrt(np.outer(n_i, n_j))
    reference = svds(sp.csr_matrix(S), k=1, return_singular_vectors=False)[0]
    assert bound == pytest.approx(reference, rel=1e-10)
    assert bound == pytest.approx(np.linalg.norm(S, 2), rel=1e-10)


@pytest.mark.parametrize("share, vanish", [(1.03, True), (1.2, True), (0.97, False),
                                           (0.8, False)])
def test_factors_vanish_above_the_bound_and_not_below(noisy, share, vanish):
    M, _, _, _, bound = noisy
    # the bound is that of the model without the implicit prior
    result = altmin_complete(M, 4, reg=share * bound, bias_reg=BIAS_REG, implicit=None, tol=0,
                             n_sweeps=400, random_state=0)
    size = np.linalg.norm(result.row_factors @ result.col_factors.T)
    if vanish:
        assert size < 1e-6
    else:
        assert size > 0.1


def test_bound_without_biases_is_that_of_the_values():
    _, M = low_rank(40, 30, 2, 0.5, seed=12)
    data = Observed(check_matrix(M, "M"))
    zeros_m, zeros_n = np.zeros(40), np.zeros(30)
    bound = factor_penalty_bound(data, 0.0, zeros_m, zeros_n)
    observed = ~np.isnan(M)
    S = np.nan_to_num(M) / np.sqrt(np.outer(observed.sum(1), observed.sum(0)))
    assert bound == pytest.approx(np.linalg.norm(S, 2), rel=1e-10)


def test_empty_rows_and_columns_do_not_enter():
    _, M = low_rank(30, 25, 2, 0.5, noise=0.3, seed=13)
    M[3, :] = np.nan
    M[:, 7] = np.nan
    data, mu, state = _bias_fit(M, BIAS_REG)
    bound = factor_penalty_bound(data, mu, state.a, state.c)
    keep_r, keep_c = np.arange(30) != 3, np.arange(25) != 7
    sub, sub_mu, sub_state = _bias_fit(M[keep_r][:, keep_c], BIAS_REG)
    assert mu == sub_mu
    assert bound == pytest.approx(
        factor_penalty_bound(sub, sub_mu, sub_state.a, sub_state.c), rel=1e-8)


def test_penalty_path_starts_below_the_bound_of_the_split():
    from sparsenum.utils import check_random_state, spawn_seeds

    _, M = low_rank(120, 80, 3, 0.4, noise=0.5, seed=7)
    result = altmin_complete(M, 8, bias_reg=BIAS_REG, random_state=0)
    search = PenaltySearch()
    seeds = spawn_seeds(check_random_state(0), 4)
    train, _ = Observed(check_matrix(M, "M")).split(search.heldout_fraction, int(seeds[0]))
    mu = train.values_sum() / train.nnz
    common = {"mu": mu, "biases": True, "tol": 1e-14, "seed": 0, "n_jobs": 1,
              "solver": "exact"}
    state = _bias_only(train, BIAS_REG, common, PenaltySearch(bias_sweeps=500))
    bound = factor_penalty_bound(train, mu, state.a, state.c)
    table = result.reg_search
    candidates = table[~np.isnan(table[:, 0]) & np.isnan(table[:, 3]), 0]
    # the search's bias-only fit stops at a looser tolerance: the bound agrees to ~1e-4
    np.testing.assert_allclose(candidates, bound * np.array(search.reg_grid[:candidates.size]),
                               rtol=1e-3)
    assert result.reg in candidates and np.linalg.norm(result.row_factors) > 0


def test_bias_only_fit_is_the_ridge_solution():
    """The bias-only sweeps converge to the ridge fit of the one-hot row and column ids
    (numpy's lstsq on the design stacked over the penalty's square root)."""
    _, M = low_rank(40, 30, 2, 0.5, noise=0.3, seed=14)
    _, mu, state = _bias_fit(M, BIAS_REG)
    rows, cols = np.nonzero(~np.isnan(M))
    X = np.zeros((rows.size, 70))
    X[np.arange(rows.size), rows] = 1.0
    X[np.arange(rows.size), 40 + cols] = 1.0
    penalty = np.diag(np.sqrt(np.r_[np.full(40, BIAS_REG[0]), np.full(30, BIAS_REG[1])]))
    target = np.r_[M[rows, cols] - mu, np.zeros(70)]
    coef = np.linalg.lstsq(np.vstack([X, penalty]), target, rcond=None)[0]
    np.testing.assert_allclose(np.r_[state.a, state.c], coef, atol=1e-10)
