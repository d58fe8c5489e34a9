"""Small problems for the common tests and the warm-up of sparsenum.unmixing."""

from __future__ import annotations

import numpy as np

from sparsenum.utils.registry import EasyFit, SolverCase


def small_scene(shape=(12, 12), n_endmembers=3, ruined_fraction=0.1, seed=0):
    from .scenes import load_spectra, make_scene

    spectra = load_spectra()[0][:n_endmembers, ::4]  # 45 bands
    return make_scene(spectra, shape=shape, ruined_fraction=ruined_fraction, random_state=seed)


def warm_up():
    from . import fcls, rrlbs

    scene = small_scene()
    fcls(scene.X, scene.endmembers)
    fcls(scene.X, scene.endmembers, loss="l21")
    rrlbs(scene.X, 3, max_iter=5, random_state=0)


def _fcls_criterion(X, E, loss):
    """Stationarity recomputed from the returned abundances (see AbundanceResult)."""
    from ._simplex import stationarity

    def criterion(result):
        A = result.abundances.reshape(-1, E.shape[0])
        Xp = X.reshape(-1, X.shape[-1])
        if loss == "l2":
            d = np.ones(Xp.shape[1])
        else:
            r = np.linalg.norm(Xp - A @ E, axis=0)
            eta = 1e-9 * np.sqrt(np.sum(Xp * Xp) / Xp.shape[1])
            d = 1.0 / np.sqrt(r ** 2 + eta ** 2)
        Ed = E * d
        return stationarity(A, Ed @ E.T, Xp @ Ed.T)

    return criterion


def _rrlbs_criterion(X):
    """The relative change of the objective, recomputed from the returned solution and the
    previous row of the history."""
    from .rrlbs import objective_of

    def criterion(result):
        previous = result.history.objective[-2]
        value = objective_of(X, result)
        return abs(previous - value) / value

    return criterion


def solver_cases():
    from . import extract_endmembers, fcls, rrlbs

    scene = small_scene()
    X, E = scene.X, scene.endmembers
    cases = [
        SolverCase(name="fcls l2 12x12x45", run=lambda: fcls(X, E),
                   criterion=_fcls_criterion(X, E, "l2"), atol=1e-12, tol=1e-10),
        SolverCase(name="fcls l21 12x12x45", run=lambda: fcls(X, E, loss="l21"),
                   criterion=_fcls_criterion(X, E, "l21"), rtol=1e-5, atol=1e-12, tol=1e-10),
        SolverCase(name="rrlbs 12x12x45", run=lambda: rrlbs(X, 3, random_state=0),
                   criterion=_rrlbs_criterion(X), rtol=1e-4, atol=1e-10, tol=1e-6),
        SolverCase(name="rrlbs l2 unguided 12x12x45",
                   run=lambda: rrlbs(X, 3, loss="l2", guided=False, init="spa"),
                   criterion=_rrlbs_criterion(X), rtol=1e-4, atol=1e-10, tol=1e-6),
        SolverCase(name="extract_endmembers vca", run=lambda: extract_endmembers(
            X, 3, random_state=0)),
    ]
    return cases


def easy_fits():
    from . import FCLSUnmixing, RobustUnmixing

    scene = small_scene(shape=(16, 16), ruined_fraction=0.0)
    return [EasyFit(name="RobustUnmixing defaults", estimator=RobustUnmixing(), X=scene.X),
            EasyFit(name="FCLSUnmixing", estimator=FCLSUnmixing(scene.endmembers), X=scene.X)]
