"""Supports feasible by construction for sparsity-constrained OT (assignment and staircase)."""

import warnings

import numpy as np
import ot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsenum.ot import sparsity_constrained_ot
from sparsenum.ot._sparse_recovery import feasible_support
from sparsenum.ot._support_repair import saturate
from sparsenum.ot._support_seed import (
    assignment_backbone,
    assignment_form,
    seed_support,
    staircase_backbone,
)


def _plan(slot_row, flow, n):
    m = slot_row.shape[0]
    P = np.zeros((n, m))
    np.add.at(P, (slot_row.ravel(), np.repeat(np.arange(m), slot_row.shape[1])), flow.ravel())
    return P


def _crowded(n, k, seed):
    """Uniform n x n weights whose candidate rows (the top k of every column's score) all sit
    among 8 rows: far from feasible, so a short search cannot repair the support."""
    rng = np.random.default_rng(seed)
    idx = np.stack([rng.permutation(8)[:k] for _ in range(n)])
    score = rng.random((n, n))
    score[idx, np.arange(n)[:, None]] += 10.0
    # score = alpha + beta - C with alpha = beta = 0
    return np.full(n, 1 / n), np.full(n, 1 / n), -score, np.zeros(n), np.zeros(n), idx, \
        np.full((n, k), 1 / n)


def test_assignment_form():
    assert assignment_form(np.full(4, 0.25), np.full(4, 0.25)).tolist() == [1, 1, 1, 1]
    assert assignment_form(np.array([0.5, 0.25, 0.25]), np.full(4, 0.25)).tolist() == [2, 1, 1]
    assert assignment_form(np.array([0.6, 0.4]), np.full(4, 0.25)) is None
    assert assignment_form(np.full(2, 0.5), np.array([0.4, 0.6])) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_assignment_backbone_is_an_assignment_keeping_the_candidates(seed):
    a, b, C, alpha, beta, idx, _ = _crowded(60, 2, seed)
    score = alpha[:, None] + beta[None, :] - C
    rows = assignment_backbone(a, b, score, idx)
    assert sorted(rows.tolist()) == list(range(60))  # a permutation
    # as many columns keep one of their candidates as a maximum matching allows: the
    # candidates cover only 8 rows, so exactly 8 columns
    assert sum(rows[j] in idx[j] for j in range(60)) == 8
    slot_row, flow = seed_support(rows[:, None], b[:, None].copy(), np.ones(60, np.int64), idx)
    P = _plan(slot_row, flow, 60)
    np.testing.assert_allclose(P.sum(axis=1), a, atol=1e-15)
    np.testing.assert_allclose(P.sum(axis=0), b, atol=1e-15)
    for j in range(60):  # the backbone row first, then the best other candidate
        assert len(set(slot_row[j])) == 2 and slot_row[j, 0] == rows[j]
        assert slot_row[j, 1] == next(i for i in idx[j] if i != rows[j])


def test_assignment_backbone_with_row_copies():
    rng = np.random.default_rng(3)
    a, b = np.r_[np.full(5, 0.1), np.full(10, 0.05)], np.full(20, 0.05)
    C = rng.random((15, 20))
    idx = np.argsort(C, axis=0)[:2].T
    rows = assignment_backbone(a, b, -C, idx)
    np.testing.assert_array_equal(np.bincount(rows, minlength=15), np.rint(a / 0.05))


def test_feasible_support_regression_uses_the_assignment_seed():
    # regression: the crowded candidates used to need thousands of tabu moves (minutes at
    # n = 5000); the seed makes the support feasible by construction
    a, b, C, alpha, beta, idx, val = _crowded(200, 2, 4)
    slot_row, flow, deficit, moves, feasible = feasible_support(a, b, C, alpha, beta, idx, val)
    assert feasible and deficit <= 1e-12 and moves <= 64
    P = _plan(slot_row, flow, 200)
    assert np.all(P >= 0) and (P > 0).sum(axis=0).max() <= 2
    np.testing.assert_allclose(P.sum(axis=1), a, atol=1e-13)
    np.testing.assert_allclose(P.sum(axis=0), b, atol=1e-13)
    # deterministic: the same support again
    again = feasible_support(a, b, C, alpha, beta, idx, val)
    np.testing.assert_array_equal(again[0], slot_row)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), m=st.integers(1, 40), k=st.integers(2, 5),
       seed=st.integers(0, 10_000))
def test_staircase_feasible_when_columns_fit_hypothesis(n, m, k, seed):
    # max(b) <= (k - 1) min(a): every column of a north-west-corner plan spans at most k rows,
    # so the staircase must place all of them, whatever the candidates
    rng = np.random.default_rng(seed)
    a = rng.random(n) + 1.0
    b = rng.random(m) + 0.1
    b *= min((k - 1) * a.min() / b.max(), 1.0)
    a, b = a / a.sum() * b.sum(), b
    if b.max() > (k - 1) * a.min():
        return
    idx = np.stack([rng.permutation(n)[:min(k, n)] for _ in range(m)])
    if idx.shape[1] < k:
        return
    rows, flows, count = staircase_backbone(a, b, idx)
    assert count.min() >= 1 and count.max() <= k
    slot_row, flow = seed_support(rows, flows, count, idx)
    P = _plan(slot_row, flow, n)
    assert np.all(P >= 0) and (P > 0).sum(axis=0).max() <= k
    np.testing.assert_allclose(P.sum(axis=0), b, atol=1e-12)
    np.testing.assert_allclose(P.sum(axis=1), a, atol=1e-12)
    assert saturate(a, b, slot_row, flow, 1e-15) <= 1e-12


def _clouds(n, seed, nonuniform):
    rng = np.random.default_rng(seed)
    xs, xt = rng.normal(0, 1, (n, 2)), rng.normal(1, 1, (n, 2))
    C = ot.dist(xs, xt)
    a = np.full(n, 1 / n)
    b = np.full(n, 1 / n)
    if "a" in nonuniform:
        a = rng.random(n) + 0.2
        a /= a.sum()
    if "b" in nonuniform:
        b = rng.random(n) + 0.2
        b /= b.sum()
    return a, b, C / C.max()


@pytest.mark.parametrize("nonuniform", ["", "b", "ab"])
def test_max_nz_two_point_clouds_feasible_against_lp(nonuniform):
    a, b, C = _clouds(80, 5, nonuniform)
    gamma = 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = sparsity_constrained_ot(a, b, C, gamma, 2)
    P = res.plan
    assert res.converged and res.marginal_error <= 1e-8
    assert np.all(P >= 0) and (P > 0).sum(axis=0).max() <= 2
    # lower bounds nobody here wrote: the exact LP (POT's network simplex) bounds the cost of
    # every plan; the quadratically regularised optimum without the sparsity constraint (POT)
    # bounds the objective
    assert res.cost >= ot.emd2(a, b, C) - 1e-12
    l2 = ot.smooth.smooth_ot_dual(a, b, C, gamma, reg_type="l2", stopThr=1e-12,
                                  numItermax=20_000)
    assert res.objective >= np.sum(C * l2) + 0.5 * gamma * np.sum(l2 * l2) - 1e-8
    assert res.dual_objective <= res.objective + 1e-12
