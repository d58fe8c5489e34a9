"""Maximum flow on k-sparse supports: augment and the in-place swap trial against networkx."""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsenum.ot._max_flow import augment, row_adjacency, spares, swap_deficit, workspace
from sparsenum.ot._support_repair import repair

TOL = 1e-15


def _instance(n, m, k, seed, partial=True):
    """Random weights of equal mass, a support of k distinct rows per column and (with
    ``partial``) a flow on it below both marginals."""
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    b *= a.sum() / b.sum()
    slot_row = np.stack([rng.choice(n, size=k, replace=False) for _ in range(m)])
    flow = np.zeros((m, k))
    if partial:
        flow = rng.random((m, k)) * 0.3 * (b / k)[:, None]
        row_sum = np.bincount(slot_row.ravel(), flow.ravel(), n)
        flow *= np.minimum(1.0, a / np.maximum(row_sum, 1e-300))[slot_row].min()
    return a, b, slot_row, flow


def _networkx_deficit(a, b, slot_row):
    """Column mass that no flow on the support carries (networkx's maximum flow)."""
    G = nx.DiGraph()
    for i, ai in enumerate(a):
        G.add_edge("s", ("r", i), capacity=float(ai))
    for j, bj in enumerate(b):
        G.add_edge(("c", j), "t", capacity=float(bj))
        for i in slot_row[j]:
            G.add_edge(("r", int(i)), ("c", j))  # no capacity: unbounded
    return float(b.sum()) - nx.maximum_flow_value(G, "s", "t")


def _check_flow(a, b, slot_row, flow):
    n = a.shape[0]
    assert np.all(flow >= -1e-15)
    assert np.all(np.bincount(slot_row.ravel(), flow.ravel(), n) <= a + 1e-13)
    assert np.all(flow.sum(axis=1) <= b + 1e-13)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), m=st.integers(1, 12), k=st.integers(1, 4),
       seed=st.integers(0, 2**31 - 1), partial=st.booleans())
def test_augment_is_a_maximum_flow_hypothesis(n, m, k, seed, partial):
    k = min(k, n)
    a, b, slot_row, flow = _instance(n, m, k, seed, partial)
    row_spare, col_spare = spares(a, b, slot_row, flow)
    reach_row, reach_col = np.zeros(n, bool), np.zeros(m, bool)
    deficit = augment(slot_row, flow, row_spare, col_spare, TOL, reach_row, reach_col)
    assert deficit == pytest.approx(_networkx_deficit(a, b, slot_row), abs=1e-12)
    _check_flow(a, b, slot_row, flow)
    # the reached rows and columns are a minimum cut: no edge from a reached row leaves them
    for j in range(m):
        assert reach_col[j] or not reach_row[slot_row[j]].any()


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 12), m=st.integers(1, 12), k=st.integers(1, 4),
       seed=st.integers(0, 2**31 - 1), partial=st.booleans())
def test_swap_deficit_equals_a_fresh_maximum_flow_hypothesis(n, m, k, seed, partial):
    """The in-place trial of every one-slot swap gives the deficit of a from-scratch
    maximum flow (networkx) and, exactly, that of :func:`augment` on a swapped copy, and leaves
    the support, flow and spares as they were."""
    k = min(k, n - 1)
    a, b, slot_row, flow = _instance(n, m, k, seed, partial)
    row_spare, col_spare = spares(a, b, slot_row, flow)
    reach_row, reach_col = np.zeros(n, bool), np.zeros(m, bool)
    augment(slot_row, flow, row_spare, col_spare, TOL, reach_row, reach_col)
    start, edges, merged, work, seen, touched, dirty = workspace(n, m, k)
    row_adjacency(slot_row, n, start, edges)
    state = (slot_row.copy(), flow.copy(), row_spare.copy(), col_spare.copy())
    rng = np.random.default_rng(seed)
    for _ in range(6):
        j, s = int(rng.integers(m)), int(rng.integers(k))
        new_row = int(rng.choice(np.setdiff1d(np.arange(n), slot_row[j])))
        d = swap_deficit(slot_row, flow, row_spare, col_spare, TOL, start, edges, j, s, new_row,
                         merged, work, seen, touched, dirty, state[1], state[2], state[3])
        for now, before in zip((slot_row, flow, row_spare, col_spare), state):
            np.testing.assert_array_equal(now, before)
        assert not touched.any()
        rows, fl, rs, cs = (x.copy() for x in state)
        rs[rows[j, s]] += fl[j, s]
        cs[j] += fl[j, s]
        fl[j, s] = 0.0
        rows[j, s] = new_row
        fresh = augment(rows, fl, rs, cs, TOL, np.zeros(n, bool), np.zeros(m, bool))
        assert d == fresh
        assert d == pytest.approx(_networkx_deficit(a, b, rows), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_repair_result_is_a_maximum_flow_on_a_k_sparse_support(seed):
    """The repaired support's flow is a maximum flow (networkx) with k distinct rows per column,
    and its deficit is no larger than the starting support's (the search keeps its best)."""
    n = m = 30
    k = 2
    a, b, slot_row, flow = _instance(n, m, k, seed, partial=False)
    score = -np.random.default_rng(seed).random((n, m))
    start_deficit = _networkx_deficit(a, b, slot_row)
    deficit, moves = repair(a, b, score, slot_row, flow, TOL, 10 * (n + m), 2 * (n + m), 200,
                            20, 3)
    assert all(len(set(row)) == k for row in slot_row)
    _check_flow(a, b, slot_row, flow)
    assert deficit == pytest.approx(_networkx_deficit(a, b, slot_row), abs=1e-12)
    assert deficit <= start_deficit + 1e-12 and moves >= 1
