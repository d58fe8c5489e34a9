"""Sketch tests run BLAS single-threaded: pytest-xdist already runs one worker per core, and the
small LAPACK calls here (SVDs of m x d sketches) slow down by 10x or more when OpenBLAS threads
oversubscribe the cores."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas():
    with threadpool_limits(1):
        yield
