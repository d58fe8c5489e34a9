"""Support message passing (Turbo-VBI's module B) against brute-force enumeration."""

import itertools

import numpy as np
import pytest

from sparsenum.bayes._kernels import chain_messages, grid_messages
from sparsenum.bayes._support import SupportGraph

# loopy BP on a 3 x 3 grid is within this (absolute) distance of the exact marginals when the
# coupling J = log(psi00 psi11 / psi01^2) is below 2 (measured worst case 0.075 over 400 random
# cases); stronger couplings are the ordered regime where loopy BP is known to be overconfident
GRID_TOLERANCE = 0.1
GRID_MAX_COUPLING = 2.0


def _coupling(p01, p10):
    pi1 = p01 / (p01 + p10)
    return np.log((1 - p10) / pi1 * (1 - p01) / (1 - pi1) / (p01 / pi1) ** 2)


def _brute_force(nu, p01, p10, edges, n):
    """Exact marginals of p(s) ~ prod pi_{s_n} prod_edges psi(s_i, s_j) prod ev_n(s_n):
    posterior, extrinsic (own evidence left out) and expected pair counts."""
    pi1 = p01 / (p01 + p10)
    pi = np.array([1 - pi1, pi1])
    T = np.array([[1 - p01, p01], [p10, 1 - p10]])
    psi = T / pi[None, :]
    states = np.array(list(itertools.product((0, 1), repeat=n)))
    prior = np.prod(pi[states], axis=1)
    for i, j in edges:
        prior = prior * psi[states[:, i], states[:, j]]
    ev = np.where(states == 1, nu, 1 - nu)
    joint = prior * np.prod(ev, axis=1)
    joint /= joint.sum()
    posterior = joint @ states
    extrinsic = np.empty(n)
    for k in range(n):
        w = prior * np.prod(np.delete(ev, k, axis=1), axis=1)
        extrinsic[k] = (w @ states[:, k]) / w.sum()
    counts = np.zeros((2, 2))
    for i, j in edges:
        for a in (0, 1):
            for b in (0, 1):
                counts[a, b] += joint[(states[:, i] == a) & (states[:, j] == b)].sum()
    return extrinsic, posterior, counts


@pytest.mark.parametrize("n", [1, 2, 5, 12])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_backward_equals_enumeration(n, seed):
    rng = np.random.default_rng(seed)
    nu = rng.uniform(0.01, 0.99, n)
    p01, p10 = rng.uniform(0.02, 0.5), rng.uniform(0.05, 0.7)
    ext, post, counts = chain_messages(nu, p01, p10)
    edges = [(k, k + 1) for k in range(n - 1)]
    e_ext, e_post, e_counts = _brute_force(nu, p01, p10, edges, n)
    np.testing.assert_allclose(ext, e_ext, atol=1e-12)
    np.testing.assert_allclose(post, e_post, atol=1e-12)
    np.testing.assert_allclose(counts, e_counts, atol=1e-12)


def test_forward_backward_with_saturated_evidence():
    nu = np.array([1e-13, 1 - 1e-13, 0.5, 1 - 1e-13, 1e-13])
    ext, post, _counts = chain_messages(nu, 0.1, 0.3)
    assert np.all(np.isfinite(ext)) and np.all((post >= 0) & (post <= 1))
    assert post[1] > 1 - 1e-10 and post[0] < 1e-10


@pytest.mark.parametrize("h", [1, 4, 9])
def test_grid_of_one_column_is_the_chain(h):
    rng = np.random.default_rng(h)
    nu = rng.uniform(0.01, 0.99, h)
    msg = np.full((4, h, 1), 0.5)
    ext, post, counts, sweeps = grid_messages(nu.reshape(h, 1), 0.2, 0.35, msg, 0.5, 1e-14, 500)
    c_ext, c_post, c_counts = chain_messages(nu, 0.2, 0.35)
    np.testing.assert_allclose(ext, c_ext, atol=1e-10)
    np.testing.assert_allclose(post, c_post, atol=1e-10)
    # the chain counts directed pairs, the grid undirected edges: same totals, symmetrised
    np.testing.assert_allclose(counts + counts.T, c_counts + c_counts.T, atol=1e-9)
    assert sweeps < 500


