"""Shared pieces of the fuzz tests (``tests/test_fuzz_<module>.py``).

A fuzz test feeds a public function or estimator values a hostile or careless user would pass:
wrong types, NaN and infinity, negative or huge sizes, wrong shapes and dtypes, damaged files.
Every call must end one of two ways:

* a ``ValueError`` or ``TypeError`` whose message names the argument the user passed
  (:func:`expect_clean_failure`), or
* a result that is finite and honest (the caller's own check).

Never another exception type, a numba error, a crash, a hang or a silent NaN. Inputs must come
back unmodified (:func:`unmodified`).
"""

from __future__ import annotations

import contextlib
import math
import threading

import numpy as np
from hypothesis import strategies as st

__all__ = [
    "BAD_BOOLS",
    "BAD_INTS",
    "BAD_REALS",
    "bad_arrays",
    "busy_machine",
    "expect_clean_failure",
    "outcome",
    "unmodified",
]

# values that are not real numbers, or are not usable ones
BAD_REALS = st.sampled_from([
    "0.1", "abc", None, True, False, [0.1], (0.1,), {}, 1j, float("nan"), float("inf"),
    -float("inf"), np.array([0.1, 0.2]), object(),
])
# values that are not integers
BAD_INTS = st.sampled_from([
    "3", 3.5, 3.0, float("nan"), float("inf"), None, True, [3], 1j, np.float64(2.0), object(),
])
# values that are not booleans
BAD_BOOLS = st.sampled_from(["True", "False", "yes", 0, 1, 1.0, None, [True], np.array([1])])


def bad_arrays(shape: tuple[int, ...]) -> st.SearchStrategy:
    """Arrays a function expecting a finite float array of ``shape`` must reject cleanly."""
    good = np.ones(shape)
    with_nan, with_inf = good.copy(), good.copy()
    with_nan.flat[0], with_inf.flat[-1] = np.nan, np.inf
    candidates = [
        with_nan,
        with_inf,
        -with_inf,
        good.astype(object),
        good.astype(complex) + 1j,
        np.array(["a"] * good.size).reshape(shape),
        good.ravel() if len(shape) > 1 else good[:, None],  # wrong number of dimensions
        np.ones((0, *shape[1:])),  # empty
        "not an array",
        None,
        [[1.0, 2.0], [3.0]],  # ragged
    ]
    return st.sampled_from(candidates)


def outcome(call, *, names) -> tuple[str, object]:
    """Run ``call()``; returns ``("error", exc)`` for a clean error or ``("ok", value)``.

    A clean error is a ``ValueError`` or ``TypeError`` whose message contains one of ``names``
    (the user's argument names). Any other exception, or an error that names none of them,
    fails the test with the original traceback attached.
    """
    names = (names,) if isinstance(names, str) else tuple(names)
    try:
        value = call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        if not any(name in message for name in names):
            raise AssertionError(
                f"error message names none of {names}: {type(exc).__name__}: {message}"
            ) from exc
        return "error", exc
    return "ok", value


def expect_clean_failure(call, *, names) -> BaseException:
    """``call()`` must raise a ValueError/TypeError that names one of ``names``."""
    kind, value = outcome(call, names=names)
    assert kind == "error", f"expected a clean error naming {names}; the call returned {value!r}"
    return value


@contextlib.contextmanager
def unmodified(*arrays):
    """Check that the given arrays (NumPy or scipy.sparse) are unchanged when the block ends."""
    import scipy.sparse as sp

    def snapshot(a):
        if sp.issparse(a):
            return ("sparse", a.format, a.shape, a.copy())
        if isinstance(a, np.ndarray):
            return ("dense", a.copy())
        return ("other", None)

    before = [snapshot(a) for a in arrays]
    yield
    for i, (a, snap) in enumerate(zip(arrays, before)):
        if snap[0] == "dense":
            assert np.array_equal(a, snap[1], equal_nan=True), f"input {i} was modified in place"
        elif snap[0] == "sparse":
            assert a.format == snap[1] and a.shape == snap[2], f"input {i} changed format/shape"
            diff = a - snap[3]
            assert diff.nnz == 0 or not np.any(diff.data), f"input {i} was modified in place"


@contextlib.contextmanager
def busy_machine(n_threads: int = 2):
    """Load the machine while the block runs: NumPy products in threads (they release the GIL,
    so they compete for cores) and a pure-Python loop (it competes for the GIL)."""
    stop = threading.Event()

    def blas_load():
        a = np.random.default_rng(0).normal(size=(200, 200))
        while not stop.is_set():
            a = np.tanh(a @ a.T / 200.0)

    def python_load():
        x = 0.0
        while not stop.is_set():
            for i in range(1000):
                x += math.sqrt(i)

    threads = [threading.Thread(target=blas_load, daemon=True) for _ in range(n_threads)]
    threads.append(threading.Thread(target=python_load, daemon=True))
    for t in threads:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in threads:
            t.join()
