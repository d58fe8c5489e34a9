"""Hypothesis over the public API of sparsenum.ot with bad values, dtypes and shapes.

Every call must end in a ValueError/TypeError naming the argument, or in an honest result
(finite nonnegative plan, history ending at ``n_iter``, ``converged`` only when the criterion
is met); inputs come back unmodified. ``tests/ot/fuzz_census_ot.py`` runs every case of the
catalogue, each in a worker process, and counts the outcomes.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sparsenum.ot import emd, sinkhorn, sinkhorn_newton_sparse, sparsity_constrained_ot
from tests._fuzz import BAD_BOOLS, BAD_INTS, BAD_REALS, bad_arrays, unmodified
from tests.ot.fuzz_cases_ot import call as call_case
from tests.ot.fuzz_cases_ot import cases, honest, judge, names_argument

CASES = cases()


@pytest.mark.timeout(300)
@settings(max_examples=60, deadline=None)
@given(case=st.sampled_from(CASES))
def test_catalogue_case_is_refused_cleanly_or_solved_honestly(case):
    # numeric arrays only: tests/_fuzz.unmodified compares with equal_nan=True, which numpy
    # cannot do for object or string arrays
    arrays = [v for v in (case.value, *(case.value if isinstance(case.value, tuple) else ()))
              if isinstance(v, np.ndarray) and v.dtype.kind in "biufc"]
    with warnings.catch_warnings(), unmodified(*arrays):
        warnings.simplefilter("ignore")
        category, detail = judge(case, lambda: call_case(case))
    assert category in ("clean", "honest"), f"{case.name}: {category}: {detail}"


def _valid(n=5, m=4, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.random(n) + 0.2, rng.random(m) + 0.2
    return a / a.sum(), b / b.sum(), rng.random((n, m))


FUNCTIONS = {
    "sinkhorn": lambda a, b, C, reg, **kw: sinkhorn(a, b, C, reg, max_iter=3000, **kw),
    "sinkhorn_newton_sparse": lambda a, b, C, reg, **kw: sinkhorn_newton_sparse(
        a, b, C, reg, max_iter=3000, **kw),
    "sparsity_constrained_ot": lambda a, b, C, reg, **kw: sparsity_constrained_ot(
        a, b, C, reg, 1, max_iter=300, **kw),
    "emd": lambda a, b, C, reg, **kw: emd(a, b, C, **kw),
}


class _Case:  # what `honest` reads of a case
    def __init__(self, argument="a", value=None):
        self.argument, self.value, self.function = argument, value, "fn"


def outcome(call, *, names):
    """``("error", exc)`` for a ValueError/TypeError naming one of ``names`` (as an argument,
    not as a letter of a word), ``("ok", value)`` for a result; anything else fails."""
    try:
        value = call()
    except (ValueError, TypeError) as exc:
        assert any(names_argument(str(exc), n) for n in names), (
            f"error names none of {names}: {type(exc).__name__}: {exc}")
        return "error", exc
    return "ok", value


def _check(name, a, b, C, reg, **kwargs):
    arrays = [x for x in (a, b, C) if isinstance(x, np.ndarray)]
    with warnings.catch_warnings(), unmodified(*arrays):
        warnings.simplefilter("ignore")
        kind, value = outcome(lambda: FUNCTIONS[name](a, b, C, reg, **kwargs),
                              names=("a", "b", "C", "reg", *kwargs))
    if kind == "ok":
        problem = honest(_Case(), value)
        assert problem is None, f"{name}: {problem}"


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)
weights = st.floats(min_value=0.0, max_value=1e300, allow_subnormal=True)


@pytest.mark.timeout(300)
@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(FUNCTIONS)),
       n=st.integers(1, 5), m=st.integers(1, 5),
       data=st.data(),
       reg=st.one_of(st.floats(min_value=5e-324, max_value=1e300), st.just(0.05)))
def test_random_weights_costs_and_reg(name, n, m, data, reg):
    a = data.draw(hnp.arrays(np.float64, n, elements=weights), label="a")
    b = data.draw(hnp.arrays(np.float64, m, elements=weights), label="b")
    if data.draw(st.booleans(), label="same mass") and a.sum() > 0 and np.isfinite(a.sum()):
        b = np.full(m, a.sum() / m)
    C = data.draw(hnp.arrays(np.float64, (n, m), elements=st.one_of(
        st.floats(-1.0, 1.0), finite_or_not)), label="C")
    _check(name, a, b, C, reg)


@pytest.mark.timeout(300)
@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(sorted(FUNCTIONS)),
       dtype=st.sampled_from([np.float16, np.float32, np.int8, np.int64, np.uint8, bool]),
       which=st.sampled_from(["a", "b", "C"]))
def test_other_dtypes_are_cast_or_refused(name, dtype, which):
    a, b, C = _valid()
    args = {"a": a, "b": b, "C": C}
    args[which] = (args[which] * 10).astype(dtype)
    _check(name, args["a"], args["b"], args["C"], 0.1)


@pytest.mark.timeout(300)
@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(["sinkhorn", "sinkhorn_newton_sparse", "sparsity_constrained_ot"]),
       argument=st.sampled_from(["tol", "max_iter", "n_jobs", "verbose"]), data=st.data())
def test_bad_scalar_parameters(name, argument, data):
    bad = {"tol": BAD_REALS, "max_iter": BAD_INTS, "n_jobs": BAD_INTS,
           "verbose": BAD_REALS}[argument]
    value = data.draw(bad, label=argument)
    if argument == "n_jobs" and value is None:
        return
    a, b, C = _valid()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kind, value = outcome(lambda: FUNCTIONS[name](a, b, C, 0.1, **{argument: value}),
                              names=(argument,))
    if kind == "ok":  # e.g. verbose=False
        assert honest(_Case(), value) is None


@pytest.mark.timeout(300)
@settings(max_examples=25, deadline=None)
@given(flag=BAD_BOOLS, which=st.sampled_from(["eps_scaling", "polish"]))
def test_bad_flags(flag, which):
    a, b, C = _valid()
    fn = FUNCTIONS["sinkhorn_newton_sparse" if which == "eps_scaling"
                   else "sparsity_constrained_ot"]
    kind, _ = outcome(lambda: fn(a, b, C, 0.1, **{which: flag}), names=(which,))
    assert kind == "error"


@pytest.mark.timeout(300)
@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(sorted(FUNCTIONS)), which=st.sampled_from(["a", "b", "C"]),
       data=st.data())
def test_bad_arrays(name, which, data):
    a, b, C = _valid()
    args = {"a": a, "b": b, "C": C}
    args[which] = data.draw(bad_arrays(args[which].shape), label=which)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kind, _ = outcome(lambda: FUNCTIONS[name](args["a"], args["b"], args["C"], 0.1),
                          names=(which,))
    assert kind == "error"
