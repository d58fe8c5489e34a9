"""Thread counts: small default calls run serially, and every thread count gives the same codes."""

import numba
import numpy as np
import pytest

from sparsenum.dictionary import batch_omp, compress_layer, ksvd
from sparsenum.dictionary.omp import omp_work
from sparsenum.utils import WAKE_UP_WORK, effective_n_jobs
from sparsenum.utils._numba import max_threads


def test_default_is_serial_below_the_work_threshold_and_explicit_n_jobs_is_obeyed():
    assert effective_n_jobs(None, omp_work(50, 20, 3), WAKE_UP_WORK) == 1
    assert effective_n_jobs(None, omp_work(1000, 64, 8), WAKE_UP_WORK) == 1
    assert effective_n_jobs(None, WAKE_UP_WORK, WAKE_UP_WORK) == numba.get_num_threads()
    assert effective_n_jobs(2, omp_work(1, 2, 1), WAKE_UP_WORK) == min(2, max_threads())


@pytest.mark.parametrize("n_signals", [1, 50, 3000])
def test_batch_omp_same_codes_serial_and_parallel(n_signals):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((40, 16))
    X = rng.standard_normal((n_signals, 16))
    runs = [batch_omp(X, D, n_nonzero=5, n_jobs=n_jobs) for n_jobs in (None, 1, 2, -1)]
    for codes in runs[1:]:
        assert (codes != runs[0]).nnz == 0
        np.testing.assert_array_equal(codes.indptr, runs[0].indptr)


def test_ksvd_and_compression_same_result_serial_and_parallel():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 12))
    a, b = (ksvd(X, 20, 3, max_iter=4, random_state=0, n_jobs=n) for n in (1, 2))
    np.testing.assert_array_equal(a.dictionary, b.dictionary)
    np.testing.assert_array_equal(a.history.objective, b.history.objective)
    W, Xc = rng.standard_normal((16, 24)), rng.standard_normal((100, 16))
    c, d = (compress_layer(W, Xc, max_iter=3, random_state=0, n_jobs=n) for n in (None, 2))
    np.testing.assert_array_equal(c.layer.toarray(), d.layer.toarray())
