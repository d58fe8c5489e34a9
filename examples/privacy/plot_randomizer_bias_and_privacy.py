"""
Duchi's randomiser: unbiased inside the ball, clipped outside, e^eps at worst
=============================================================================

Each user sends a point of a large sphere (radius ``B``) in place of its vector ``v``. Left: the
average message against the input's norm. Inside the ball of radius ``r`` the average equals the
input (the randomiser is unbiased); beyond it, the vector is first clipped to norm ``r``, so the
average stays at ``r``: that clipping bias is why the bounds users state matter.

Right: the privacy guarantee measured. For an input ``v`` on the sphere and its opposite ``-v``,
the probability that the message falls in the half-space ``{<Z, v> > 0}`` differs by exactly
``e^eps``, the most any event may differ under eps-LDP; the bars show the measured ratios with
4 standard errors.
"""

import matplotlib.pyplot as plt
import numpy as np

from sparsenum.privacy import duchi_randomizer

n, d, radius, epsilon = 100_000, 10, 1.0, 1.0
direction = np.ones(d) / np.sqrt(d)

norms = np.linspace(0.0, 2.0, 9)
means = []
for norm in norms:
    Z = duchi_randomizer(np.tile(norm * direction, (n, 1)), epsilon, radius, random_state=0)
    means.append(Z.mean(axis=0) @ direction)
means = np.array(means)

epsilons = np.array([0.25, 0.5, 1.0, 2.0, 3.0])
ratios, errors = [], []
for eps in epsilons:
    hits = [np.count_nonzero(duchi_randomizer(np.tile(sign * direction, (n, 1)), eps, radius,
                                              random_state=seed) @ direction > 0) / n
            for sign, seed in ((1.0, 1), (-1.0, 2))]
    ratios.append(hits[0] / hits[1])
    rel = np.sqrt(sum((1 - p) / (p * n) for p in hits))  # s.e. of the log-ratio
    errors.append(4 * rel * ratios[-1])

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.plot(norms, means, "o-", label="mean message along v")
left.plot(norms, np.minimum(norms, radius), "k--", label="min(||v||, r): clipped input")
left.set(xlabel="input norm ||v||  (r = 1)", ylabel="<mean of 1e5 messages, v/||v||>",
         title="bias: none inside the ball, clipping outside")
left.legend()
right.errorbar(epsilons, ratios, yerr=errors, fmt="o", label="measured P(+|v) / P(+|-v)")
grid = np.linspace(0.2, 3.1, 50)
right.plot(grid, np.exp(grid), "k--", label="e^eps")
right.set(xlabel="epsilon", ylabel="probability ratio", yscale="log",
          title="privacy ratio of opposite inputs")
right.legend()
fig.tight_layout()
plt.show()

print("mean message at norms 0, 0.5, 1, 2:", np.round(means[[0, 2, 4, 8]], 3))
print("measured ratios:", np.round(ratios, 2), " e^eps:", np.round(np.exp(epsilons), 2))
