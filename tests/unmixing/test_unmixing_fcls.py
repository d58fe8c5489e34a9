"""fcls against cvxpy (Clarabel) and scipy's nnls; its constraints, shapes and bad inputs."""

import cvxpy as cp
import numpy as np
import pytest
import scipy.optimize

from sparsenum.unmixing import fcls


def _cvxpy_fcls(X, E, loss, w):
    A = cp.Variable((X.shape[0], E.shape[0]), nonneg=True)
    R = X - A @ E
    if loss == "l2":
        objective = 0.5 * cp.sum(cp.multiply(w, cp.sum(cp.square(R), axis=0)))
    else:
        objective = cp.sum(cp.multiply(w, cp.norm(R, 2, axis=0)))
    problem = cp.Problem(cp.Minimize(objective), [cp.sum(A, axis=1) == 1])
    problem.solve(solver=cp.CLARABEL)
    return problem.value, A.value


@pytest.mark.parametrize("loss", ["l2", "l21"])
@pytest.mark.parametrize("weighted", [False, True])
def test_fcls_matches_cvxpy(small_problem, loss, weighted):
    X, E, _ = small_problem
    w = np.linspace(0.5, 2.0, X.shape[1]) if weighted else np.ones(X.shape[1])
    res = fcls(X, E, loss=loss, band_weights=w if weighted else None)
    value, A_ref = _cvxpy_fcls(X, E, loss, w)
    assert res.converged
    assert res.objective == pytest.approx(value, rel=1e-6)
    assert res.objective <= value * (1 + 1e-7)  # exact: never worse than the interior point
    np.testing.assert_allclose(res.abundances, A_ref, atol=1e-4)


@pytest.mark.parametrize("loss", ["l2", "l21"])
def test_fcls_feasible_and_objective_recomputed(small_problem, loss):
    X, E, _ = small_problem
    res = fcls(X, E, loss=loss)
    A = res.abundances
    assert A.min() >= 0
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-14)
    r = np.linalg.norm(X - A @ E, axis=0)
    np.testing.assert_allclose(res.band_residuals, r, rtol=1e-10)
    expected = 0.5 * np.sum(r ** 2) if loss == "l2" else np.sum(r)
    assert res.objective == pytest.approx(expected, rel=1e-12)
    assert res.history.iteration[-1] == res.n_iter


def test_fcls_agrees_with_augmented_nnls(ruined_scene, spectra):
    """Heinz & Chang's augmentation with delta = 100 approximates the simplex; scipy's nnls on
    it lands within about 1e-4 of the exact solution."""
    X = ruined_scene.X.reshape(-1, 180)[:100]
    exact = fcls(X, spectra).abundances
    delta = 100.0
    Mb = np.vstack([spectra.T, delta * np.ones(5)])
    ref = np.array([scipy.optimize.nnls(Mb, np.append(x, delta))[0] for x in X])
    np.testing.assert_allclose(exact, ref, atol=1e-3)


def test_fcls_recovers_noiseless_abundances(spectra):
    rng = np.random.default_rng(0)
    A = rng.dirichlet(np.full(5, 0.3), size=200)
    res = fcls(A @ spectra, spectra)
    np.testing.assert_allclose(res.abundances, A, atol=1e-9)


def test_fcls_l21_resists_ruined_bands(ruined_scene, spectra):
    X = ruined_scene.X
    truth = ruined_scene.abundances
    err = {loss: np.sqrt(np.mean((fcls(X, spectra, loss=loss).abundances - truth) ** 2))
           for loss in ("l2", "l21")}
    assert err["l21"] < 0.5 * err["l2"]


def test_fcls_cube_in_maps_out(ruined_scene, spectra):
    res = fcls(ruined_scene.X, spectra)
    assert res.abundances.shape == (24, 24, 5)
    flat = fcls(ruined_scene.X.reshape(-1, 180), spectra)
    np.testing.assert_array_equal(res.abundances.reshape(-1, 5), flat.abundances)


def test_fcls_threads_give_identical_results(ruined_scene, spectra):
    one = fcls(ruined_scene.X, spectra, loss="l21", n_jobs=1)
    two = fcls(ruined_scene.X, spectra, loss="l21", n_jobs=2)
    np.testing.assert_array_equal(one.abundances, two.abundances)
    assert one.n_iter == two.n_iter


def test_fcls_keeps_small_negative_reflectances(spectra):
    X = np.random.default_rng(0).dirichlet(np.ones(5), size=30) @ spectra
    X[0, :3] = -0.01
    before = X.copy()
    res = fcls(X, spectra)
    np.testing.assert_array_equal(X, before)
    assert np.isfinite(res.abundances).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"endmembers": np.ones((2, 7))}, "bands"),
    ({"endmembers": np.vstack([np.arange(1.0, 13), 2 * np.arange(1.0, 13)])}, "independent"),
    ({"loss": "l1"}, "loss"),
    ({"band_weights": -np.ones(12)}, "band_weights"),
    ({"band_weights": np.ones(5)}, "band_weights"),
    ({"band_weights": np.zeros(12)}, "band_weights"),
    ({"tol": 0.0}, "tol"),
    ({"max_iter": 0}, "max_iter"),
    ({"max_iter": 2.0}, "max_iter"),
    ({"n_jobs": 0}, "n_jobs"),
])
def test_fcls_rejects_bad_arguments(small_problem, kwargs, match):
    X, E, _ = small_problem
    args = {"endmembers": E, **kwargs}
    E = args.pop("endmembers")
    with pytest.raises((ValueError, TypeError), match=match):
        fcls(X, E, **args)


@pytest.mark.parametrize("bad, match", [
    (np.full((4, 12), np.nan), "NaN"),
    (-np.ones((4, 12)), "Negative values"),
    (np.r_[np.ones((3, 12)), np.full((1, 12), -9999.0)], "no-data"),
    (np.ones(12), "dimensional"),
])
def test_fcls_rejects_bad_reflectances(small_problem, bad, match):
    _, E, _ = small_problem
    with pytest.raises(ValueError, match=match):
        fcls(bad, E)


@pytest.mark.parametrize("loss", ["l2", "l21"])
def test_fcls_callback_agrees_with_history(small_problem, loss):
    X, E, _ = small_problem
    seen = []
    res = fcls(X, E, loss=loss, callback=lambda it, state: seen.append(
        (it, state["objective"], state["stationarity"], state["abundances"].copy())))
    assert [it for it, *_ in seen] == list(range(1, res.n_iter + 1))
    np.testing.assert_array_equal([obj for _, obj, _, _ in seen], res.history.objective)
    np.testing.assert_array_equal([c for _, _, c, _ in seen], res.history.criterion)
    np.testing.assert_array_equal(seen[-1][3], res.abundances)


def test_fcls_verbose(small_problem, capsys):
    X, E, _ = small_problem
    res = fcls(X, E, loss="l21", max_iter=3, tol=1e-30, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == res.n_iter + 1 == 4 and "stopped at max_iter" in lines[-1]
    fcls(X, E, verbose=1)
    assert "converged after 1 iterations" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, match", [
    ({"verbose": -1}, "verbose"), ({"verbose": 1.5}, "verbose"), ({"callback": 3}, "callback")])
def test_fcls_rejects_bad_reporting(small_problem, kwargs, match):
    X, E, _ = small_problem
    with pytest.raises((ValueError, TypeError), match=match):
        fcls(X, E, **kwargs)
