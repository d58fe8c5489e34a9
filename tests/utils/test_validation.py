"""Every check in sparsenum.utils.validation: accepted values, conversions, and error messages."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sparsenum.utils import (
    check_array,
    check_consistent_length,
    check_int,
    check_marginals,
    check_n_jobs,
    check_one_of,
    check_probability_vector,
    check_scalar,
    check_shape,
    check_sparse,
)
from sparsenum.utils.validation import describe_value


class TestCheckScalar:
    def test_accepts_numpy_and_python_numbers(self):
        assert check_scalar(np.float32(0.5), "reg", low=0) == 0.5
        assert isinstance(check_scalar(3, "reg"), float)

    @pytest.mark.parametrize("value, kwargs, message", [
        (0.0, {"low": 0, "include_low": False}, "reg must be a finite number > 0; got 0.0"),
        (2.0, {"high": 1}, "reg must be a finite number <= 1; got 2.0"),
        (1.0, {"low": 0, "high": 1, "include_high": False},
         "reg must be a finite number >= 0 and < 1; got 1.0"),
        (float("nan"), {}, "reg must be a finite number; got nan"),
        (float("inf"), {"low": 0}, "reg must be a finite number >= 0; got inf"),
    ])
    def test_rejects_out_of_range(self, value, kwargs, message):
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            check_scalar(value, "reg", **kwargs)

    @pytest.mark.parametrize("value", ["0.1", None, True, [0.1], 1j])
    def test_rejects_non_numbers(self, value):
        with pytest.raises(TypeError, match="reg must be a real number"):
            check_scalar(value, "reg")

    def test_none_when_allowed(self):
        assert check_scalar(None, "tol", allow_none=True) is None


class TestCheckInt:
    def test_accepts_numpy_integers(self):
        assert check_int(np.int64(4), "k", low=1) == 4

    @pytest.mark.parametrize("value", [3.0, True, "3", None])
    def test_rejects_non_integers(self, value):
        with pytest.raises(TypeError, match="k must be an integer"):
            check_int(value, "k")

    def test_rejects_out_of_range(self):
        with pytest.raises(ValueError, match="k must be an integer >= 1 and <= 5; got 6"):
            check_int(6, "k", low=1, high=5)


def test_check_one_of():
    assert check_one_of("l2", "metric", ("l2", "ip")) == "l2"
    with pytest.raises(ValueError, match="metric must be one of 'l2', 'ip'; got 'L2'"):
        check_one_of("L2", "metric", ("l2", "ip"))
    with pytest.raises(ValueError, match="got True"):
        check_one_of(True, "flag", (1, 2))


class TestCheckArray:
    def test_converts_to_float64_c_contiguous_without_touching_input(self):
        x = np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))
        out = check_array(x, "X", ndim=2)
        assert out.dtype == np.float64 and out.flags.c_contiguous
        assert x.dtype == np.int32

    def test_float32_upcast_unless_asked(self):
        x = np.ones(3, np.float32)
        assert check_array(x, "x").dtype == np.float64
        assert check_array(x, "x", dtype=np.float32).dtype == np.float32
        assert check_array(x, "x", dtype=None).dtype == np.float32

    def test_copy_true_never_aliases(self):
        x = np.ones(3)
        assert not np.shares_memory(check_array(x, "x", copy=True), x)
        assert np.shares_memory(check_array(x, "x"), x)

    @pytest.mark.parametrize("value, error, message", [
        (sp.eye(2), TypeError, "X must be a dense array; got sparse"),
        ("abc", TypeError, "X must be array-like of numbers"),
        (None, TypeError, "X must be array-like of numbers"),
        (np.array(["a", "b"]), TypeError, "X must hold real numbers; got dtype <U1"),
        (np.array([1 + 1j]), TypeError, "X must hold real numbers; got dtype complex128"),
        ([[1.0], [2.0, 3.0]], TypeError, "X must be array-like of numbers"),
        (np.zeros(3), ValueError, "X must be a 2-dimensional array; got 1 dimensions"),
        (np.zeros((0, 2)), ValueError, r"X must have at least 1 entries; got shape \(0, 2\)"),
        (np.array([[np.inf]]), ValueError, "X must be finite; got 1 infinite entries"),
        (np.array([[np.nan, 1.0]]), ValueError, "X must not contain NaN; got 1 NaN entries"),
    ])
    def test_rejects(self, value, error, message):
        with pytest.raises(error, match=message):
            check_array(value, "X", ndim=2)

    def test_ndim_alternatives_and_nan_allowed(self):
        out = check_array([np.nan, 1.0], "x", ndim=(1, 2), allow_nan=True)
        assert np.isnan(out[0])
        with pytest.raises(ValueError, match="x must be finite"):
            check_array([np.nan, np.inf], "x", allow_nan=True, allow_inf=False)

    def test_nonnegative(self):
        with pytest.raises(ValueError, match=r"a must be nonnegative; got 1 negative entries"):
            check_array([1.0, -1.0], "a", nonnegative=True)

    @given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=5),
                      elements=st.floats(-1e6, 1e6)))
    def test_finite_arrays_round_trip(self, x):
        np.testing.assert_array_equal(check_array(x, "x"), x)


def test_check_shape_and_consistent_length():
    assert check_shape(np.zeros((2, 3)), "C", (2, None)).shape == (2, 3)
    with pytest.raises(ValueError, match=r"b must have shape \(4,\); got \(3,\)"):
        check_shape(np.zeros(3), "b", (4,))
    assert check_consistent_length(X=np.zeros((3, 2)), y=[1, 2, 3]) == 3


class TestProbabilityVectors:
    def test_zero_entries_allowed(self):
        np.testing.assert_array_equal(check_probability_vector([0, 1], "a"), [0.0, 1.0])

    @pytest.mark.parametrize("value, message", [
        ([[0.5, 0.5]], "a must be a 1-dimensional array"),
        ([0.5, -0.1], "a must be nonnegative"),
        ([np.nan, 1.0], "a must not contain NaN"),
        ([0.0, 0.0], "a must have positive total mass; got sum 0"),
    ])
    def test_rejects(self, value, message):
        with pytest.raises(ValueError, match=message):
            check_probability_vector(value, "a")

    def test_size(self):
        with pytest.raises(ValueError, match="a must have length 3; got 2"):
            check_probability_vector([0.5, 0.5], "a", size=3)

    def test_marginals_mass_mismatch_names_both(self):
        with pytest.raises(ValueError, match=r"sum\(a\)=1 and sum\(b\)=1.1"):
            check_marginals([0.5, 0.5], [0.6, 0.5])
        a, b = check_marginals([0.5, 0.5], [0.25, 0.75 + 1e-9])
        assert a.shape == (2,) and b.shape == (2,)

    @given(st.lists(st.floats(0, 1e3), min_size=1, max_size=20).filter(lambda v: sum(v) > 0))
    def test_marginals_accept_any_vector_with_itself(self, v):
        a, b = check_marginals(v, list(reversed(v)))
        assert a.sum() == pytest.approx(b.sum())


class TestCheckSparse:
    def test_converts_format_and_canonicalises_without_touching_input(self):
        coo = sp.coo_matrix(([1.0, 2.0], ([0, 0], [1, 1])), shape=(2, 2))  # duplicate entries
        out = check_sparse(coo, "A", format="csc")
        assert out.format == "csc" and out.nnz == 1 and out[0, 1] == 3.0
        assert coo.nnz == 2

    def test_rejects_dense_unless_accepted(self):
        with pytest.raises(TypeError, match="A must be a scipy.sparse matrix; got array"):
            check_sparse(np.eye(2), "A")
        assert check_sparse(np.eye(2), "A", accept_dense=True).shape == (2, 2)

    def test_rejects_nan_and_bad_format(self):
        bad = sp.csr_matrix(np.array([[np.nan, 1.0]]))
        with pytest.raises(ValueError, match="A must be finite; got 1 NaN or infinite"):
            check_sparse(bad, "A")
        with pytest.raises(ValueError, match="format must be 'csr' or 'csc'; got 'coo'"):
            check_sparse(bad, "A", format="coo")

    def test_sparse_array_type(self):
        assert check_sparse(sp.csr_array(np.eye(3)), "A").shape == (3, 3)


def test_check_n_jobs():
    assert check_n_jobs(None) is None and check_n_jobs(-1) == -1
    with pytest.raises(TypeError, match="n_jobs must be None or an integer; got 1.5"):
        check_n_jobs(1.5)
    with pytest.raises(ValueError, match="got 0"):
        check_n_jobs(0)


def test_describe_value_is_short_for_big_arrays():
    assert describe_value(np.zeros((100, 100))) == "array of shape (100, 100) and dtype float64"
    assert len(describe_value("x" * 500)) == 80


def test_check_array_finiteness_when_the_sum_overflows():
    # the fast path sums the entries; an overflowing sum of finite entries must still pass,
    # and a NaN or inf hidden among huge entries must still be found
    huge = np.full(4, np.finfo(float).max)
    assert check_array(huge, "x") is not None
    for bad, word in ((np.nan, "NaN"), (np.inf, "finite")):
        x = huge.copy()
        x[2] = bad
        with pytest.raises(ValueError, match=word):
            check_array(x, "x")
    x = np.array([np.inf, -np.inf])  # inf - inf = NaN in the sum: still reported as infinite
    with pytest.raises(ValueError, match="2 infinite"):
        check_array(x, "x")
