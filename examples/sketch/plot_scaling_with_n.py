"""
Sketching time and sketch-and-precondition against n
====================================================

The cost of applying a sketch to a tall ``n x d`` matrix: the SRHT (Walsh-Hadamard, blocked in
cache) grows like ``n log B``, the sparse sketches like ``nnz(A)``. Sketch-and-precondition
then solves the least-squares problem to LAPACK's accuracy with about 20 products with ``A`` and
``A^T``, so its cost grows linearly in ``n`` (and in ``d``), where LAPACK's QR grows like
``n d^2``.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from sparsenum.sketch import SRHT, CountSketch, SparseSign, sketch_and_precondition

d, m = 50, 400
rng = np.random.default_rng(0)
sizes = [5_000, 10_000, 20_000, 40_000]
A_all = rng.standard_normal((sizes[-1], d)) * np.logspace(0, 3, d)
b_all = A_all @ rng.standard_normal(d) + rng.standard_normal(sizes[-1])


def best_time(fn, repeats=2):
    fn()  # compile / warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


operators = {"SRHT (WHT)": SRHT(m, random_state=0), "SparseSign": SparseSign(m, random_state=0),
             "CountSketch": CountSketch(m, random_state=0)}
timings = {name: [] for name in [*operators, "sketch_and_precondition", "numpy.linalg.lstsq"]}
for n in sizes:
    A, b = A_all[:n], b_all[:n]
    for name, op in operators.items():
        timings[name].append(best_time(lambda op=op, A=A: op.apply(A)))
    timings["sketch_and_precondition"].append(
        best_time(lambda A=A, b=b: sketch_and_precondition(A, b, random_state=0)))
    timings["numpy.linalg.lstsq"].append(
        best_time(lambda A=A, b=b: np.linalg.lstsq(A, b, rcond=None)))

fig, ax = plt.subplots(figsize=(6, 4))
for name, values in timings.items():
    ax.plot(sizes, values, "o-", label=name)
ax.set(xscale="log", yscale="log", xlabel="n (d = 50)", ylabel="time [s]",
       title="cost against the number of rows")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
