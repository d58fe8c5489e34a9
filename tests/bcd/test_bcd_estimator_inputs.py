"""The estimators validate every parameter in fit and name the user's argument."""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsenum.bcd import BCDLabelPropagation, BCDLasso, BCDLogisticRegression

RNG = np.random.default_rng(1)
X = RNG.standard_normal((30, 8))
Y = X @ RNG.standard_normal(8) + 0.1 * RNG.standard_normal(30)
LABELS = (Y > 0).astype(int)
PARTIAL = np.full(30, -1)
PARTIAL[:3], PARTIAL[-3:] = 0, 1

_TYPES = [
    ("tol", "0.0001", TypeError), ("tol", True, TypeError), ("tol", None, TypeError),
    ("tol", [1e-4], TypeError), ("tol", -1.0, ValueError), ("tol", np.nan, ValueError),
    ("max_iter", 3.5, TypeError), ("max_iter", "3", TypeError), ("max_iter", 0, ValueError),
    ("verbose", "yes", TypeError),
]
_FLAGS = ["str", "False", 0, 1, None, [True]]


@pytest.mark.parametrize("name,value,error", [
    *_TYPES, ("alpha", "1", TypeError), ("alpha", -1.0, ValueError),
    *[(flag, v, TypeError) for flag in ("fit_intercept", "positive", "warm_start")
      for v in _FLAGS],
])
def test_lasso_parameters(name, value, error):
    with pytest.raises(error, match=name):
        BCDLasso(**{name: value}).fit(X, Y)


@pytest.mark.parametrize("name,value,error", [
    *_TYPES, ("C", 0.0, ValueError), ("intercept_scaling", "1", TypeError),
    ("block_size", 2.0, TypeError), ("random_state", "seed", TypeError),
    ("random_state", -1, ValueError), ("penalty", "l3", ValueError),
    *[("fit_intercept", v, TypeError) for v in _FLAGS],
])
@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_logistic_parameters(name, value, error, penalty):
    params = {"penalty": penalty, name: value}
    with pytest.raises(error, match=name):
        BCDLogisticRegression(**params).fit(X, LABELS)


@pytest.mark.parametrize("name,value,error", [
    *_TYPES, ("reg", "0", TypeError), ("gamma", 0.0, ValueError),
    ("n_neighbors", 3.0, TypeError), ("block_size", None, TypeError),
    ("update", "bogus", ValueError), ("kernel", "linear", ValueError),
])
def test_label_propagation_parameters(name, value, error):
    with pytest.raises(error, match=name):
        BCDLabelPropagation(**{name: value}).fit(X, PARTIAL)


def test_warm_start_on_new_features_names_the_situation():
    model = BCDLasso(alpha=0.1, warm_start=True).fit(X, Y)
    with pytest.raises(ValueError, match="previous fit, which had 8 features; X now has 5"):
        model.fit(X[:, :5], Y)
    model.set_params(warm_start=False).fit(X[:, :5], Y)  # a fresh start works
    assert model.coef_.shape == (5,)


@pytest.mark.parametrize("estimator,y", [
    (BCDLasso(), Y), (BCDLogisticRegression(), LABELS), (BCDLabelPropagation(), PARTIAL),
], ids=["lasso", "logistic", "label_propagation"])
@pytest.mark.parametrize("bad,name", [
    (X.astype(complex) + 1j, "X"), (np.array([["a"] * 8] * 30), "X"), ("abc", "X"),
    (np.ones((0, 0)), "X"), (X[:-1], "X and y"),
])
def test_bad_data_names_the_argument(estimator, y, bad, name):
    with pytest.raises((ValueError, TypeError), match=name):
        estimator.fit(bad, y)


@pytest.mark.parametrize("estimator,y", [
    (BCDLogisticRegression(), LABELS), (BCDLabelPropagation(), PARTIAL),
], ids=["logistic", "label_propagation"])
def test_overflowing_features_are_rejected(estimator, y):
    with pytest.raises(ValueError, match="X has entries too large"):
        estimator.fit(X * 1e300, y)


def test_label_propagation_string_labels():
    names = np.where(PARTIAL == 0, "cat", "dog")
    # unlabelled samples: the integer -1 in an object array
    mixed = np.where(PARTIAL == -1, None, names).astype(object)
    mixed[PARTIAL == -1] = -1
    model = BCDLabelPropagation().fit(X, mixed)
    assert set(model.classes_) == {"cat", "dog"}
    assert set(model.transduction_) <= {"cat", "dog"}
    # the same labels as numbers give the same transduction
    numeric = BCDLabelPropagation().fit(X, PARTIAL)
    assert np.array_equal(model.transduction_ == "dog", numeric.transduction_ == 1)


@pytest.mark.parametrize("marker", ["-1", "-1.0", " -1"])
def test_label_propagation_refuses_a_string_that_reads_as_the_unlabelled_marker(marker):
    y = np.where(PARTIAL == -1, marker, np.where(PARTIAL == 0, "a", "b"))
    with pytest.raises(ValueError, match="reads as the unlabelled marker -1"):
        BCDLabelPropagation().fit(X, y)


def test_label_propagation_precomputed_affinities_must_be_nonnegative():
    with pytest.raises(ValueError, match="X holds affinities"):
        BCDLabelPropagation(kernel="precomputed").fit(-np.ones((30, 30)), PARTIAL)
    with pytest.raises(ValueError, match="square"):
        BCDLabelPropagation(kernel="precomputed").fit(X, PARTIAL)


def test_sparse_and_object_inputs_are_converted():
    BCDLasso(alpha=0.1).fit(sp.csr_matrix(X), Y)
    BCDLasso(alpha=0.1).fit(X.astype(object), Y)
    BCDLogisticRegression().fit(X.astype(np.float32), LABELS)
