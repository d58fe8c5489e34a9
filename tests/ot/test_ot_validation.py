"""Bad inputs for every public argument of the OT functions and estimators."""

import numpy as np
import pytest

from sparsenum.ot import (
    EntropicTransport,
    SparseTransport,
    sinkhorn,
    sinkhorn_newton_sparse,
    sparsity_constrained_ot,
)

A = np.full(4, 0.25)
B = np.full(3, 1 / 3)
C = np.arange(12, dtype=float).reshape(4, 3) / 12


def _call(fn, **changes):
    args = {"a": A, "b": B, "C": C, "reg": 0.1}
    if fn is sparsity_constrained_ot:
        args["max_nz"] = 2
    args.update(changes)
    return fn(**args)


ALL = [sinkhorn, sinkhorn_newton_sparse, sparsity_constrained_ot]

BAD_COMMON = [
    ({"a": [0.5, -0.5, 0.5, 0.5]}, ValueError, "a must be nonnegative"),
    ({"a": [np.nan, 0.2, 0.3, 0.5]}, ValueError, "a must not contain NaN"),
    ({"a": np.zeros(4)}, ValueError, "a must have positive total mass"),
    ({"a": np.ones((2, 2))}, ValueError, "a must be a 1-dimensional"),
    ({"a": "abc"}, TypeError, "a must be array-like"),
    ({"b": [0.5, 0.5, -0.1]}, ValueError, "b must be nonnegative"),
    ({"b": [1.0, 1.0, 1.0]}, ValueError, "same total mass"),
    ({"C": np.ones((3, 4))}, ValueError, r"C must have shape \(4, 3\)"),
    ({"C": np.full((4, 3), np.inf)}, ValueError, "C must be finite"),
    ({"C": np.ones(12)}, ValueError, "C must be a 2-dimensional"),
    ({"reg": 0.0}, ValueError, "reg must be a finite number > 0"),
    ({"reg": -1.0}, ValueError, "reg must be a finite number > 0"),
    ({"reg": np.inf}, ValueError, "reg must be a finite number > 0"),
    ({"reg": "0.1"}, TypeError, "reg must be a real number"),
    ({"tol": 0.0}, ValueError, "tol must be a finite number > 0"),
    ({"max_iter": 0}, ValueError, "max_iter must be an integer >= 1"),
    ({"max_iter": 10.0}, TypeError, "max_iter must be an integer"),
]


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize(("change", "error", "match"), BAD_COMMON)
def test_bad_common_arguments(fn, change, error, match):
    with pytest.raises(error, match=match):
        _call(fn, **change)


@pytest.mark.parametrize("fn", [sinkhorn, sinkhorn_newton_sparse])
@pytest.mark.parametrize(("change", "error", "match"), [
    ({"init": np.zeros(3)}, TypeError, "init must be None or a pair"),
    ({"init": (np.zeros(3), np.zeros(3))}, ValueError, r"init\[0\] \(f\) must have shape"),
    ({"init": (np.zeros(4), np.full(3, np.nan))}, ValueError, "must not contain NaN"),
    ({"check_every": 0}, ValueError, "check_every must be an integer >= 1"),
    ({"n_jobs": 0}, ValueError, "n_jobs must be None"),
])
def test_bad_entropic_arguments(fn, change, error, match):
    with pytest.raises(error, match=match):
        _call(fn, **change)


@pytest.mark.parametrize(("change", "error", "match"), [
    ({"density": 0.0}, ValueError, "density must be a finite number > 0"),
    ({"density": 1.5}, ValueError, "density must be a finite number > 0 and <= 1"),
    ({"warmup": 0}, ValueError, "warmup must be an integer >= 1"),
    ({"max_cg": 0}, ValueError, "max_cg must be an integer >= 1"),
    ({"newton": "sometimes"}, ValueError, "newton must be one of"),
    ({"eps_scaling": "yes"}, TypeError, "eps_scaling must be True or False; got .yes."),
])
def test_bad_sns_arguments(change, error, match):
    with pytest.raises(error, match=match):
        _call(sinkhorn_newton_sparse, **change)


@pytest.mark.parametrize(("change", "error", "match"), [
    ({"max_nz": 0}, ValueError, "max_nz must be an integer >= 1 and <= 4"),
    ({"max_nz": 5}, ValueError, "max_nz must be an integer >= 1 and <= 4"),
    ({"max_nz": 2.0}, TypeError, "max_nz must be an integer"),
    ({"formulation": "primal"}, ValueError, "formulation must be one of"),
    ({"polish": "yes"}, TypeError, "polish must be True or False"),
    ({"n_jobs": 1.5}, TypeError, "n_jobs must be None or an integer"),
])
def test_bad_sparse_arguments(change, error, match):
    with pytest.raises(error, match=match):
        _call(sparsity_constrained_ot, **change)


X = np.random.default_rng(0).normal(size=(10, 2))


@pytest.mark.parametrize(("est", "error", "match"), [
    (EntropicTransport(reg=-1), ValueError, "reg must be"),
    (EntropicTransport(solver="lbfgs"), ValueError, "solver must be one of"),
    (EntropicTransport(metric="hamming"), ValueError, "metric must be one of"),
    (EntropicTransport(tol=0), ValueError, "tol must be"),
    (EntropicTransport(max_iter=0), ValueError, "max_iter must be"),
    (SparseTransport(max_nz=0), ValueError, "max_nz must be"),
    (SparseTransport(formulation="x"), ValueError, "formulation must be one of"),
])
def test_bad_estimator_parameters(est, error, match):
    with pytest.raises(error, match=match):
        est.fit(X)


def test_bad_target_samples():
    with pytest.raises(ValueError, match="X_target must have 2 features"):
        EntropicTransport().fit(X, X_target=np.ones((5, 3)))
    with pytest.raises(ValueError, match="X_target must not contain NaN"):
        EntropicTransport().fit(X, X_target=np.full((5, 2), np.nan))
