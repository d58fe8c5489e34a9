"""Demo of sparsenum.unmixing: a scene from the shipped earthlib spectra with ruined bands."""

from __future__ import annotations

import time

import numpy as np

from ..utils import DemoRow


def run_demo(out_dir) -> list[DemoRow]:
    """A 48 x 48 scene of five earthlib spectra, 30 dB, 10% ruined bands: RRLbS, FCLS with the
    true endmembers (scipy nnls as the independent reference) and plain VCA + FCLS."""
    import scipy.optimize

    from . import (
        abundance_rmse,
        extract_endmembers,
        fcls,
        load_spectra,
        make_scene,
        match_endmembers,
        rrlbs,
    )

    spectra = load_spectra()[0]
    scene = make_scene(spectra, shape=(48, 48), snr_db=30, ruined_fraction=0.1, random_state=0)
    X = scene.X.reshape(-1, scene.X.shape[-1])
    truth = scene.abundances.reshape(-1, spectra.shape[0])
    intact = np.setdiff1d(np.arange(X.shape[1]), scene.ruined)
    problem = "earthlib scene 48x48x180, K=5, 30 dB, 10% ruined bands"
    rows = []

    def scored(E, A):
        order, angles = match_endmembers(spectra[:, intact], E[:, intact])
        return float(angles.mean()), abundance_rmse(truth, A, order)

    rrlbs(X[:200], 5, max_iter=3, random_state=0)  # compile outside the timing
    start = time.perf_counter()
    res = rrlbs(X, 5, random_state=0)
    sad, rmse = scored(res.endmembers, res.abundances.reshape(truth.shape))
    rows.append(DemoRow(problem=problem, solver="rrlbs (l2,1, guided, weighted VCA start)",
                        time=time.perf_counter() - start, n_iter=res.n_iter, accuracy=rmse,
                        accuracy_name=f"abundance RMSE (SAD {sad:.3f} rad on intact bands)",
                        reference="true abundances", history=res.history))
    start = time.perf_counter()
    picked = extract_endmembers(X, 5, random_state=0)
    plain = fcls(X, picked.endmembers)
    sad, rmse = scored(picked.endmembers, plain.abundances)
    rows.append(DemoRow(problem=problem, solver="VCA + FCLS (unweighted)",
                        time=time.perf_counter() - start, n_iter=plain.n_iter, accuracy=rmse,
                        accuracy_name=f"abundance RMSE (SAD {sad:.3f} rad on intact bands)",
                        reference="true abundances"))
    # supervised: FCLS with the true endmembers against scipy's nnls on augmented data
    sub = X[:500]
    start = time.perf_counter()
    exact = fcls(sub, spectra).abundances
    elapsed = time.perf_counter() - start
    delta = 100.0
    Mb = np.vstack([spectra.T, delta * np.ones(spectra.shape[0])])
    ref = np.array([scipy.optimize.nnls(Mb, np.append(x, delta))[0] for x in sub])
    rows.append(DemoRow(problem="500 pixels of that scene, true endmembers", solver="fcls",
                        time=elapsed, n_iter=1, accuracy=float(np.abs(exact - ref).max()),
                        accuracy_name="max |a - a_nnls| (augmented nnls, delta=100)",
                        reference="scipy.optimize.nnls"))
    return rows
