"""numba defaults, n_jobs -> threads mapping, and reproducible seeds for kernels."""

import numba
import numpy as np
import pytest

from sparsenum.utils import effective_n_jobs, jit, jit_parallel, numba_threads, spawn_seeds
from sparsenum.utils._numba import max_threads, threading_layer
from sparsenum.utils.random import random_seed, splitmix64, uniform01


def test_jit_bare_and_with_options():
    @jit
    def double(x):
        return 2 * x

    @jit(fastmath=False)
    def triple(x):
        return 3 * x

    assert double(2.0) == 4.0 and triple(2.0) == 6.0
    assert double.targetoptions["nogil"]
    assert type(double._cache).__name__ != "NullCache"  # compiled code is cached on disk


def test_jit_parallel_runs_prange():
    @jit_parallel
    def total(x):
        s = 0.0
        for i in numba.prange(x.shape[0]):
            s += x[i]
        return s

    assert total(np.ones(1000)) == 1000.0


def test_numba_threads_sets_and_restores():
    before = numba.get_num_threads()
    with numba_threads(1) as n:
        assert n == 1 == numba.get_num_threads()
    assert numba.get_num_threads() == before
    with numba_threads(-1) as n:
        assert n == max_threads()


def test_effective_n_jobs_mapping():
    assert effective_n_jobs(10**6) == max_threads()
    assert effective_n_jobs(-(10**6)) == 1
    assert effective_n_jobs(None) == numba.get_num_threads()
    with pytest.raises(ValueError, match="n_jobs"):
        effective_n_jobs(0)


def test_threading_layer_is_named():
    assert isinstance(threading_layer(), str)


def test_seeds_are_reproducible_and_accept_generators():
    assert random_seed(3) == random_seed(np.random.RandomState(3))
    np.testing.assert_array_equal(spawn_seeds(7, 5), spawn_seeds(7, 5))
    assert len(set(spawn_seeds(7, 1000).tolist())) == 1000
    assert spawn_seeds(np.random.default_rng(0), 3).dtype == np.uint64
    assert isinstance(random_seed(np.random.default_rng(0)), int)


def test_uniform01_in_open_interval_and_roughly_uniform():
    @jit
    def draw(seed, n):
        out = np.empty(n)
        state = seed
        for i in range(n):
            state, out[i] = uniform01(state)
        return out

    u = draw(np.uint64(12345), 20000)
    assert u.min() > 0.0 and u.max() < 1.0
    # mean and variance within ~5 standard errors of U(0, 1)
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)
    assert abs(u.var() - 1 / 12) < 0.005
    np.testing.assert_array_equal(u, draw(np.uint64(12345), 20000))


def test_splitmix64_known_first_output():
    # first output of SplitMix64 seeded with 0 (reference value of the published generator)
    _, z = splitmix64(np.uint64(0))
    assert int(z) == 0xE220A8397B1DCDAF


def test_small_work_runs_on_one_thread_by_default_only():
    assert effective_n_jobs(None, work=10) == 1
    assert effective_n_jobs(None, work=1e12) == numba.get_num_threads()
    assert effective_n_jobs(-1, work=10) == max_threads()  # an explicit request is obeyed


def test_check_random_state_names_the_argument():
    from sparsenum.utils import check_random_state

    for bad in (-1, 2**40):
        with pytest.raises(ValueError, match=r"^seed must be None, an integer in \[0, 2\*\*32"):
            check_random_state(bad, "seed")
    for bad in ("0", 1.5, True, [0]):
        with pytest.raises(TypeError, match="^random_state must be"):
            check_random_state(bad)
    generator_state = check_random_state(np.random.default_rng(0))
    assert isinstance(generator_state, np.random.RandomState)
    with pytest.raises(ValueError, match="random_state"):
        spawn_seeds(-1, 2)
