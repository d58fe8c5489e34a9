"""verbose lines and callback(iteration, state) of the iterative functions."""

import numpy as np
import pytest

from sparsenum.bcd import (
    BCDLasso,
    LeastSquares,
    block_coordinate_descent,
    solve_l1_logistic,
    solve_lasso,
)

RNG = np.random.default_rng(2)
X = RNG.standard_normal((40, 15))
Y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.05 * RNG.standard_normal(40)
S = np.where(Y > 0, 1.0, -1.0)

_RUNS = {
    "solve_lasso": (lambda **kw: solve_lasso(X, Y, 0.05, tol=1e-12, **kw), "duality_gap"),
    "solve_l1_logistic": (lambda **kw: solve_l1_logistic(X, S, 1.0, tol=1e-12, **kw),
                          "duality_gap"),
    "block_coordinate_descent": (lambda **kw: block_coordinate_descent(
        LeastSquares(X, Y), update="matrix", block_size=5, tol=1e-10, **kw),
        "max_abs_gradient"),
}


@pytest.mark.parametrize("name", list(_RUNS))
def test_callback_sees_every_recorded_iteration(name):
    run, criterion = _RUNS[name]
    seen = []

    def callback(iteration, state):
        seen.append((iteration, state[criterion]))
        with pytest.raises(TypeError):
            state["x"] = 0  # a read-only mapping
        for value in state.values():
            if isinstance(value, np.ndarray):
                assert not value.flags.writeable  # read-only views of the solver's arrays

    result = run(callback=callback)
    history = result.history
    # every recorded row went through the callback, in order
    assert seen == list(zip(history.iteration.tolist(), history.criterion.tolist()))
    assert result.converged


@pytest.mark.parametrize("name", list(_RUNS))
def test_callback_returning_true_stops_the_run(name):
    run, _ = _RUNS[name]
    result = run(callback=lambda iteration, state: iteration >= 1)
    assert result.n_iter == 1 and not result.converged
    assert result.history.iteration[-1] == 1


@pytest.mark.parametrize("name", list(_RUNS))
def test_verbose_levels(name, capsys):
    run, criterion = _RUNS[name]
    run(verbose=0)
    assert capsys.readouterr().out == ""
    result = run(verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and f"after {result.n_iter} iterations" in lines[0]
    run(verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) >= result.n_iter and all(criterion in line for line in lines)


def test_estimator_verbose_reaches_the_solver(capsys):
    BCDLasso(alpha=0.05, verbose=1).fit(X, Y)
    assert "solve_lasso:" in capsys.readouterr().out


def test_progress_changes_nothing_in_the_result():
    quiet = solve_lasso(X, Y, 0.05, tol=1e-12)
    loud = solve_lasso(X, Y, 0.05, tol=1e-12, verbose=2, callback=lambda i, s: None)
    assert np.array_equal(quiet.coef, loud.coef) and quiet.n_iter == loud.n_iter
