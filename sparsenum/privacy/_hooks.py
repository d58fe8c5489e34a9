"""A test-only switch that turns every randomiser's noise off.

With the noise off, the protocols compute exactly what they would compute without privacy (the
clipped messages, their sums, the same batches), so tests can hold them against non-private
references (cvxpy, plain iterative hard thresholding). Never use it outside tests: nothing it
returns is private.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_STATE = {"noise": True}


def noise_enabled() -> bool:
    return _STATE["noise"]


@contextlib.contextmanager
def noise_switched_off() -> Iterator[None]:
    """Inside the block, randomisers return their clipped input and NLDP messages carry no
    noise (results are then NOT private)."""
    previous = _STATE["noise"]
    _STATE["noise"] = False
    try:
        yield
    finally:
        _STATE["noise"] = previous
