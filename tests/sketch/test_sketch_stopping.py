"""The stopping rule of sketch_and_precondition, its progress hooks, and honest warnings."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning

from sparsenum.sketch import SketchedRegression, sketch_and_precondition


@pytest.mark.parametrize(("n", "d"), [(200, 10), (1000, 20), (500, 50), (300, 100)])
def test_good_fit_stops_at_the_rounding_floor_without_warning(n, d):
    # ||r|| << ||b||: the rounding of r = b - A x keeps ||(A N)^T r|| / ||r|| near 1e-13, above
    # tol=1e-14, where LAPACK's own solution lands too; that is convergence, not a failure
    X, y = make_regression(n_samples=n, n_features=d, noise=1.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = SketchedRegression(random_state=0).fit(X, y)
    design = np.column_stack([X, np.ones(n)])
    reference = np.linalg.lstsq(design, y, rcond=None)[0]
    np.testing.assert_allclose(model.coef_, reference[:-1], rtol=1e-11, atol=1e-11)
    assert model.converged_ and model.n_iter_ <= 60
    assert model.stop_reason_ in ("tolerance", "rounding_floor")


def test_max_iter_warning_states_true_numbers():
    X, y = make_regression(n_samples=300, n_features=20, noise=1.0, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"reached max_iter=2 steps .* increase max_iter"):
        model = SketchedRegression(max_iter=2, random_state=0).fit(X, y)
    assert not model.converged_ and model.stop_reason_ == "max_iter"
    assert model.history_.iteration[-1] == 2


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((800, 15)) * np.logspace(0, 5, 15)
    return A, A @ rng.standard_normal(15) + rng.standard_normal(800)


def test_history_last_row_is_the_returned_coef_recomputed_exactly():
    A, b = _problem()
    res = sketch_and_precondition(A, b, random_state=0, max_iter=3)
    assert res.history.iteration[-1] == res.n_iter == 3
    assert res.history.objective[-1] == pytest.approx(np.linalg.norm(A @ res.coef - b), rel=1e-12)
    assert res.residual_norm == pytest.approx(res.history.objective[-1], rel=1e-12)


def test_callback_sees_every_row_and_can_stop():
    A, b = _problem()
    seen = []

    def watch(iteration, state):
        seen.append((iteration, state["normal_equation_residual"], state["coef"].copy()))
        with pytest.raises(TypeError):
            state["coef"] = None  # read-only
        return iteration == 2

    res = sketch_and_precondition(A, b, random_state=0, callback=watch)
    assert [s[0] for s in seen] == [0, 1, 2]
    assert res.stop_reason == "callback" and res.n_iter == 2 and not res.converged
    np.testing.assert_array_equal(res.history.criterion[:2], [s[1] for s in seen[:2]])
    np.testing.assert_allclose(res.coef, seen[-1][2])
    full = sketch_and_precondition(A, b, random_state=0)
    np.testing.assert_array_equal(full.history.criterion[:2], res.history.criterion[:2])


def test_verbose_prints_a_line_per_step(capsys):
    A, b = _problem()
    res = sketch_and_precondition(A, b, random_state=0, verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == res.n_iter + 2  # rows 0..n_iter, then the summary
    assert lines[-1].startswith("sketch_and_precondition: ") and "steps" in lines[-1]
    sketch_and_precondition(A, b, random_state=0, verbose=True)
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
    sketch_and_precondition(A, b, random_state=0)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"verbose": "yes"}, TypeError, "verbose"),
    ({"verbose": -1}, ValueError, "verbose"),
    ({"callback": 3}, TypeError, "callback"),
])
def test_bad_progress_arguments(kwargs, error, match):
    A, b = _problem()
    with pytest.raises(error, match=match):
        sketch_and_precondition(A, b, **kwargs)