@pytest.mark.parametrize("seed", range(12))
def test_loopy_bp_on_3x3_grid_is_close_to_enumeration(seed):
    rng = np.random.default_rng(seed)
    nu = rng.uniform(0.05, 0.95, 9)
    p01, p10 = rng.uniform(0.02, 0.3), rng.uniform(0.1, 0.6)
    while _coupling(p01, p10) >= GRID_MAX_COUPLING:
        p01, p10 = rng.uniform(0.02, 0.3), rng.uniform(0.1, 0.6)
    msg = np.full((4, 3, 3), 0.5)
    ext, post, _counts, sweeps = grid_messages(nu.reshape(3, 3), p01, p10, msg, 0.5, 1e-12, 1000)
    edges = [(3 * i + j, 3 * i + j + 1) for i in range(3) for j in range(2)] + \
        [(3 * i + j, 3 * (i + 1) + j) for i in range(2) for j in range(3)]
    e_ext, e_post, _e_counts = _brute_force(nu, p01, p10, edges, 9)
    assert np.abs(post - e_post).max() < GRID_TOLERANCE
    assert np.abs(ext - e_ext).max() < GRID_TOLERANCE
    assert sweeps < 1000  # converged


def test_loopy_bp_with_strong_coupling_still_converges_to_probabilities():
    rng = np.random.default_rng(7)
    nu = rng.uniform(0.01, 0.99, (6, 7))
    msg = np.full((4, 6, 7), 0.5)
    ext, post, counts, sweeps = grid_messages(nu, 0.03, 0.3, msg, 0.5, 1e-9, 1000)
    assert _coupling(0.03, 0.3) > 4 and sweeps < 1000
    assert np.all((ext > 0) & (ext < 1)) and np.all((post >= 0) & (post <= 1))
    assert counts.sum() == pytest.approx(6 * 6 + 5 * 7)  # one unit of mass per edge


def test_transition_em_recovers_the_chain_it_was_fitted_on():
    """EM from exact pair counts of a long sampled chain (evidence saturated at the truth)."""
    rng = np.random.default_rng(0)
    p01, p10 = 0.05, 0.25
    s = np.zeros(20000, int)
    s[0] = rng.random() < p01 / (p01 + p10)
    for k in range(1, s.size):
        s[k] = rng.random() < (p01 if s[k - 1] == 0 else 1 - p10)
    nu = np.where(s == 1, 1 - 1e-9, 1e-9)
    graph = SupportGraph("chain", s.size)
    _, post, counts = graph.messages(nu, (0.5, 0.5))
    est = graph.update_transition(counts, post)
    assert est == pytest.approx((p01, p10), rel=0.1)
    assert graph.transition_from_support(s.astype(bool)) == pytest.approx((p01, p10), rel=0.1)


def test_iid_support_is_the_chain_with_p01_plus_p10_one():
    nu = np.random.default_rng(1).uniform(0.05, 0.95, 8)
    lam = 0.3
    ext, post, _ = SupportGraph("iid", 8).messages(nu, (lam, 1 - lam))
    c_ext, c_post, _ = chain_messages(nu, lam, 1 - lam)
    np.testing.assert_allclose(ext, c_ext, atol=1e-12)
    np.testing.assert_allclose(post, c_post, atol=1e-12)


def test_neighbour_sums():
    v = np.arange(6.0)
    np.testing.assert_array_equal(SupportGraph("chain", 6).neighbour_sum(v),
                                  [1, 2, 4, 6, 8, 4])
    grid = SupportGraph("mrf", 6, (2, 3)).neighbour_sum(v)
    np.testing.assert_array_equal(grid, [1 + 3, 0 + 2 + 4, 1 + 5, 0 + 4, 3 + 5 + 1, 4 + 2])
    np.testing.assert_array_equal(SupportGraph("iid", 6).neighbour_sum(v), np.zeros(6))


@pytest.mark.parametrize("kind, shape", [("chain", None), ("mrf", (3, 4)), ("iid", None)])
def test_pattern_coupled_update_sums_the_graph_neighbours(kind, shape):
    """SBL's compiled variance update sums the neighbours as SupportGraph.neighbour_sum does
    (the same additions in the same order: equal to the last bit)."""
    from sparsenum.bayes._step_kernels import sbl_variances

    rng = np.random.default_rng(3)
    n, h, coupling = 12, 0.5, 1.0
    graph = SupportGraph(kind, n, shape)
    gamma = rng.random(n)
    kept, frozen = np.arange(0, n, 2), np.arange(1, n, 2)
    mean_sq, post_var = rng.random(kept.size), rng.random(kept.size)
    new, alpha = sbl_variances(mean_sq, post_var, np.zeros(kept.size), kept, frozen, gamma,
                               np.ones(n), np.zeros(n, bool), False, coupling, *graph.grid,
                               0.0, 0.0, h, 1e12, 0.0, False)
    second = gamma.copy()
    second[kept] = mean_sq + post_var
    ref_alpha = h / (h * (second + coupling * graph.neighbour_sum(second)))
    np.testing.assert_array_equal(alpha, ref_alpha)
    ref_new = 1.0 / (ref_alpha + coupling * graph.neighbour_sum(ref_alpha))
    np.testing.assert_array_equal(new, ref_new)
