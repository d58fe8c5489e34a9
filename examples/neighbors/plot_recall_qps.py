"""
Recall against queries per second
=================================

An HNSW index answers k-nearest-neighbour queries approximately. Its search parameter ``ef``
(the size of the candidate list) trades recall for speed: this example sweeps ``ef`` and plots
recall@10, measured against exact brute-force search, against queries per second, with brute
force (numpy matrix products) as the reference line.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from sparsenum.neighbors import HNSWIndex

# %%
# Data: 10,000 points in 32 dimensions, Gaussian clusters on a 12-dimensional subspace plus a
# little noise, and 500 queries from the same distribution.
rng = np.random.default_rng(0)
centers = rng.normal(scale=3.0, size=(40, 12))
basis = rng.normal(size=(12, 32)) / np.sqrt(12)


def sample(n):
    Z = centers[rng.integers(0, 40, n)] + rng.normal(size=(n, 12))
    return (Z @ basis + 0.05 * rng.normal(size=(n, 32))).astype(np.float32)


X, Q = sample(10_000), sample(500)

# %%
# Exact neighbours by brute force: squared distances by one matrix product.
start = time.perf_counter()
sq_norms = (X.astype(np.float64) ** 2).sum(axis=1)
scores = sq_norms[None, :] - 2.0 * Q.astype(np.float64) @ X.T.astype(np.float64)
exact = np.argsort(scores, axis=1)[:, :10]
brute_qps = len(Q) / (time.perf_counter() - start)

# %%
# Build the index (M=12 links per element, ef_construction=64) and sweep ``ef``.
index = HNSWIndex(32, M=12, ef_construction=64, random_state=0)
start = time.perf_counter()
index.add(X)
print(f"built in {time.perf_counter() - start:.1f} s")

efs = [10, 16, 24, 32, 48, 64, 96, 128]
recalls, qps = [], []
index.query(Q[:5], k=10)  # the first call loads the compiled kernels
for ef in efs:
    start = time.perf_counter()
    ids, _ = index.query(Q, k=10, ef=ef)
    qps.append(len(Q) / (time.perf_counter() - start))
    recalls.append(np.mean([np.intersect1d(a, b).size / 10 for a, b in zip(ids, exact)]))
    print(f"ef={ef:4d}  recall@10={recalls[-1]:.3f}  {qps[-1]:9.0f} queries/s")

# %%
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(recalls, qps, "o-", label="HNSWIndex (ef sweep)")
for ef, r, q in zip(efs, recalls, qps):
    ax.annotate(str(ef), (r, q), textcoords="offset points", xytext=(4, 4), fontsize=8)
ax.axhline(brute_qps, color="gray", ls="--", label="brute force (exact)")
ax.set(xlabel="recall@10", ylabel="queries per second", yscale="log",
       title="10k x 32 float32, k=10")
ax.legend()
fig.tight_layout()
plt.show()
