"""A software prefetch for numba kernels that read rows of a matrix in a data-dependent order.

A round of LDP-IHT visits a random subset of the rows of ``X`` in increasing order; the rows are
a few pages apart, so the hardware prefetcher does not see the pattern and every row waits for
memory. Asking for the row a few users ahead (LLVM's ``llvm.prefetch``, a hint with no effect on
results) hides that wait.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from sparsenum.utils import jit

_CACHE_LINE_DOUBLES = 8


@intrinsic
def _prefetch_item(typingctx, array, row, col):
    """Hint that ``array[row, col]`` will be read soon (into every cache level)."""
    signature = types.void(array, row, col)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        array_struct = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, array_struct,
                                           [args[1], args[2]])
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
            "llvm.prefetch")
        # read access, high temporal locality, data cache
        builder.call(function, [builder.bitcast(pointer, byte_pointer), int32(0), int32(3),
                                int32(1)])
        return context.get_dummy_value()

    return signature, codegen


@jit(inline="always")
def prefetch_row(X, i):
    """Hint that row ``i`` of the C-ordered 2-d array ``X`` will be read soon."""
    d = X.shape[1]
    for j in range(0, d, _CACHE_LINE_DOUBLES):
        _prefetch_item(X, i, j)
    _prefetch_item(X, i, d - 1)  # rows need not start on a cache line
