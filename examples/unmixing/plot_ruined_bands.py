"""
Unmixing a scene with ruined bands
==================================

A 40 x 40 scene mixes five real reflectance spectra (a vegetation canopy, soil, leaf litter,
roof paint and char, from earthlib's spectral library; they ship with sparsenum) with
Dirichlet(0.5) abundances and 30 dB noise, and 18 of its 180 bands are ruined: they hold a tenth
of the signal plus large positive noise, as a dead detector row or a saturated absorption band
would.

A squared loss lets those bands steer the endmembers; :class:`~sparsenum.unmixing.RobustUnmixing`
measures the misfit with the l2,1 norm over bands, starts from noise-whitened VCA, and learns
which bands to trust (``band_weights_``) and which pixels to push towards pure abundances
(``guidance_``).
"""

import matplotlib.pyplot as plt
import numpy as np

from sparsenum.unmixing import (
    RobustUnmixing,
    abundance_rmse,
    load_spectra,
    make_scene,
    match_endmembers,
    rrlbs,
)

spectra, wavelengths, names = load_spectra()
scene = make_scene(spectra, shape=(40, 40), snr_db=30, ruined_fraction=0.1, random_state=0)
intact = np.setdiff1d(np.arange(spectra.shape[1]), scene.ruined)

model = RobustUnmixing(n_endmembers=5, random_state=0).fit(scene.X)
# the same model with a squared loss, no guidance and a plain VCA start: L1/2-NMF's model
plain = rrlbs(scene.X, 5, loss="l2", guided=False, init="vca", random_state=0)

for label, E, A in (("RobustUnmixing", model.endmembers_, model.abundances_),
                    ("squared loss, VCA start", plain.endmembers, plain.abundances)):
    order, angles = match_endmembers(spectra[:, intact], E[:, intact])
    print(f"{label:24s} SAD {angles.mean():.3f} rad, abundance RMSE "
          f"{abundance_rmse(scene.abundances, A, order):.3f}")

# %%
# Abundance maps
# --------------
# True maps (top) and the learnt ones (bottom), matched to the true endmembers.
order, _ = match_endmembers(spectra[:, intact], model.endmembers_[:, intact])
fig, axes = plt.subplots(2, 5, figsize=(11, 4.6))
for k in range(5):
    axes[0, k].imshow(scene.abundances[..., k], vmin=0, vmax=1, cmap="viridis")
    axes[0, k].set_title(names[k].replace("_", " "), fontsize=9)
    axes[1, k].imshow(model.abundances_[..., order[k]], vmin=0, vmax=1, cmap="viridis")
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("truth")
axes[1, 0].set_ylabel("RobustUnmixing")
fig.tight_layout()

# %%
# Band weights and guidance map
# -----------------------------
# The weight of a band is the inverse of its residual norm: the ruined bands (red) get the
# smallest. The guidance map is largest on nearly pure pixels, whose abundances the sparsity
# term pushes hardest, and near zero on the most mixed ones.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), width_ratios=(2, 1))
ax1.semilogy(wavelengths, model.band_weights_, ".", color="0.3", label="intact band")
ax1.semilogy(wavelengths[scene.ruined], model.band_weights_[scene.ruined], "o", color="C3",
             label="ruined band")
ax1.set(xlabel="wavelength [nm]", ylabel="learnt band weight (mean 1)")
ax1.legend()
image = ax2.imshow(model.guidance_, cmap="magma")
ax2.set(title="guidance map h", xticks=[], yticks=[])
fig.colorbar(image, ax=ax2, shrink=0.8)
fig.tight_layout()

# %%
# Endmembers
# ----------
# The learnt spectra against the true ones; on ruined bands the endmembers fit whatever those
# bands hold, which is why accuracy is measured on the intact bands.
fig, axes = plt.subplots(1, 5, figsize=(12, 2.8), sharey=True)
for k in range(5):
    axes[k].plot(wavelengths, spectra[k], color="k", lw=1, label="true")
    learnt = np.where(np.isin(np.arange(180), scene.ruined), np.nan, model.endmembers_[order[k]])
    axes[k].plot(wavelengths, learnt, color="C0", lw=1, label="learnt")
    axes[k].set_title(names[k].replace("_", " "), fontsize=9)
    axes[k].set_xlabel("nm")
axes[0].legend(fontsize=8)
fig.tight_layout()

# %%
# Convergence
# -----------
# Every iteration lowers the objective (a block descent whose abundance step majorises the
# l2,1 term and the concave penalty); the run stops when the relative decrease falls below
# ``tol``.
ax = model.history_.plot(y="objective", logy=False)
ax.set_title(f"{model.n_iter_} iterations")
plt.show()
