"""
Error of locally private sparse regression against users and budget
=====================================================================

Each of ``n`` users holds one record ``(x, y)`` with ``y = <x, theta*> + noise`` and a 5-sparse
``theta*`` of norm 1 (so ``theta = 0`` has error 1). Left: the l2 error of LDP-IHT (sequentially
interactive) and of the non-interactive protocol (NLDP, with the covariance from public unlabelled
data or privatised too) against ``n`` at ``eps = 2``. LDP-IHT follows the ``n^-1/2`` rate; the
non-interactive protocol pays for sending a whole ``d x d`` matrix (or a ``d``-vector) in one
message and needs orders of magnitude more users to beat ``theta = 0``. Right: LDP-IHT's error
against the budget at ``n = 2e5``.
"""

import matplotlib.pyplot as plt
import numpy as np

from sparsenum.privacy import ldp_iht, nldp_regression, nldp_reports

d, k = 20, 5
rng = np.random.default_rng(0)
n_max = 400_000
X = rng.standard_normal((n_max, d))
theta = np.zeros(d)
theta[rng.choice(d, k, replace=False)] = rng.choice([-1.0, 1.0], k) / np.sqrt(k)
y = X @ theta + 0.1 * rng.standard_normal(n_max)
public_X = rng.standard_normal((5_000, d))  # public, unlabelled records

sizes = [12_500, 25_000, 50_000, 100_000, 200_000, 400_000]
errors = {"LDP-IHT": [], "NLDP, public covariance": [], "NLDP, private covariance": []}
for n in sizes:
    errors["LDP-IHT"].append(np.mean([np.linalg.norm(ldp_iht(X[:n], y[:n], 2.0, k,
                                                             random_state=s).coef - theta)
                                      for s in range(3)]))
    for label, split, public in (("NLDP, public covariance", 0.0, public_X),
                                 ("NLDP, private covariance", 0.5, None)):
        reports = nldp_reports(X[:n], y[:n], 2.0, split=split, sum_noise_shortcut=True,
                               random_state=0)
        fit = nldp_regression(reports, n_nonzero=k, public_X=public)
        errors[label].append(np.linalg.norm(fit.coef - theta))

epsilons = [0.5, 1.0, 2.0, 4.0, 8.0]
by_eps = [np.mean([np.linalg.norm(ldp_iht(X[:200_000], y[:200_000], eps, k,
                                          random_state=s).coef - theta) for s in range(3)])
          for eps in epsilons]

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for label, values in errors.items():
    left.loglog(sizes, values, "o-", label=label)
rate = errors["LDP-IHT"][0] * np.sqrt(sizes[0] / np.array(sizes))
left.loglog(sizes, rate, "k:", label="n^-1/2")
left.axhline(1.0, color="gray", ls="--", label="theta = 0")
left.set(xlabel="users n", ylabel="||theta - theta*||_2", title=f"eps = 2, d = {d}, k = {k}")
left.legend(fontsize=8)
right.loglog(epsilons, by_eps, "o-")
right.set(xlabel="epsilon (per user)", ylabel="||theta - theta*||_2",
          title="LDP-IHT, n = 2e5")
fig.tight_layout()
plt.show()

for label, values in errors.items():
    print(f"{label:26s}", np.round(values, 3))
