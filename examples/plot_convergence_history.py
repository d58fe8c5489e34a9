"""
Reading and plotting a convergence history
==========================================

Every sparsenum solver returns a result whose ``history`` is a
:class:`~sparsenum.base.ConvergenceHistory`: one row per iteration with the elapsed time, the
objective and the named stopping criterion, plus solver-specific columns. This example records
one for a small hand-written solver (power iteration for the top eigenvalue of a symmetric
matrix, checked against LAPACK) to show the API every module shares.
"""

import matplotlib.pyplot as plt
import numpy as np

from sparsenum.base import ConvergenceHistory

rng = np.random.default_rng(0)
Q, _ = np.linalg.qr(rng.standard_normal((200, 200)))
eigenvalues = np.linspace(1.0, 2.0, 200)
A = (Q * eigenvalues) @ Q.T
reference = np.linalg.eigvalsh(A)[-1]  # LAPACK

history = ConvergenceHistory(capacity=200, extra=("rayleigh",), criterion_name="residual")
v = rng.standard_normal(200)
v /= np.linalg.norm(v)
for k in range(200):
    w = A @ v
    rayleigh = v @ w
    residual = np.linalg.norm(w - rayleigh * v)
    history.record(k, objective=abs(rayleigh - reference), criterion=residual, rayleigh=rayleigh)
    if residual < 1e-10:
        break
    v = w / np.linalg.norm(w)

print(history)
print(f"eigenvalue error against LAPACK: {abs(history['rayleigh'][-1] - reference):.2e}")

# %%
# The columns convert to a mapping (``pandas.DataFrame(history.as_dict())`` works), and
# ``plot`` draws any column against iterations or seconds.
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
history.plot(ax=axes[0], label="residual")
history.plot(ax=axes[0], y="objective", label="|eigenvalue error|")
axes[0].legend()
history.plot(ax=axes[1], x="time")
fig.tight_layout()
plt.show()
