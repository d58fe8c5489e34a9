"""
Image patch dictionary and denoising with K-SVD
===============================================

Learn a dictionary of 8x8 patches from the clean left half of scikit-learn's ``china.jpg``
with :class:`sparsenum.dictionary.KSVD`, then denoise the noisy right half by coding every
overlapping patch with :func:`sparsenum.dictionary.batch_omp` up to the noise level and
averaging the reconstructed patches (the recipe of scikit-learn's image-denoising example,
with K-SVD and a residual tolerance instead of a fixed sparsity).
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.image import extract_patches_2d, reconstruct_from_patches_2d

from sparsenum.dictionary import KSVD, batch_omp

rng = np.random.default_rng(0)
image = load_sample_image("china.jpg").mean(axis=2)[::4, ::4] / 255.0
height, width = image.shape
sigma = 0.075
noisy = image.copy()
noisy[:, width // 2:] += sigma * rng.standard_normal((height, width - width // 2))

# %%
# Learn the dictionary on clean patches (mean removed)
train = extract_patches_2d(image[:, : width // 2], (8, 8), max_patches=4000, random_state=0)
train = train.reshape(len(train), -1)
train -= train.mean(axis=1, keepdims=True)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    model = KSVD(n_components=128, n_nonzero=4, max_iter=10, random_state=0).fit(train)
print(f"K-SVD: {model.n_iter_} iterations in {time.perf_counter() - start:.2f} s")

fig, axes = plt.subplots(8, 16, figsize=(8, 4.2))
for atom, ax in zip(model.dictionary_, axes.ravel()):
    ax.imshow(atom.reshape(8, 8), cmap="gray", interpolation="nearest")
    ax.set_axis_off()
fig.suptitle("128 K-SVD atoms of 8x8 patches")

# %%
# Denoise: code each noisy patch until its residual is at the noise level
right = noisy[:, width // 2:]
patches = extract_patches_2d(right, (8, 8))
flat = patches.reshape(len(patches), -1)
means = flat.mean(axis=1, keepdims=True)
start = time.perf_counter()
codes = batch_omp(flat - means, model.dictionary_, tol=1.15 * 64 * sigma**2, n_nonzero=16)
print(f"batch_omp: {len(flat)} patches in {time.perf_counter() - start:.2f} s, "
      f"{codes.nnz / len(flat):.2f} atoms per patch")
denoised_patches = (codes @ model.dictionary_ + means).reshape(patches.shape)
denoised = reconstruct_from_patches_2d(denoised_patches, right.shape)

clean = image[:, width // 2:]
def psnr(estimate):
    return 10 * np.log10(1.0 / np.mean((estimate - clean) ** 2))


fig, axes = plt.subplots(1, 3, figsize=(9, 3.6))
for ax, picture, title in zip(axes, (clean, right, denoised),
                              ("clean", f"noisy, PSNR {psnr(right):.1f} dB",
                               f"denoised, PSNR {psnr(denoised):.1f} dB")):
    ax.imshow(picture, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_axis_off()
fig.tight_layout()

# %%
# The K-SVD objective per iteration
ax = model.history_.plot(y="squared_residual")
ax.set_title("K-SVD training objective")
plt.show()
