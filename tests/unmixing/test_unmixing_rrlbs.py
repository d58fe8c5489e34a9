"""rrlbs: monotone objective, the guidance update against cvxpy, accuracy on ruined bands,
shapes and bad inputs."""

import cvxpy as cp
import numpy as np
import pytest

from sparsenum.unmixing import abundance_rmse, match_endmembers, rrlbs
from sparsenum.unmixing._simplex import project_simplex
from sparsenum.unmixing.rrlbs import objective_of


@pytest.fixture(scope="module")
def fitted(ruined_scene):
    return rrlbs(ruined_scene.X, 5, random_state=0)


@pytest.mark.parametrize("kwargs", [
    {},
    {"loss": "l2", "guided": False, "init": "vca"},
    {"loss": "l21", "guided": False, "lam": 0.01},
    {"loss": "l2", "p": 0.3, "lam": 0.05, "gamma": 0.01, "init": "spa"},
])
def test_objective_never_increases(ruined_scene, kwargs):
    res = rrlbs(ruined_scene.X, 5, random_state=1, max_iter=150, **kwargs)
    F = res.history.objective
    assert len(F) == res.n_iter + 1
    assert np.all(F[1:] <= F[:-1] * (1 + 1e-10)), np.max(F[1:] / F[:-1])
    assert res.objective == F[-1]
    assert res.objective == pytest.approx(objective_of(ruined_scene.X, res), rel=1e-9)
    parts = res.history["data_term"] + res.history["sparsity_term"]
    assert np.all(parts <= F * (1 + 1e-12))


def test_guidance_update_is_the_projection_cvxpy_finds():
    rng = np.random.default_rng(0)
    n = 50
    v = rng.normal(size=n) * 3.0
    h = project_simplex(v, float(n))
    x = cp.Variable(n)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(x - v)), [x >= 0, cp.sum(x) == n])
    problem.solve(solver=cp.CLARABEL)
    np.testing.assert_allclose(h, x.value, atol=1e-4)  # the interior point's accuracy
    assert np.sum((h - v) ** 2) <= problem.value * (1 + 1e-9)  # exact: never worse
    assert h.min() >= 0 and h.sum() == pytest.approx(n)


def test_guidance_minimises_its_block(ruined_scene, fitted):
    """For the returned abundances, the returned map solves min lam s^T h + gamma ||h||^2 on
    {h >= 0, sum h = N} (cvxpy)."""
    A = fitted.abundances.reshape(-1, 5)
    s = ((A + 1e-3) ** fitted.p - 1e-3 ** fitted.p).sum(axis=1)
    n = s.size
    h = cp.Variable(n)
    problem = cp.Problem(cp.Minimize(fitted.lam * s @ h + fitted.gamma * cp.sum_squares(h)),
                         [h >= 0, cp.sum(h) == n])
    problem.solve(solver=cp.CLARABEL)
    ours = fitted.guidance.ravel()
    np.testing.assert_allclose(ours, h.value, atol=1e-3)  # the interior point's accuracy
    value = fitted.lam * s @ ours + fitted.gamma * ours @ ours
    assert value <= problem.value + 1e-9 * abs(problem.value)
    mixed = np.argsort(s)[-20:]
    pure = np.argsort(s)[:20]
    assert fitted.guidance.ravel()[pure].mean() > fitted.guidance.ravel()[mixed].mean()


def test_rrlbs_beats_its_start_on_ruined_bands(ruined_scene, spectra, fitted):
    intact = np.setdiff1d(np.arange(180), ruined_scene.ruined)
    order, angles = match_endmembers(spectra[:, intact], fitted.endmembers[:, intact])
    assert angles.mean() < 0.05
    assert abundance_rmse(ruined_scene.abundances, fitted.abundances, order) < 0.06
    plain = rrlbs(ruined_scene.X, 5, loss="l2", guided=False, init="vca", random_state=0)
    _order2, angles2 = match_endmembers(spectra[:, intact], plain.endmembers[:, intact])
    assert angles.mean() < 0.5 * angles2.mean()


