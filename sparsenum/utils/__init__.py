"""Shared helpers: validation, numba defaults, random states, module registry."""

from ._numba import WAKE_UP_WORK, effective_n_jobs, jit, jit_parallel, numba_threads
from .random import check_random_state, random_seed, spawn_seeds
from .registry import DemoRow, all_demos, all_estimators, registered_modules
from .validation import (
    check_array,
    check_bool,
    check_callback,
    check_consistent_length,
    check_int,
    check_marginals,
    check_n_jobs,
    check_one_of,
    check_probability_vector,
    check_scalar,
    check_shape,
    check_sparse,
    check_verbose,
    renamed_argument,
)

__all__ = [
    "WAKE_UP_WORK",
    "DemoRow",
    "all_demos",
    "all_estimators",
    "check_array",
    "check_bool",
    "check_callback",
    "check_consistent_length",
    "check_int",
    "check_marginals",
    "check_n_jobs",
    "check_one_of",
    "check_probability_vector",
    "check_random_state",
    "check_scalar",
    "check_shape",
    "check_sparse",
    "check_verbose",
    "effective_n_jobs",
    "jit",
    "jit_parallel",
    "numba_threads",
    "random_seed",
    "registered_modules",
    "renamed_argument",
    "spawn_seeds",
]
