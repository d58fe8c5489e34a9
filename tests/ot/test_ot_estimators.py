"""EntropicTransport and SparseTransport: plans, mapping, sklearn usage."""

import numpy as np
import ot
import pytest
from scipy.spatial.distance import cdist
from sklearn.base import clone

from sparsenum.ot import EntropicTransport, SparseTransport, sparsity_constrained_ot


def _clouds(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) + np.array([3.0, 0.0])


@pytest.mark.parametrize("solver", ["sns", "sinkhorn"])
def test_entropic_transport_matches_pot_plan_and_maps_barycentrically(solver):
    Xs, Xt = _clouds()
    model = EntropicTransport(reg=0.05, solver=solver).fit(Xs, X_target=Xt)
    C = cdist(Xs, Xt, "sqeuclidean")
    a, b = np.full(30, 1 / 30), np.full(25, 1 / 25)
    ref = ot.bregman.sinkhorn_log(a, b, C / C.max(), 0.05, stopThr=1e-13, numItermax=100_000)
    np.testing.assert_allclose(model.plan_, ref, atol=1e-9)
    assert model.cost_ == pytest.approx(np.sum(ref * C), rel=1e-7)
    mapped = model.transform(Xs)
    np.testing.assert_allclose(mapped, (ref @ Xt) / ref.sum(1, keepdims=True), atol=1e-6)
    assert model.converged_ and model.n_iter_ >= 1


def test_out_of_sample_moves_with_nearest_source():
    Xs, Xt = _clouds(1)
    model = EntropicTransport(reg=0.05).fit(Xs, X_target=Xt)
    new = Xs[:3] + 1e-3
    np.testing.assert_allclose(model.transform(new) - new,
                               model.X_mapped_[:3] - Xs[:3], atol=1e-12)


def test_sparse_transport_is_k_sparse_and_matches_function():
    Xs, Xt = _clouds(2)
    model = SparseTransport(reg=0.5, max_nz=3).fit(Xs, X_target=Xt)
    assert (model.plan_ > 0).sum(axis=0).max() <= 3
    C = cdist(Xs, Xt, "sqeuclidean")
    res = sparsity_constrained_ot(np.full(30, 1 / 30), np.full(25, 1 / 25), C / C.max(), 0.5, 3)
    np.testing.assert_allclose(model.plan_, res.plan, atol=1e-12)


def test_default_target_is_source_and_clone():
    Xs, _ = _clouds(3)
    model = EntropicTransport(reg=0.01).fit(Xs)
    assert model.plan_.shape == (30, 30)
    clone(model).fit(Xs)  # clone keeps only parameters


@pytest.mark.parametrize("model, name", [
    (SparseTransport(max_nz=0), "max_nz"),
    (SparseTransport(formulation="primal"), "formulation"),
    (EntropicTransport(solver="pot"), "solver"),
])
def test_own_parameters_are_checked_before_the_data(model, name):
    # X whose squared distances overflow: the parameter error must come first, naming it
    X = np.array([[0.0, 0.0], [1e300, 1e300]])
    with pytest.raises(ValueError, match=name):
        model.fit(X)
