"""The heap routines of the numba kernels against numpy's sorts."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sparsenum.ot._sorting import heap_pop, heapify, heapify_order, largest_k, pop_order

values = hnp.arrays(np.float64, st.integers(1, 60),
                    elements=st.floats(-1e6, 1e6, allow_subnormal=False))


@settings(max_examples=60, deadline=None)
@given(x=values, data=st.data())
def test_largest_k_matches_a_full_sort(x, data):
    k = data.draw(st.integers(1, x.shape[0]), label="k")
    idx, top = np.empty(k, np.int64), np.empty(k)
    largest_k(x, k, idx, top)
    np.testing.assert_array_equal(top, np.sort(x)[::-1][:k])
    np.testing.assert_array_equal(x[idx], top)
    assert len(set(idx.tolist())) == k


@settings(max_examples=60, deadline=None)
@given(x=values)
def test_heaps_order_like_numpy(x):
    for sign, expected in ((1.0, np.sort(x)[::-1]), (-1.0, np.sort(x))):
        heap = x.copy()
        heapify(heap, sign)
        popped = [heap_pop(heap, size, sign) for size in range(x.shape[0], 0, -1)]
        np.testing.assert_array_equal(popped, expected)


@settings(max_examples=50, deadline=None)
@given(x=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60), take=st.integers(1, 60))
def test_heap_order_pops_by_decreasing_value_hypothesis(x, take):
    """heapify_order + pop_order hand out indices by decreasing value, as a full sort would,
    stopping after any number of pops."""
    x = np.array(x)
    order = np.arange(x.size)
    heapify_order(x, order)
    popped = [int(pop_order(x, order, size)) for size in range(x.size, max(x.size - take, 0), -1)]
    assert len(set(popped)) == len(popped)
    np.testing.assert_array_equal(x[popped], np.sort(x)[::-1][: len(popped)])