def test_band_weights_single_out_ruined_bands(ruined_scene, fitted):
    n_ruined = ruined_scene.ruined.size
    lowest = np.argsort(fitted.band_weights)[:n_ruined]
    assert np.isin(ruined_scene.ruined, lowest).mean() >= 0.9
    assert fitted.band_weights.mean() == pytest.approx(1.0)


def test_constraints_and_shapes(ruined_scene, fitted):
    assert fitted.abundances.shape == (24, 24, 5)
    assert fitted.guidance.shape == (24, 24)
    A = fitted.abundances.reshape(-1, 5)
    assert A.min() >= 0 and fitted.endmembers.min() >= 0
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-12)
    assert fitted.guidance.min() >= 0
    assert fitted.guidance.sum() == pytest.approx(24 * 24)
    assert fitted.history.iteration[-1] == fitted.n_iter
    assert fitted.init_indices.shape == (5,)


def test_unguided_map_is_ones_and_l2_weights_are_ones(ruined_scene):
    res = rrlbs(ruined_scene.X, 5, loss="l2", guided=False, max_iter=5, random_state=0)
    np.testing.assert_array_equal(res.guidance, 1.0)
    np.testing.assert_array_equal(res.band_weights, 1.0)
    assert res.gamma == 0.0


def test_same_seed_same_run_and_callback(ruined_scene):
    seen = []
    a = rrlbs(ruined_scene.X, 5, max_iter=10, random_state=3,
              callback=lambda it, state: seen.append((it, state["objective"])))
    b = rrlbs(ruined_scene.X, 5, max_iter=10, random_state=3, n_jobs=2)
    np.testing.assert_array_equal(a.endmembers, b.endmembers)
    np.testing.assert_array_equal(a.history.objective, b.history.objective)
    assert [it for it, _ in seen] == list(range(1, a.n_iter + 1))
    assert [obj for _, obj in seen] == list(a.history.objective[1:])


def test_verbose_prints_a_line_per_iteration(ruined_scene, capsys):
    rrlbs(ruined_scene.X, 5, max_iter=3, tol=1e-30, verbose=2, random_state=0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and "stopped at max_iter" in lines[-1]


@pytest.mark.parametrize("kwargs, match", [
    ({"n_endmembers": 1}, "n_endmembers"),
    ({"n_endmembers": 200}, "n_endmembers"),
    ({"n_endmembers": 2.0}, "n_endmembers"),
    ({"p": 0.0}, "p must"),
    ({"p": 1.5}, "p must"),
    ({"lam": -1.0}, "lam"),
    ({"lam": "big"}, "lam"),
    ({"gamma": 0.0}, "gamma"),
    ({"loss": "l1"}, "loss"),
    ({"guided": "yes"}, "guided"),
    ({"init": "random"}, "init"),
    ({"tol": -1.0}, "tol"),
    ({"max_iter": 0}, "max_iter"),
    ({"verbose": -1}, "verbose"),
    ({"callback": 3}, "callback"),
    ({"random_state": -1}, "random_state"),
])
def test_rrlbs_rejects_bad_arguments(ruined_scene, kwargs, match):
    args = {"n_endmembers": 5, **kwargs}
    k = args.pop("n_endmembers")
    with pytest.raises((ValueError, TypeError), match=match):
        rrlbs(ruined_scene.X[:4], k, **args)


def test_rrlbs_rejects_constant_bands_and_wrong_cubes(ruined_scene):
    X = ruined_scene.X.reshape(-1, 180).copy()
    X[:, 7] = 0.0
    with pytest.raises(ValueError, match="constant band"):
        rrlbs(X, 5)
    rrlbs(X, 5, init="vca", max_iter=3, random_state=0)  # unweighted starts do not need it
    with pytest.raises(ValueError, match="dimensional"):
        rrlbs(X[None, None], 5)
    with pytest.raises(ValueError, match="more pixels than bands"):
        rrlbs(X[:100], 5)
