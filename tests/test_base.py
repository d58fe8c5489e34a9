"""SolverResult, ConvergenceHistory and IterativeEstimatorMixin."""

import dataclasses
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning

from sparsenum.base import ConvergenceHistory, IterativeEstimatorMixin, SolverResult


def test_history_records_rows_and_grows_past_capacity():
    h = ConvergenceHistory(capacity=2, extra=("cg",), criterion_name="gap")
    for k in range(5):
        h.record(k, objective=float(k), criterion=2.0**-k, cg=k * 10)
    assert len(h) == 5
    np.testing.assert_array_equal(h.iteration, np.arange(5))
    np.testing.assert_array_equal(h["gap"], 2.0 ** -np.arange(5))
    np.testing.assert_array_equal(h["cg"], np.arange(5) * 10.0)
    assert h.columns == ("iteration", "elapsed", "objective", "gap", "cg")
    assert np.all(np.diff(h.elapsed) >= 0)


def test_history_missing_values_are_nan_and_unknown_column_is_keyerror():
    h = ConvergenceHistory(extra=("cg",))
    h.record(0, criterion=1.0)
    assert np.isnan(h.objective[0]) and np.isnan(h["cg"][0])
    with pytest.raises(KeyError, match="unknown history column 'nope'"):
        h.record(1, nope=3.0)
    with pytest.raises(KeyError, match="nope"):
        h["nope"]


@pytest.mark.parametrize("extra, match", [
    (("objective",), "clashes"), (("a", "a"), "unique"), (("not valid",), "identifiers"),
])
def test_history_rejects_bad_extra_names(extra, match):
    with pytest.raises(ValueError, match=match):
        ConvergenceHistory(extra=extra)


def test_history_rejects_bad_capacity():
    with pytest.raises(ValueError, match="capacity must be an integer >= 1; got 0"):
        ConvergenceHistory(capacity=0)
    for bad in ("3", 3.0, True, None):
        with pytest.raises(TypeError, match="capacity must be an integer"):
            ConvergenceHistory(capacity=bad)


def test_history_rejects_a_string_as_column_list():
    with pytest.raises(TypeError, match="extra must be a tuple or list"):
        ConvergenceHistory(4, "abc")
    with pytest.raises(ValueError, match="criterion_name must be an identifier"):
        ConvergenceHistory(4, criterion_name="")


def test_huge_capacity_allocates_little_and_grows():
    h = ConvergenceHistory(capacity=10**12)
    assert h._iteration.shape[0] <= 1024
    for k in range(3000):
        h.record(k, criterion=1.0 / (k + 1))
    assert len(h) == 3000 and h.iteration[-1] == 2999


def test_history_from_long_arrays():
    h = ConvergenceHistory.from_arrays(np.arange(5000), criterion=np.ones(5000))
    assert len(h) == 5000


def test_history_from_arrays_and_as_dict_copy():
    h = ConvergenceHistory.from_arrays(np.arange(3), objective=[3.0, 2.0, 1.0],
                                       criterion=[1e-1, 1e-2, 1e-3], criterion_name="violation",
                                       inner=[1, 2, 3])
    d = h.as_dict()
    assert list(d) == ["iteration", "elapsed", "objective", "violation", "inner"]
    d["violation"][0] = 99.0
    assert h.criterion[0] == 1e-1  # as_dict returns copies
    assert np.isnan(h.elapsed).all()
    with pytest.raises(ValueError, match="'objective' has 2 rows; iteration has 3"):
        ConvergenceHistory.from_arrays(np.arange(3), objective=[1.0, 2.0])


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=0, max_size=200))
def test_history_keeps_every_recorded_value(values):
    h = ConvergenceHistory(capacity=1)
    for k, v in enumerate(values):
        h.record(k, criterion=v)
    np.testing.assert_array_equal(h.criterion, np.asarray(values, dtype=float))
    assert len(h) == len(values)


def test_history_plot_on_iteration_and_time_axes():
    import matplotlib.pyplot as plt

    h = ConvergenceHistory()
    for k in range(4):
        h.record(k, criterion=10.0**-k)
    ax = h.plot(x="time")
    assert ax.get_xlabel() == "time [s]" and ax.get_yscale() == "log"
    ax = h.plot(ax=ax, x="iteration", y="criterion", label="run")
    np.testing.assert_array_equal(ax.lines[-1].get_xdata(), np.arange(4))
    plt.close("all")
    with pytest.raises(ValueError, match="x must be 'iteration' or 'time'; got 'seconds'"):
        h.plot(x="seconds")


def test_history_pickles():
    h = ConvergenceHistory(extra=("cg",))
    h.record(0, objective=1.0, criterion=0.5, cg=3)
    h2 = pickle.loads(pickle.dumps(h))
    np.testing.assert_array_equal(h2["cg"], h["cg"])


@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class _ToyResult(SolverResult):
    coef: np.ndarray
    gap: float


def test_solver_result_is_frozen_keyword_only_and_has_short_repr():
    r = _ToyResult(converged=True, n_iter=4, history=ConvergenceHistory(), coef=np.zeros((3, 2)),
                   gap=1e-9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.n_iter = 5
    with pytest.raises(TypeError):
        _ToyResult(True, 4, ConvergenceHistory(), np.zeros(2), 1.0)
    assert repr(r) == ("_ToyResult(converged=True, n_iter=4, history=<history, 0 rows>, "
                       "coef=<3x2 float64 array>, gap=1e-09)")
    assert r.replace(n_iter=7).n_iter == 7 and r.n_iter == 4
    assert set(r.to_dict()) == {"converged", "n_iter", "history", "coef", "gap"}


class _Toy(IterativeEstimatorMixin, BaseEstimator):
    def __init__(self, converge=True, max_iter=5):
        self.converge = converge
        self.max_iter = max_iter

    def fit(self, X=None, y=None):
        h = ConvergenceHistory(criterion_name="gap")
        h.record(0, criterion=0.25)
        result = SolverResult(converged=self.converge, n_iter=self.max_iter, history=h)
        return self._record_convergence(result)


def test_mixin_sets_attributes_without_warning_when_converged():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        toy = _Toy().fit()
    assert (toy.n_iter_, toy.converged_, len(toy.history_)) == (5, True, 1)
    assert clone(toy).get_params() == {"converge": True, "max_iter": 5}


def test_mixin_warns_with_criterion_when_not_converged():
    message = r"_Toy did not meet its tolerance in 5 iterations .*gap=2.500e-01"
    with pytest.warns(ConvergenceWarning, match=message):
        toy = _Toy(converge=False).fit()
    assert toy.converged_ is False


def test_mixin_accepts_a_mapping():
    toy = _Toy()
    toy._record_convergence({"converged": True, "n_iter": 2, "history": None})
    assert toy.n_iter_ == 2
