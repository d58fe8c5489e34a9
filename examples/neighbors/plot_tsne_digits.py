"""
Approximate kNN graph for t-SNE
===============================

t-SNE only needs each sample's nearest neighbours. As in scikit-learn's example "Approximate
nearest neighbors in TSNE", a k-neighbours transformer computes them ahead of
``TSNE(metric="precomputed")`` in a pipeline; :class:`~sparsenum.neighbors.HNSWTransformer` is a
drop-in for :class:`~sklearn.neighbors.KNeighborsTransformer` (same graph conventions: sorted
rows, ``n_neighbors + 1`` entries with the sample itself in ``mode="distance"``). On the bundled
digits the approximate graph holds almost all the exact neighbours.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.manifold import TSNE, trustworthiness
from sklearn.neighbors import KNeighborsTransformer
from sklearn.pipeline import make_pipeline

from sparsenum.neighbors import HNSWTransformer

X, y = load_digits(return_X_y=True)
perplexity = 30
n_neighbors = int(3 * perplexity + 1)  # what TSNE uses with its own exact search

# %%
# The two neighbour graphs: how many of the exact neighbours the approximate graph finds.
start = time.perf_counter()
approx = HNSWTransformer(n_neighbors=n_neighbors, random_state=0).fit_transform(X)
t_approx = time.perf_counter() - start
exact = KNeighborsTransformer(n_neighbors=n_neighbors).fit_transform(X)
same = np.mean([np.intersect1d(a, b).size / len(b) for a, b in
                zip(approx.indices.reshape(len(X), -1), exact.indices.reshape(len(X), -1))])
print(f"HNSW graph in {t_approx:.2f} s; {same:.4f} of the exact neighbours found")

# %%
# The graph feeds t-SNE in a pipeline.
pipeline = make_pipeline(
    HNSWTransformer(n_neighbors=n_neighbors, random_state=0),
    TSNE(metric="precomputed", perplexity=perplexity, init="random", max_iter=400,
         random_state=0))
embedding = pipeline.fit_transform(X)
print(f"trustworthiness of the embedding: {trustworthiness(X, embedding, n_neighbors=10):.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 5))
scatter = ax.scatter(embedding[:, 0], embedding[:, 1], c=y, cmap="tab10", s=4)
ax.legend(*scatter.legend_elements(), title="digit", fontsize=7, loc="best")
ax.set(title="t-SNE of the digits on an HNSW kNN graph", xticks=[], yticks=[])
fig.tight_layout()
plt.show()
