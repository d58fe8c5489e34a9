"""
Condition number against edge density, and a dynamic stream
===========================================================

A Delaunay mesh of 1,000 random points is sparsified by GRASS (power-step scores, rounds),
feGRASS (stretch ranking, no eigensolve) and by a maximum-weight spanning tree plus off-tree
edges sampled proportionally to ``w_e R_e``. The relative condition number
``kappa(L_G, L_H)`` is recomputed from each returned graph. Then a
:class:`~sparsenum.graph.SpectralSparsifier` follows the mesh through batches of random edge
insertions and deletions.
"""

import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from scipy.spatial import Delaunay

from sparsenum.graph import (
    SpectralSparsifier,
    effective_resistance,
    relative_condition_number,
    spanning_tree,
    sparsify,
)

rng = np.random.default_rng(0)
points = rng.random((1000, 2))
tri = Delaunay(points).simplices
r = np.concatenate([tri[:, 0], tri[:, 1], tri[:, 2]])
c = np.concatenate([tri[:, 1], tri[:, 2], tri[:, 0]])
A = sp.coo_matrix((np.ones(r.size), (r, c)), shape=(1000, 1000)).tocsr()
A = ((A + A.T) > 0).astype(float).tocsr()
upper = sp.triu(A, 1).tocsr()
rows = np.repeat(np.arange(1000), np.diff(upper.indptr))
cols = upper.indices

tree = spanning_tree(A, kind="max_weight")
in_tree = np.asarray(tree[rows, cols]).ravel() != 0
resistance = effective_resistance(A, method="exact")


def sampled(density):
    off = np.flatnonzero(~in_tree)
    p = resistance[off] / resistance[off].sum()
    keep = in_tree.copy()
    keep[rng.choice(off, round(density * 1000), replace=False, p=p)] = True
    H = sp.coo_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])), shape=A.shape)
    return (H + H.T).tocsr()


densities = [0.02, 0.05, 0.10, 0.15, 0.20]
curves = {
    "GRASS": [sparsify(A, offtree_density=d, random_state=0).sparsifier for d in densities],
    "feGRASS": [sparsify(A, method="fegrass", offtree_density=d).sparsifier for d in densities],
    "max-weight tree + w R sampling": [sampled(d) for d in densities],
}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
for label, graphs in curves.items():
    kappas = [relative_condition_number(A, H, exact=False) for H in graphs]
    ax1.semilogy(densities, kappas, "o-", label=label)
ax1.set(xlabel="off-tree edges / nodes", ylabel="kappa(L_G, L_H)", title="Delaunay n=1000")
ax1.legend()

model = SpectralSparsifier(random_state=0).fit(A)
kappa = [model.estimate_condition_number(exact=False)]
for batch in range(6):
    pairs = rng.integers(0, 1000, size=(30, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if batch % 2 == 0:
        model.insert_edges(pairs)
    else:
        G = sp.triu(model.graph_, 1).tocoo()
        drop = rng.choice(G.nnz, 30, replace=False)
        model.delete_edges(np.c_[G.row[drop], G.col[drop]])
    kappa.append(model.estimate_condition_number(exact=False))
ax2.plot(kappa, "o-")
ax2.set(xlabel="batch (even: 30 insertions, odd: 30 deletions)", ylabel="kappa(L_G, L_H)",
        title="SpectralSparsifier under a stream")
fig.tight_layout()
print("kappa after each batch:", np.round(kappa, 1))
print("off-tree density after each batch:", np.round(model.update_history_.criterion, 3))
