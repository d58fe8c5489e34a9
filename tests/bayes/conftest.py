"""Bayes tests run BLAS single-threaded: pytest-xdist already runs one worker per core, and the
small factorisations here slow down many times when OpenBLAS threads oversubscribe the cores."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas():
    with threadpool_limits(1):
        yield
