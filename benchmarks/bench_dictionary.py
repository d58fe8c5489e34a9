"""Dictionary learning benchmark: Batch-OMP, K-SVD and CoSpaDi against their peers.

Data: 8x8 grayscale patches of scikit-learn's bundled ``china.jpg`` (mean removed per patch),
as in scikit-learn's image-denoising example; layer-like matrices with power-law spectra and
correlated activations for the compression part.

* sparse coding: ``batch_omp`` vs ``sklearn.linear_model.orthogonal_mp_gram`` on the same
  Gram matrix and ``spams.omp`` if installed (overcomplete separable DCT dictionaries with 64
  and 256 atoms), relative reconstruction error recomputed from each solver's codes;
* dictionary learning: ``ksvd`` (approximate and exact) vs ``DictionaryLearning``,
  ``MiniBatchDictionaryLearning`` and the ``ksvd`` package's ``ApproximateKSVD`` if installed;
  time per iteration (ours split into coding and update) and the relative error of every
  learned dictionary when coded the same way (Batch-OMP, same sparsity) on the patches;
* compression: CoSpaDi vs whitened truncated SVD (SVD-LLM style) at ratios 0.2-0.5, relative
  activation error on held-out activations.

* small inputs (``--small`` alone): every public function and estimator method with ``n_jobs``
  on 1 to 1,000 signals, the default ``n_jobs=None`` against ``n_jobs=1`` with numba's default
  thread count: small calls in a user's loop must run at serial speed.

Run: ``python -m benchmarks.bench_dictionary [--quick | --small]``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.datasets import load_sample_image
from sklearn.decomposition import DictionaryLearning, MiniBatchDictionaryLearning
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.image import extract_patches_2d
from sklearn.linear_model import orthogonal_mp_gram

from benchmarks._harness import (
    SMALL_NOTES,
    BenchmarkReport,
    blas_threads,
    default_against_serial,
    parse_args,
    time_call,
)
from sparsenum.dictionary import (
    KSVD,
    CalibratedDictionaryCompressor,
    batch_omp,
    compress_layer,
    ksvd,
)
from sparsenum.dictionary._cases import layer_like_problem
from sparsenum.utils import numba_threads

try:  # optional peers, not dependencies of sparsenum (pip install spams-bin ksvd)
    import spams
except ImportError:  # pragma: no cover
    spams = None
try:
    from ksvd import ApproximateKSVD
except ImportError:  # pragma: no cover
    ApproximateKSVD = None


def patches(n: int, seed: int = 0) -> np.ndarray:
    image = load_sample_image("china.jpg").mean(axis=2) / 255.0
    P = extract_patches_2d(image, (8, 8), max_patches=n, random_state=seed).reshape(n, -1)
    return P - P.mean(axis=1, keepdims=True)


def dct_dictionary(n_atoms: int) -> np.ndarray:
    """Separable overcomplete DCT dictionary for 8x8 patches, atoms as unit-norm rows."""
    m = round(float(np.sqrt(n_atoms)))
    basis = np.cos(np.outer(np.arange(8), np.arange(m)) * np.pi / m)
    basis[:, 1:] -= basis[:, 1:].mean(axis=0)
    basis /= np.linalg.norm(basis, axis=0)
    D = np.kron(basis, basis).T
    return D / np.linalg.norm(D, axis=1, keepdims=True)


def relative_error(X, codes, D) -> float:
    return float(np.linalg.norm(X - codes @ D) / np.linalg.norm(X))


def bench_omp(report, args):
    X_all = patches(10_000)
    sparsities = (1, 4, 8) if args.quick else tuple(range(1, 9))
    for n_atoms in (64, 256):
        D = dct_dictionary(n_atoms)
        G = D @ D.T
        for s in sparsities:
            # --quick: the headline problem (10000 signals, 256 atoms, s=8) at full size,
            # the other settings on 2000 signals (sklearn needs seconds per setting)
            target = n_atoms == 256 and s == 8
            X = X_all if target or not args.quick else X_all[:2000]
            problem = f"OMP {X.shape[0]}x64, {n_atoms} atoms, s={s}"
            ours = time_call(batch_omp, X, D, n_nonzero=s, repeats=args.repeats)
            report.add(problem, "batch_omp", ours, ours=True,
                       rel_error=relative_error(X, ours.result, D))
            peer = time_call(_sklearn_omp, G, D, X, s, warmup=False)
            report.add(problem, "sklearn orthogonal_mp_gram", peer,
                       rel_error=relative_error(X, peer.result, D),
                       max_coef_diff=float(np.abs(ours.result.toarray() - peer.result).max()))
            if spams is not None:
                Xf, Df = np.asfortranarray(X.T), np.asfortranarray(D.T)
                peer = time_call(lambda Xf=Xf, Df=Df, s=s: spams.omp(
                    Xf, Df, L=s, numThreads=args.threads).T, repeats=args.repeats)
                report.add(problem, "spams.omp", peer, rel_error=relative_error(X, peer.result, D))


def _sklearn_omp(G, D, X, s):
    return orthogonal_mp_gram(G, D @ X.T, n_nonzero_coefs=s).T


def bench_learning(report, args):
    n = 800 if args.quick else 10_000
    X = patches(n, seed=1)
    s = 4
    iters = 5 if args.quick else 15
    peer_iters = 1 if args.quick else iters  # sklearn's learners take seconds per iteration
    for n_atoms in (64, 256):
        problem = f"DL {n}x64, {n_atoms} atoms, s={s}"
        for approximate in (True, False):
            name = "ksvd (approximate)" if approximate else "ksvd (exact)"
            timing = time_call(ksvd, X, n_atoms, s, max_iter=iters, tol=0.0,
                               approximate=approximate, random_state=0, warmup=False)
            if approximate:  # the first call compiled; time a warm run
                timing = time_call(ksvd, X, n_atoms, s, max_iter=iters, tol=0.0,
                                   approximate=approximate, random_state=0, repeats=1)
            result = timing.result
            history = result.history
            per_iter = timing.median / result.n_iter
            # one coding stage is a batch OMP of X on the current dictionary: time it apart
            coding = time_call(batch_omp, X, result.dictionary, n_nonzero=s, repeats=3)
            codes = coding.result
            report.add(problem, name, per_iter, n_iter=result.n_iter, ours=approximate,
                       rel_error=relative_error(X, codes, result.dictionary),
                       coding_s=coding.median, update_s=per_iter - coding.median)
            report.add_curve(f"ksvd {n_atoms} atoms", name, history.elapsed,
                             np.sqrt(history.objective) / np.linalg.norm(X),
                             ylabel="relative error")
        peers = {
            "sklearn DictionaryLearning": DictionaryLearning(
                n_components=n_atoms, alpha=0.1, max_iter=peer_iters, tol=0.0,
                transform_algorithm="omp", transform_n_nonzero_coefs=s, random_state=0),
            "sklearn MiniBatchDictionaryLearning": MiniBatchDictionaryLearning(
                n_components=n_atoms, alpha=0.1, max_iter=peer_iters, batch_size=256,
                transform_algorithm="omp", transform_n_nonzero_coefs=s, random_state=0),
        }
        if ApproximateKSVD is not None:
            peers["ksvd package ApproximateKSVD"] = ApproximateKSVD(
                n_components=n_atoms, max_iter=peer_iters, tol=0.0, transform_n_nonzero_coefs=s)
        for name, model in peers.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    timing = time_call(model.fit, X, warmup=False)
            except Exception as exc:  # a peer's own failure is reported, not fatal
                report.notes += f" {name} failed on '{problem}': {type(exc).__name__}: {exc}."
                print(f"  {problem} | {name}: failed ({exc})")
                continue
            D = model.components_ / np.linalg.norm(model.components_, axis=1, keepdims=True)
            codes = batch_omp(X, D, n_nonzero=s)
            n_iter = int(getattr(model, "n_iter_", peer_iters))
            report.add(problem, name, timing.median / n_iter, n_iter=n_iter,
                       rel_error=relative_error(X, codes, D))


def bench_compression(report, args):
    rng = np.random.default_rng(0)
    d_in, d_out = (128, 192) if args.quick else (512, 768)
    n_tokens = 4 * d_in
    W, X = layer_like_problem(d_in, d_out, 2 * n_tokens, rng)
    X_fit, X_test = X[:n_tokens], X[n_tokens:]
    target = X_test @ W
    errors = {"cospadi": [], "whitened svd": []}
    ratios = (0.2, 0.3, 0.4, 0.5)
    for ratio in ratios:
        problem = f"compress {d_in}x{d_out}, ratio {ratio}"
        for method, label in (("cospadi", "cospadi"), ("svd", "whitened svd")):
            timing = time_call(compress_layer, W, X_fit, compression_ratio=ratio,
                               method=method, max_iter=20 if args.quick else 60,
                               random_state=0, warmup=False)
            result = timing.result
            error = float(np.linalg.norm(target - result.layer.matmul(X_test))
                          / np.linalg.norm(target))
            errors[label].append(error)
            report.add(problem, label, timing, n_iter=result.n_iter, ours=method == "cospadi",
                       achieved_ratio=result.compression_ratio, activation_error=error)
    for label, values in errors.items():
        report.add_curve("compression", label, ratios, values, xlabel="compression ratio",
                         ylabel="held-out activation error")


def small_cases():
    """(problem, call(n_jobs)) for every public function and estimator method with n_jobs."""
    rng = np.random.default_rng(0)
    for n_atoms, n_features, s in ((20, 8, 3), (256, 64, 8)):
        D = rng.standard_normal((n_atoms, n_features))
        D /= np.linalg.norm(D, axis=1, keepdims=True)
        for n in (1, 10, 100, 1000):
            X = rng.standard_normal((n, n_features))
            yield (f"batch_omp {n} signals, {n_atoms} atoms of {n_features}, s={s}",
                   lambda j, X=X, D=D, s=s: batch_omp(X, D, n_nonzero=s, n_jobs=j))
    for n in (10, 100, 1000):
        X = patches(n, seed=2)
        yield (f"ksvd {n}x64, 32 atoms, s=4, 5 it",
               lambda j, X=X: ksvd(X, 32, 4, max_iter=5, tol=0.0, random_state=0, n_jobs=j))
        yield (f"KSVD.fit {n}x64, 32 atoms, s=4, 5 it",
               lambda j, X=X: _quiet_fit(KSVD(32, 4, max_iter=5, tol=0.0, random_state=0,
                                              n_jobs=j), X))
        model = _quiet_fit(KSVD(32, 4, max_iter=5, tol=0.0, random_state=0), X)
        yield (f"KSVD.transform {n}x64, 32 atoms, s=4",
               lambda j, X=X, model=model: model.set_params(n_jobs=j).transform(X))
    for d_in, d_out in ((16, 24), (64, 96)):
        W, Xc = layer_like_problem(d_in, d_out, 4 * d_in, rng)
        yield (f"compress_layer {d_in}x{d_out}, ratio 0.3, 10 it",
               lambda j, W=W, Xc=Xc: compress_layer(W, Xc, max_iter=10, random_state=0,
                                                    n_jobs=j))
        yield (f"CalibratedDictionaryCompressor.fit {d_in}x{d_out}, 10 it",
               lambda j, W=W, Xc=Xc: _quiet_fit(CalibratedDictionaryCompressor(
                   max_iter=10, random_state=0, n_jobs=j), W, Xc))


def _quiet_fit(model, *data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(*data)


def run_small(report, repeats):
    """Default n_jobs=None against n_jobs=1 on 1 to 1,000 signals (target: within 1.2x)."""
    default_against_serial(report, small_cases(), repeats)


def main(argv=None):
    def extra(parser):
        parser.add_argument("--small", action="store_true",
                            help="only the small-input table (default n_jobs against "
                                 "n_jobs=1); writes results/dictionary_small.json")

    args = parse_args(__doc__.splitlines()[0], argv, extra=extra)
    notes = ("Times of dictionary learners are per iteration (sklearn: per epoch for the "
             "mini-batch learner); rel_error codes every learned dictionary by Batch-OMP at the "
             "same sparsity. Activation errors are on held-out activations.")
    # The products here are small: on a shared 2-core machine multi-threaded OpenBLAS slowed a
    # 128x192 SVD a hundredfold, so everything (BLAS and numba) runs single-threaded unless
    # --threads says otherwise.
    if args.threads is None:
        args.threads = 1
    notes += f" BLAS and numba threads: {args.threads}."
    if args.small:
        report = BenchmarkReport("dictionary_small", args,
                                 notes=SMALL_NOTES.format(max(args.repeats, 40), args.threads))
        with blas_threads(args.threads), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            run_small(report, max(args.repeats, 40))
        report.finish()
        return
    report = BenchmarkReport("dictionary", args, notes=notes)
    with blas_threads(args.threads), numba_threads(args.threads), warnings.catch_warnings():
        # the overcomplete DCT dictionary has linearly dependent atoms: every OMP warns alike
        warnings.simplefilter("ignore", RuntimeWarning)
        bench_omp(report, args)
        bench_learning(report, args)
        bench_compression(report, args)
    with blas_threads(args.threads), warnings.catch_warnings():  # numba: default threads
        warnings.simplefilter("ignore", RuntimeWarning)
        run_small(report, max(args.repeats, 40))
    report.finish()


if __name__ == "__main__":
    main()
