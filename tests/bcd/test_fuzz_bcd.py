"""Hostile and random input over every public function and estimator of sparsenum.bcd.

Every call ends in a clean ``ValueError``/``TypeError`` naming the argument, or in a finite,
honest result (its reported gap recomputed independently); inputs come back unmodified.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparsenum.bcd import (
    BCDLabelPropagation,
    BCDLasso,
    BCDLogisticRegression,
    BinaryLogistic,
    LabelPropagation,
    LeastSquares,
    MultinomialLogistic,
    SparseQuadratic,
    block_coordinate_descent,
    l1_logistic_duality_gap,
    lasso_duality_gap,
    solve_l1_logistic,
    solve_lasso,
)
from tests._fuzz import (
    BAD_BOOLS,
    BAD_INTS,
    BAD_REALS,
    bad_arrays,
    expect_clean_failure,
    outcome,
    unmodified,
)

RNG = np.random.default_rng(7)
X = RNG.standard_normal((20, 6))
Y = X @ RNG.standard_normal(6) + 0.1 * RNG.standard_normal(20)
S = np.where(Y > 0, 1.0, -1.0)
LABELS = (S > 0).astype(int)
PARTIAL = np.full(20, -1)
PARTIAL[:3], PARTIAL[-3:] = 0, 1
PATH = np.diag(np.ones(5), 1) + np.diag(np.ones(5), -1)
PATH_LAB = np.array([True, False, False, False, False, True])
PATH_T = np.array([1.0, 0, 0, 0, 0, -1.0])

FUZZ = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# (id, call taking the keyword under test, name, kind of bad value)
_SCALARS = [
    ("solve_lasso", lambda **k: solve_lasso(X, Y, **{"alpha": 0.1, **k}), "alpha", BAD_REALS),
    ("solve_lasso", lambda **k: solve_lasso(X, Y, 0.1, **k), "tol", BAD_REALS),
    ("solve_lasso", lambda **k: solve_lasso(X, Y, 0.1, **k), "max_iter", BAD_INTS),
    ("solve_lasso", lambda **k: solve_lasso(X, Y, 0.1, **k), "max_epochs", BAD_INTS),
    ("solve_lasso", lambda **k: solve_lasso(X, Y, 0.1, **k), "p0", BAD_INTS),
    ("solve_lasso", lambda **k: solve_lasso(X, Y, 0.1, **k), "fit_intercept", BAD_BOOLS),
    ("solve_lasso", lambda **k: solve_lasso(X, Y, 0.1, **k), "positive", BAD_BOOLS),
    ("lasso_duality_gap", lambda **k: lasso_duality_gap(X, Y, np.zeros(6), **{"alpha": 0.1,
                                                                                **k}),
     "alpha", BAD_REALS),
    ("lasso_duality_gap", lambda **k: lasso_duality_gap(X, Y, np.zeros(6), 0.1, **k),
     "intercept", BAD_REALS),
    ("lasso_duality_gap", lambda **k: lasso_duality_gap(X, Y, np.zeros(6), 0.1, **k),
     "positive", BAD_BOOLS),
    ("solve_l1_logistic", lambda **k: solve_l1_logistic(X, S, **{"lam": 1.0, **k}), "lam",
     BAD_REALS),
    ("solve_l1_logistic", lambda **k: solve_l1_logistic(X, S, 1.0, **k), "tol", BAD_REALS),
    ("solve_l1_logistic", lambda **k: solve_l1_logistic(X, S, 1.0, **k), "max_iter", BAD_INTS),
    ("solve_l1_logistic", lambda **k: solve_l1_logistic(X, S, 1.0, **k), "max_newton",
     BAD_INTS),
    ("solve_l1_logistic", lambda **k: solve_l1_logistic(X, S, 1.0, **k), "p0", BAD_INTS),
    ("l1_logistic_duality_gap", lambda **k: l1_logistic_duality_gap(X, S, np.zeros(6),
                                                                    **{"lam": 1.0, **k}),
     "lam", BAD_REALS),
    ("block_coordinate_descent", lambda **k: block_coordinate_descent(LeastSquares(X, Y), **k),
     "tol", BAD_REALS),
    ("block_coordinate_descent", lambda **k: block_coordinate_descent(LeastSquares(X, Y), **k),
     "max_iter", BAD_INTS),
    ("block_coordinate_descent", lambda **k: block_coordinate_descent(LeastSquares(X, Y), **k),
     "block_size", BAD_INTS),
    ("LeastSquares", lambda **k: LeastSquares(X, Y, **k), "l1", BAD_REALS),
    ("LeastSquares", lambda **k: LeastSquares(X, Y, **k), "l2", BAD_REALS),
    ("LeastSquares", lambda **k: LeastSquares(X, Y, **k), "nonneg", BAD_BOOLS),
    ("BinaryLogistic", lambda **k: BinaryLogistic(X, S, **k), "l2", BAD_REALS),
    ("MultinomialLogistic", lambda **k: MultinomialLogistic(X, LABELS, **k), "n_classes",
     BAD_INTS),
    ("SparseQuadratic", lambda **k: SparseQuadratic(np.eye(3), np.ones(3), **k), "constant",
     BAD_REALS),
    ("LabelPropagation", lambda **k: LabelPropagation(PATH, PATH_T, PATH_LAB, **k), "reg",
     BAD_REALS),
]

# the estimators: every parameter validated in fit
_ESTIMATOR_PARAMS = [
    (BCDLasso, Y, "alpha", BAD_REALS), (BCDLasso, Y, "tol", BAD_REALS),
    (BCDLasso, Y, "max_iter", BAD_INTS), (BCDLasso, Y, "fit_intercept", BAD_BOOLS),
    (BCDLasso, Y, "positive", BAD_BOOLS), (BCDLasso, Y, "warm_start", BAD_BOOLS),
    (BCDLogisticRegression, LABELS, "C", BAD_REALS),
    (BCDLogisticRegression, LABELS, "tol", BAD_REALS),
    (BCDLogisticRegression, LABELS, "intercept_scaling", BAD_REALS),
    (BCDLogisticRegression, LABELS, "max_iter", BAD_INTS),
    (BCDLogisticRegression, LABELS, "block_size", BAD_INTS),
    (BCDLogisticRegression, LABELS, "fit_intercept", BAD_BOOLS),
    (BCDLabelPropagation, PARTIAL, "tol", BAD_REALS),
    (BCDLabelPropagation, PARTIAL, "reg", BAD_REALS),
    (BCDLabelPropagation, PARTIAL, "gamma", BAD_REALS),
    (BCDLabelPropagation, PARTIAL, "max_iter", BAD_INTS),
    (BCDLabelPropagation, PARTIAL, "n_neighbors", BAD_INTS),
    (BCDLabelPropagation, PARTIAL, "block_size", BAD_INTS),
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("call,name,values", [c[1:] for c in _SCALARS],
                         ids=[f"{c[0]}-{c[2]}" for c in _SCALARS])
def test_bad_scalars_are_rejected_by_name(call, name, values):
    @FUZZ
    @given(value=values)
    def check(value):
        if name == "intercept" and isinstance(value, float) and value == 0.1:
            return
        if name == "n_classes" and value is None:
            return  # None is the documented default (classes counted from y)
        with unmodified(X, Y, S):
            expect_clean_failure(lambda: call(**{name: value}), names=[name])

    check()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("cls,y,name,values", _ESTIMATOR_PARAMS,
                         ids=[f"{c[0].__name__}-{c[2]}" for c in _ESTIMATOR_PARAMS])
def test_bad_estimator_parameters_are_rejected_in_fit(cls, y, name, values):
    @FUZZ
    @given(value=values)
    def check(value):
        estimator = cls(**{name: value})  # __init__ only stores
        with unmodified(X, y):
            expect_clean_failure(lambda: estimator.fit(X, y), names=[name])

    check()


_ARRAYS = [
    ("solve_lasso X", lambda a: solve_lasso(a, Y, 0.1), (20, 6), ["X", "y"]),
    ("solve_lasso y", lambda a: solve_lasso(X, a, 0.1), (20,), ["y"]),
    ("solve_lasso coef_init", lambda a: solve_lasso(X, Y, 0.1, coef_init=a), (6,),
     ["coef_init"]),
    ("lasso_duality_gap coef", lambda a: lasso_duality_gap(X, Y, a, 0.1), (6,), ["coef"]),
    ("solve_l1_logistic X", lambda a: solve_l1_logistic(a, S, 1.0), (20, 6), ["X", "y"]),
    ("solve_l1_logistic y", lambda a: solve_l1_logistic(X, a, 1.0), (20,), ["y"]),
    ("LeastSquares A", lambda a: LeastSquares(a, Y), (20, 6), ["A", "b"]),
    ("LeastSquares b", lambda a: LeastSquares(X, a), (20,), ["b"]),
    ("block_coordinate_descent x0",
     lambda a: block_coordinate_descent(LeastSquares(X, Y), x0=a), (6,), ["x0"]),
    ("LabelPropagation W", lambda a: LabelPropagation(a, PATH_T, PATH_LAB), (6, 6), ["W"]),
    ("BCDLasso X", lambda a: BCDLasso().fit(a, Y), (20, 6), ["X", "y"]),
    ("BCDLasso y", lambda a: BCDLasso().fit(X, a), (20,), ["X", "y"]),
    ("BCDLogisticRegression X", lambda a: BCDLogisticRegression().fit(a, LABELS), (20, 6),
     ["X", "y"]),
    ("BCDLabelPropagation X", lambda a: BCDLabelPropagation().fit(a, PARTIAL), (20, 6),
     ["X", "y"]),
]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("call,shape,names", [c[1:] for c in _ARRAYS],
                         ids=[c[0] for c in _ARRAYS])
def test_bad_arrays_are_rejected_by_name(request, call, shape, names):
    label = request.node.callspec.id
    optional = label.endswith(("coef_init", "x0"))
    estimator = label.startswith("BCD")

    @FUZZ
    @given(value=bad_arrays(shape))
    def check(value):
        if value is None and optional:
            return  # the documented default
        kind, _ = outcome(lambda: call(value), names=names)
        if kind == "ok":  # what scikit-learn converts: object arrays of numbers, a column y
            assert estimator and isinstance(value, np.ndarray), value
            assert value.dtype == object or value.shape == (20, 1), value

    check()


# -- random valid problems: finite, honest, inputs unmodified ----------------------------------
_problem = st.fixed_dictionaries({
    "n": st.integers(1, 12), "d": st.integers(1, 8), "seed": st.integers(0, 2**16),
    "scale": st.sampled_from([1e-3, 1.0, 1e3]), "sparse": st.booleans(),
})


def _data(p):
    rng = np.random.default_rng(p["seed"])
    A = p["scale"] * rng.standard_normal((p["n"], p["d"]))
    A[rng.random(A.shape) < 0.3] = 0.0
    b = A @ rng.standard_normal(p["d"]) + 0.1 * p["scale"] * rng.standard_normal(p["n"])
    return (sp.csc_matrix(A) if p["sparse"] else A), b


@pytest.mark.timeout(300)
@settings(max_examples=60, deadline=None)
@given(p=_problem, frac=st.sampled_from([0.0, 0.01, 0.3, 1.5]), fit_intercept=st.booleans(),
       positive=st.booleans(), tol=st.sampled_from([0.0, 1e-10, 1e-4]))
def test_lasso_random_problems(p, frac, fit_intercept, positive, tol):
    A, b = _data(p)
    bc = b - b.mean() if fit_intercept else b
    alpha = frac * float(np.abs(A.T @ bc).max()) / p["n"]
    with unmodified(A, b):
        res = solve_lasso(A, b, alpha, fit_intercept=fit_intercept, positive=positive, tol=tol)
    assert np.isfinite(res.coef).all() and np.isfinite(res.duality_gap)
    assert res.history.iteration[-1] == res.n_iter
    if positive:
        assert (res.coef >= 0).all()
    if alpha == 0.0:
        return  # least squares: the gap jumps from ~0 to the objective with rounding
    Ad = A.toarray() if sp.issparse(A) else A
    Ac = Ad - Ad.mean(axis=0) if fit_intercept else Ad
    gap = lasso_duality_gap(Ac, bc, res.coef, alpha, positive=positive)[0]
    scale = float(bc @ bc) / p["n"]
    assert res.duality_gap == pytest.approx(gap, rel=1e-6, abs=1e-12 * max(scale, 1e-300))
    if res.converged:
        assert gap <= max(tol, 1e-12) * scale + 1e-300


@pytest.mark.timeout(300)
@settings(max_examples=40, deadline=None)
@given(p=_problem, lam=st.sampled_from([0.0, 0.1, 10.0]), tol=st.sampled_from([0.0, 1e-8]))
def test_l1_logistic_random_problems(p, lam, tol):
    A, b = _data(p)
    s = np.where(b > 0, 1.0, -1.0)
    with unmodified(A, s):
        res = solve_l1_logistic(A, s, lam, tol=tol)
    assert np.isfinite(res.coef).all() and np.isfinite(res.duality_gap)
    assert res.history.iteration[-1] == res.n_iter
    if lam == 0.0:
        return  # the dual point is scaled by lam / ||X'g||: the gap jumps from 0 to the
        # objective as rounding leaves X'g exactly zero or not (dense and sparse X differ)
    gap = l1_logistic_duality_gap(A, s, res.coef, lam)[0]
    assert res.duality_gap == pytest.approx(gap, rel=1e-6, abs=1e-9)


@pytest.mark.timeout(300)
@settings(max_examples=30, deadline=None)
@given(p=_problem, selection=st.sampled_from(["cyclic", "gs", "gsl", "gsd"]),
       update=st.sampled_from(["gradient", "adaptive", "matrix"]), tol=st.sampled_from([0.0,
                                                                                      1e-8]))
def test_driver_random_least_squares(p, selection, update, tol):
    A, b = _data(p)
    with unmodified(A, b):
        res = block_coordinate_descent(LeastSquares(A, b, l2=1e-3), partition="sort",
                                       selection=selection, update=update, block_size=2,
                                       tol=tol, max_iter=20_000)
    assert np.isfinite(res.x).all() and np.isfinite(res.objective)
    assert res.history.iteration[-1] == res.n_iter
    assert res.history.criterion[-1] == res.criterion


@pytest.mark.timeout(300)
@settings(max_examples=20, deadline=None)
@given(n=st.integers(4, 30), seed=st.integers(0, 2**16), kind=st.sampled_from(
    ["ints", "strings", "object"]), tol=st.sampled_from([0.0, 1e-8]))
def test_label_propagation_random_labels(n, seed, kind, tol):
    rng = np.random.default_rng(seed)
    Xr = rng.standard_normal((n, 2))
    y = np.full(n, -1)
    y[0], y[1] = 0, 1
    y[rng.random(n) < 0.2] = rng.integers(0, 2)
    if kind == "strings":  # every sample labelled with strings (no unlabelled marker)
        y = np.where(rng.random(n) < 0.5, "a", "b")
        y[0], y[1] = "a", "b"
    elif kind == "object":
        y = np.array([-1 if v == -1 else ("a" if v == 0 else "b") for v in y], dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reg=0 and tiny graphs may hit max_iter honestly
        kind, model = outcome(lambda: BCDLabelPropagation(n_neighbors=3, tol=tol).fit(Xr, y),
                              names=["y"])
    if kind == "error":  # a part of the graph without labels, or a single class
        return
    assert np.isfinite(model.label_distributions_).all()
    assert np.allclose(model.label_distributions_.sum(axis=1), 1.0)
