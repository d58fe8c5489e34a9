"""Bad arguments, tol=0, stalls and huge budgets: clean errors or finite, honest, quick results."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sparsenum.bcd import (
    BinaryLogistic,
    LeastSquares,
    MultinomialLogistic,
    block_coordinate_descent,
    l1_logistic_duality_gap,
    lasso_duality_gap,
    solve_l1_logistic,
    solve_lasso,
)

RNG = np.random.default_rng(0)
X = RNG.standard_normal((30, 8))
Y = X @ RNG.standard_normal(8) + 0.1 * RNG.standard_normal(30)
S = np.where(Y > 0, 1.0, -1.0)


# -- tol=0 means machine precision, reached in a bounded number of counted steps -------------
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept,positive", [(False, False), (True, True)])
def test_lasso_tol_zero_stops_at_machine_precision(sparse, fit_intercept, positive):
    Xd = sp.csc_matrix(X) if sparse else X
    res = solve_lasso(Xd, Y, 0.1, tol=0.0, fit_intercept=fit_intercept, positive=positive,
                      max_iter=10**12, max_epochs=10**12)
    assert res.converged and res.n_iter < 50
    scale = float((Y - Y.mean() * fit_intercept) @ (Y - Y.mean() * fit_intercept)) / 30
    assert res.duality_gap <= 1e-13 * scale
    assert res.history.iteration[-1] == res.n_iter


def test_l1_logistic_tol_zero_stops_at_machine_precision():
    res = solve_l1_logistic(X, S, 1.0, tol=0.0, max_iter=10**12)
    assert res.converged and res.n_iter < 50
    assert res.duality_gap <= 1e-12 * 30 * np.log(2)


@pytest.mark.parametrize("problem", [
    lambda: LeastSquares(X, Y),
    lambda: BinaryLogistic(X, S, l2=1.0),
    lambda: MultinomialLogistic(X, np.arange(30) % 3, l2=0.5),
], ids=["least_squares", "logistic", "multinomial"])
@pytest.mark.parametrize("update", ["gradient", "newton"])
def test_driver_tol_zero_stalls_instead_of_running_max_iter(problem, update):
    res = block_coordinate_descent(problem(), tol=0.0, max_iter=10**12, update=update,
                                   block_size=4, partition="sort")
    assert res.converged  # stalled at rounding level: what tol=0 asks for
    assert res.n_iter < 20_000
    assert res.criterion <= 1e-10


def test_driver_positive_tol_below_rounding_stalls_unconverged():
    res = block_coordinate_descent(LeastSquares(X, Y), tol=1e-300, max_iter=10**12)
    assert not res.converged and res.n_iter < 20_000


def test_estimators_with_tol_zero_finish_quickly_without_warning():
    from sparsenum.bcd import BCDLabelPropagation, BCDLasso, BCDLogisticRegression

    labels = (Y > 0).astype(int)
    partial = np.full(30, -1)
    partial[:3], partial[-3:] = 0, 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        BCDLasso(tol=0).fit(X, Y)
        BCDLasso(tol=0.0, fit_intercept=False).fit(sp.csc_matrix(X), Y)
        BCDLogisticRegression(tol=0.0).fit(X, labels)
        BCDLogisticRegression(tol=0.0, max_iter=10**12).fit(X, labels)
        BCDLogisticRegression(tol=0.0).fit(X, np.arange(30) % 3)
        BCDLogisticRegression(penalty="l1", tol=0.0).fit(X, labels)
        BCDLabelPropagation(tol=0.0).fit(X, partial)


# -- lasso_duality_gap: every argument checked, infeasible points have an infinite gap --------
@pytest.mark.parametrize("kwargs,error,match", [
    ({"alpha": -1.0}, ValueError, "alpha must be a finite number >= 0"),
    ({"alpha": np.nan}, ValueError, "alpha"),
    ({"alpha": np.inf}, ValueError, "alpha"),
    ({"alpha": "0.1"}, TypeError, "alpha must be a real number"),
    ({"intercept": np.nan}, ValueError, "intercept must be a finite number"),
    ({"intercept": None}, TypeError, "intercept"),
    ({"positive": "yes"}, TypeError, "positive must be True or False"),
    ({"coef": np.ones(7)}, ValueError, "coef must have length X.shape\\[1\\]=8"),
    ({"y": Y[:-1]}, ValueError, "y must have length X.shape\\[0\\]=30"),
])
def test_lasso_duality_gap_rejects_bad_arguments(kwargs, error, match):
    args = {"X": X, "y": Y, "coef": np.zeros(8), "alpha": 0.1, **kwargs}
    with pytest.raises(error, match=match):
        lasso_duality_gap(args.pop("X"), args.pop("y"), args.pop("coef"), args.pop("alpha"),
                          **args)


def test_lasso_duality_gap_of_an_infeasible_point_is_infinite():
    coef = np.zeros(8)
    coef[2] = -0.5
    gap, primal, dual = lasso_duality_gap(X, Y, coef, 0.1, positive=True)
    assert gap == np.inf and primal == np.inf and np.isfinite(dual)
    assert np.isfinite(lasso_duality_gap(X, Y, coef, 0.1)[0])  # feasible without the bound


def test_gap_functions_reject_overflowing_objectives():
    with pytest.raises(ValueError, match="overflows"):
        lasso_duality_gap(X, Y * 1e200, np.zeros(8), 0.1)
    with pytest.raises(ValueError, match="coef must have length"):
        l1_logistic_duality_gap(X, S, np.zeros(7), 1.0)


# -- strict types in the functions --------------------------------------------------------------
@pytest.mark.parametrize("name,value,error", [
    ("fit_intercept", "str", TypeError), ("fit_intercept", 1, TypeError),
    ("positive", "False", TypeError), ("positive", None, TypeError),
    ("tol", "0.0001", TypeError), ("tol", True, TypeError), ("tol", None, TypeError),
    ("tol", [1e-4], TypeError), ("tol", -1.0, ValueError),
    ("max_iter", 3.5, TypeError), ("max_iter", "3", TypeError), ("max_iter", 0, ValueError),
    ("p0", np.float64(2.0), TypeError), ("solver", "scipy", ValueError),
    ("verbose", "yes", TypeError), ("verbose", -1, ValueError),
    ("callback", "print", TypeError),
])
def test_solve_lasso_names_the_bad_argument(name, value, error):
    with pytest.raises(error, match=name):
        solve_lasso(X, Y, 0.1, **{name: value})


@pytest.mark.parametrize("name,value,error", [
    ("tol", "0.0001", TypeError), ("tol", np.nan, ValueError), ("max_newton", 2.0, TypeError),
    ("solver", "bogus", ValueError), ("callback", 3, TypeError),
])
def test_solve_l1_logistic_names_the_bad_argument(name, value, error):
    with pytest.raises(error, match=name):
        solve_l1_logistic(X, S, 1.0, **{name: value})


@pytest.mark.parametrize("value,error", [
    (3.5, TypeError), ("3", TypeError), (np.nan, TypeError), (True, TypeError), (1, ValueError),
])
def test_multinomial_n_classes_is_a_strict_integer(value, error):
    with pytest.raises(error, match="n_classes"):
        MultinomialLogistic(X, np.arange(30) % 3, n_classes=value)


@pytest.mark.parametrize("shape", [(0, 0), (30, 0), (0, 8)])
@pytest.mark.parametrize("sparse", [False, True])
def test_empty_designs_are_rejected_by_name(shape, sparse):
    A = sp.csc_matrix(shape) if sparse else np.ones(shape)
    y = np.ones(shape[0])
    for call in (lambda: solve_lasso(A, y, 0.1), lambda: solve_l1_logistic(A, y, 0.1),
                 lambda: lasso_duality_gap(A, y, np.zeros(shape[1]), 0.1)):
        with pytest.raises(ValueError, match="X"):
            call()
    with pytest.raises(ValueError, match="A"):
        LeastSquares(A, y)


def test_overflowing_designs_are_rejected_not_solved_into_nan():
    with pytest.raises(ValueError, match="X has entries too large"):
        solve_l1_logistic(X * 1e300, S, 1.0)
    with pytest.raises(ValueError, match="A has entries too large"):
        LeastSquares(X * 1e300, Y)
    with pytest.raises(ValueError, match="y has entries too large"):
        solve_lasso(X, Y * 1e200, 0.1)


# -- huge budgets allocate nothing up front ----------------------------------------------------
def test_huge_budgets_are_fine():
    assert solve_lasso(X, Y, 0.1, max_iter=10**12, max_epochs=10**12, p0=10**12).converged
    assert solve_l1_logistic(X, S, 1.0, max_iter=10**12, max_newton=10**12).converged
    res = block_coordinate_descent(LeastSquares(X, Y), max_iter=10**12, block_size=10**12,
                                   update="matrix")
    assert res.converged and res.n_iter == 1


# -- Newton steps on a face with more coefficients than samples --------------------------------
def test_lasso_newton_never_raises_the_objective_on_singular_faces():
    # 60 samples, about 100 nonzeros at this small alpha: the support's Gram matrix is singular
    rng = np.random.default_rng(0)
    A = rng.standard_normal((60, 150))
    A[:, 1:] = 0.6 * A[:, :-1] + 0.8 * A[:, 1:]
    b = A @ np.where(rng.random(150) < 0.05, rng.standard_normal(150), 0.0)
    alpha = 0.005 * np.abs(A.T @ b).max() / 60
    res = solve_lasso(A, b, alpha, tol=1e-12, max_iter=200)
    assert res.converged
    assert np.all(np.diff(res.history["primal"]) <= 1e-12 * res.history["primal"][:-1])


# -- reproducible under load: adaptive decisions come from counted work --------------------------
def test_estimators_give_identical_fits_on_a_loaded_machine():
    from sparsenum.bcd import BCDLabelPropagation, BCDLasso, BCDLogisticRegression
    from tests._fuzz import busy_machine

    labels = (Y > 0).astype(int)
    partial = np.full(30, -1)
    partial[:3], partial[-3:] = 0, 1
    fits = [
        (BCDLasso(alpha=0.01), X, Y, "coef_"),
        (BCDLogisticRegression(partition="random", selection="random", random_state=0), X,
         labels, "coef_"),
        (BCDLogisticRegression(penalty="l1", C=10.0), X, labels, "coef_"),
        (BCDLabelPropagation(n_neighbors=4), X, partial, "label_distributions_"),
    ]
    for estimator, data, target, attribute in fits:
        quiet = estimator.fit(data, target)
        expected = (getattr(quiet, attribute).copy(), quiet.n_iter_,
                    quiet.history_.criterion.copy())
        with busy_machine():
            loaded = estimator.fit(data, target)
        assert np.array_equal(getattr(loaded, attribute), expected[0])
        assert loaded.n_iter_ == expected[1]
        assert np.array_equal(loaded.history_.criterion, expected[2])
