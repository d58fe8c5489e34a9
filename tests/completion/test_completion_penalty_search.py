"""The paired comparison that stops losing candidates of the penalty search: its sums against
numpy, its z statistic against scipy's paired t-test, and the Dask blocks against memory."""

import numpy as np
import pytest
from scipy.stats import ttest_rel

from sparsenum.completion._cases import low_rank
from sparsenum.completion._observed import Observed
from sparsenum.completion._validation import check_matrix
from sparsenum.completion.regularization import _paired_z


@pytest.fixture(scope="module")
def split_and_fits():
    _, M = low_rank(80, 60, 3, 0.5, noise=0.3, seed=3)
    _, heldout = Observed(check_matrix(M, "M")).split(0.2, 7)
    rng = np.random.default_rng(0)
    m, n = M.shape
    fits = [(rng.standard_normal((m, 3)), rng.standard_normal((n, 3)), rng.standard_normal(m),
             rng.standard_normal(n)) for _ in range(2)]
    return M, heldout, fits


def _squared_errors(triplets, fit, mu):
    U, V, a, c = fit
    X = mu + a[:, None] + c[None, :] + U @ V.T
    return (triplets.vals - X[triplets.rows, triplets.cols]) ** 2


def test_difference_sums_match_numpy(split_and_fits):
    _, heldout, (model, reference) = split_and_fits
    d = (_squared_errors(heldout.triplets, model, 0.5)
         - _squared_errors(heldout.triplets, reference, 0.5))
    total, squares, count = heldout.difference_sums(model, reference, 0.5)
    assert count == heldout.size == d.size > 0
    np.testing.assert_allclose([total, squares], [d.sum(), d @ d], rtol=1e-12)


def test_paired_z_is_scipys_paired_t_statistic(split_and_fits):
    _, heldout, (model, reference) = split_and_fits
    sums = heldout.difference_sums(model, reference, 0.5)
    expected = ttest_rel(_squared_errors(heldout.triplets, model, 0.5),
                         _squared_errors(heldout.triplets, reference, 0.5)).statistic
    assert _paired_z(sums) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("sums, expected", [
    ((0.0, 0.0, 0), 0.0),            # nothing held out
    ((3.0, 9.0, 1), 0.0),            # one entry: no spread to measure
    ((2.0, 1.0, 4), np.inf),         # the same positive difference everywhere
    ((-2.0, 1.0, 4), -np.inf),
    ((0.0, 0.0, 5), 0.0),            # identical fits
])
def test_paired_z_edge_cases(sums, expected):
    assert _paired_z(sums) == expected


def test_dask_blocks_sum_to_the_in_memory_comparison(split_and_fits):
    da = pytest.importorskip("dask.array")
    from sparsenum.completion._dask import DaskObserved

    M, heldout, (model, reference) = split_and_fits
    _, blocks = DaskObserved(da.from_array(M, chunks=(30, 60))).split(0.2, 7)
    assert blocks.size == heldout.size
    np.testing.assert_allclose(blocks.difference_sums(model, reference, 0.5),
                               heldout.difference_sums(model, reference, 0.5), rtol=1e-12)
