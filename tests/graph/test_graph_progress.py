"""verbose and callback of sparsify and SpectralSparsifier: what is printed and passed is what
the history records, and a callback returning True stops the densification."""

import numpy as np
import pytest

from sparsenum.graph import SpectralSparsifier, sparsify

from .conftest import delaunay_graph


@pytest.fixture(scope="module")
def mesh():
    return delaunay_graph(300, seed=11, weighted=True)


def _rows(calls):
    return np.array([it for it, _ in calls]), {k: np.array([s[k] for _, s in calls])
                                               for k in ("condition_number", "n_edges",
                                                         "offtree_density")}


@pytest.mark.parametrize("method", ["grass", "fegrass"])
def test_callback_sees_every_round_as_recorded(mesh, method):
    calls = []
    res = sparsify(mesh, method=method, offtree_density=0.1, random_state=0,
                   callback=lambda it, state: calls.append((it, dict(state))))
    iterations, state = _rows(calls)
    np.testing.assert_array_equal(iterations, res.history.iteration)
    np.testing.assert_array_equal(iterations, np.arange(res.n_iter + 1))
    np.testing.assert_array_equal(state["condition_number"], res.history.criterion)
    np.testing.assert_array_equal(state["n_edges"], res.history["n_edges"])
    np.testing.assert_array_equal(state["offtree_density"], res.history["offtree_density"])
    masks = [s["edge_mask"] for _, s in calls]
    assert [int(m.sum()) for m in masks] == list(state["n_edges"])
    assert all(not m.flags.writeable for m in masks)
    np.testing.assert_array_equal(masks[-1], res.edge_mask)
    assert (masks[0] <= masks[-1]).all()  # rounds only add edges
    # the callback changes nothing
    plain = sparsify(mesh, method=method, offtree_density=0.1, random_state=0)
    np.testing.assert_array_equal(plain.edge_mask, res.edge_mask)


def test_callback_returning_true_stops_after_that_round(mesh):
    full = sparsify(mesh, offtree_density=0.1, random_state=0)
    seen = []

    def stop_at_3(iteration, state):
        seen.append(iteration)
        return iteration == 3

    res = sparsify(mesh, offtree_density=0.1, random_state=0, callback=stop_at_3)
    assert seen == [0, 1, 2, 3] and res.n_iter == 3 and len(res.history) == 4
    assert not res.converged and full.converged
    np.testing.assert_array_equal(res.history.criterion, full.history.criterion[:4])
    assert res.edge_mask.sum() == full.history["n_edges"][3] < full.edge_mask.sum()
    # only True stops: other truthy values do not
    res = sparsify(mesh, offtree_density=0.1, random_state=0, callback=lambda i, s: 1)
    np.testing.assert_array_equal(res.edge_mask, full.edge_mask)
    # a stop on the last round leaves the budget used: converged
    last = sparsify(mesh, offtree_density=0.1, random_state=0,
                    callback=lambda i, s: i == full.n_iter)
    assert last.converged and last.n_iter == full.n_iter


def test_target_condition_decides_converged_after_a_stop(mesh):
    res = sparsify(mesh, offtree_density=0.5, target_condition=1.5, random_state=0,
                   callback=lambda i, s: i == 1)
    assert res.n_iter == 1 and not res.converged
    res = sparsify(mesh, offtree_density=0.5, target_condition=1e9, random_state=0,
                   callback=lambda i, s: True)
    assert res.n_iter == 0 and res.converged


def test_resistance_reports_its_single_row(mesh):
    calls = []
    res = sparsify(mesh, method="resistance", offtree_density=0.5, random_state=0,
                   callback=lambda it, state: calls.append((it, dict(state))))
    assert [it for it, _ in calls] == [1] == list(res.history.iteration)
    assert calls[0][1]["condition_number"] == res.condition_number


def test_verbose_levels(mesh, capsys):
    res = sparsify(mesh, offtree_density=0.1, random_state=0, verbose=0)
    assert capsys.readouterr().out == ""
    sparsify(mesh, offtree_density=0.1, random_state=0, verbose=True)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("sparsify: ") and "condition_number" in out[0]
    sparsify(mesh, offtree_density=0.1, random_state=0, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(res.history) + 1
    for line, it, kappa, edges in zip(out, res.history.iteration, res.history.criterion,
                                      res.history["n_edges"]):
        assert line.startswith(f"sparsify: iteration {it} ")
        assert f"condition_number={kappa:.6g}" in line and f"n_edges={edges:.6g}" in line
    assert f"{res.n_iter} rounds" in out[-1]


@pytest.mark.parametrize("value", ["yes", 1.5, -1, [1], None, object()])
def test_bad_verbose_named(mesh, value):
    with pytest.raises((TypeError, ValueError), match="verbose"):
        sparsify(mesh, verbose=value)
    with pytest.raises((TypeError, ValueError), match="verbose"):
        SpectralSparsifier(verbose=value).fit(mesh)


@pytest.mark.parametrize("value", ["print", 3, [print], object()])
def test_bad_callback_named(mesh, value):
    with pytest.raises(TypeError, match="callback"):
        sparsify(mesh, callback=value)
    with pytest.raises(TypeError, match="callback"):
        SpectralSparsifier(callback=value).fit(mesh)


def test_estimator_passes_verbose_and_callback_to_fit(mesh, capsys):
    calls = []
    est = SpectralSparsifier(random_state=0, verbose=2,
                             callback=lambda it, state: calls.append(it)).fit(mesh)
    assert calls == list(est.result_.history.iteration)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(est.result_.history) + 1
    quiet = SpectralSparsifier(random_state=0).fit(mesh)
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(quiet.result_.edge_mask, est.result_.edge_mask)
    stopped = SpectralSparsifier(random_state=0, callback=lambda it, s: it == 2).fit(mesh)
    assert stopped.result_.n_iter == 2 and not stopped.result_.converged
