"""The users' normal sampler (a ziggurat on SplitMix64) against scipy.stats.norm.

Fixed seeds; 4e6 draws. Moment checks use 4.5 standard errors of the sample moment under the
normal law (mean 1/sqrt(N), variance sqrt(2/N), skewness sqrt(6/N), excess kurtosis
sqrt(24/N)); a correct sampler fails one with probability below 1e-5. Goodness-of-fit tests
require a p-value above 1e-4.
"""

import math

import numpy as np
import pytest
from scipy import stats

from sparsenum.privacy._normal import LAYERS, ZIGGURAT, fill_normals

N = 4_000_000


@pytest.fixture(scope="module")
def draws():
    out = np.empty(N)
    fill_normals(np.uint64(20261207), out, N, ZIGGURAT)
    return out


def test_the_layers_have_equal_areas_and_reach_the_top():
    x, f = ZIGGURAT
    r = x[1]
    tail = math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2))
    v = r * f[1] + tail
    areas = np.r_[x[0] * f[1], x[1:LAYERS] * (f[2:] - f[1:LAYERS])]
    np.testing.assert_allclose(areas, v, rtol=1e-12)
    assert x[LAYERS] == 0.0 and f[LAYERS] == 1.0
    assert np.all(np.diff(x[1:]) < 0)
    np.testing.assert_allclose(f, np.exp(-0.5 * x * x), rtol=1e-15)


def test_kolmogorov_smirnov_and_chi_square_against_scipy(draws):
    assert stats.kstest(draws, stats.norm.cdf).pvalue > 1e-4
    # 1000 equiprobable bins catch local errors (a wrong layer or wedge) that KS can miss
    edges = stats.norm.ppf(np.linspace(0, 1, 1001))
    counts, _ = np.histogram(draws, edges)
    assert stats.chisquare(counts).pvalue > 1e-4


def test_moments(draws):
    assert abs(draws.mean()) < 4.5 / math.sqrt(N)
    assert abs(draws.var() - 1.0) < 4.5 * math.sqrt(2.0 / N)
    assert abs(stats.skew(draws)) < 4.5 * math.sqrt(6.0 / N)
    assert abs(stats.kurtosis(draws)) < 4.5 * math.sqrt(24.0 / N)


@pytest.mark.parametrize("t", [2.0, 3.0, ZIGGURAT[0, 1], 4.0, 4.5])
def test_tail_probabilities(draws, t):
    """P(|Z| > t), including the tail beyond the base layer's edge r, drawn separately."""
    p = 2.0 * stats.norm.sf(t)
    hits = np.count_nonzero(np.abs(draws) > t)
    assert abs(hits - N * p) < 4.5 * math.sqrt(N * p * (1 - p)) + 1, (t, hits, N * p)


def test_the_tail_beyond_r_is_a_truncated_normal(draws):
    r = ZIGGURAT[0, 1]
    tail = np.abs(draws[np.abs(draws) > r])
    assert tail.size > 500
    assert stats.kstest(tail, stats.truncnorm(r, np.inf).cdf).pvalue > 1e-4


def test_signs_are_balanced_and_streams_reproducible(draws):
    positive = np.count_nonzero(draws > 0)
    assert abs(positive - N / 2) < 4.5 * math.sqrt(N / 4)
    again = np.empty(1000)
    fill_normals(np.uint64(20261207), again, 1000, ZIGGURAT)
    np.testing.assert_array_equal(again, draws[:1000])
