"""Thread counts: small default calls run serially, and every thread count gives the same answer."""

import numba
import numpy as np
import pytest

from sparsenum.sketch import SRHT, sketch_and_precondition, sketch_and_solve
from sparsenum.sketch._matrix import InMemoryMatrix, pass_work
from sparsenum.utils import WAKE_UP_WORK, effective_n_jobs
from sparsenum.utils._numba import max_threads


def test_default_is_serial_below_the_work_threshold_and_explicit_n_jobs_is_obeyed():
    assert effective_n_jobs(None, pass_work(1000, 200), WAKE_UP_WORK) == 1
    assert effective_n_jobs(None, WAKE_UP_WORK, WAKE_UP_WORK) == numba.get_num_threads()
    assert effective_n_jobs(1, WAKE_UP_WORK, WAKE_UP_WORK) == 1
    assert effective_n_jobs(2, 1.0, WAKE_UP_WORK) == min(2, max_threads())
    A = np.ones((500, 10))
    assert InMemoryMatrix(A, np.ones(500)).threads == 1
    assert InMemoryMatrix(A, np.ones(500), n_jobs=2).threads == min(2, max_threads())


@pytest.mark.parametrize("shape", [(12, 3), (500, 10), (3000, 40)])
def test_precondition_same_result_serial_and_parallel(shape):
    rng = np.random.default_rng(0)
    A = rng.standard_normal(shape) * np.logspace(0, 4, shape[1])
    b = rng.standard_normal(shape[0])
    runs = [sketch_and_precondition(A, b, random_state=0, n_jobs=n_jobs)
            for n_jobs in (None, 1, 2, -1)]
    for other in runs[1:]:
        np.testing.assert_array_equal(other.coef, runs[0].coef)
        assert other.n_iter == runs[0].n_iter
        np.testing.assert_array_equal(other.history.criterion, runs[0].history.criterion)


def test_solve_and_dct_sketch_same_result_for_any_n_jobs():
    rng = np.random.default_rng(1)
    A, b = rng.standard_normal((700, 70)), rng.standard_normal(700)
    coefs = [sketch_and_solve(A, b, sketch=SRHT(300, transform="dct", random_state=0,
                                                n_jobs=n_jobs)).coef
             for n_jobs in (None, 1, 2)]
    np.testing.assert_array_equal(coefs[0], coefs[1])
    np.testing.assert_array_equal(coefs[0], coefs[2])
