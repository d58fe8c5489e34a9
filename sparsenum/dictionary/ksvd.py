"""K-SVD and approximate K-SVD dictionary learning on top of Batch-OMP."""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from ..base import ConvergenceHistory, SolverResult
from ..utils import check_bool, check_int, check_n_jobs, check_random_state, renamed_argument
from ..utils.progress import Progress
from . import _kernels
from ._scaling import power_of_two_scale, row_norms
from ._validation import check_memory, check_n_nonzero, check_signals, check_tol
from .omp import omp_padded, padded_to_csr

__all__ = ["KSVDResult", "ksvd"]

# Atoms closer than this (|cosine|) to an earlier atom are replaced, as in Rubinstein's K-SVD.
_DUPLICATE_COSINE = 0.99
# Atoms used by fewer signals than this are replaced too (Rubinstein's K-SVD uses 4): an atom
# stuck on a few signals usually means another atom is covering two true ones.
_MIN_USERS = 4
# An objective below this share of ||X||_F^2 is rounding noise (measured ~1.3 eps^2 after exact
# recovery): the fit is exact, and relative decreases of noise mean nothing.
_EXACT_FIT = 100.0 * float(np.finfo(float).eps) ** 2

@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class KSVDResult(SolverResult):
    """Result of :func:`ksvd`.

    Attributes
    ----------
    dictionary : ndarray of shape (n_components, n_features)
        Learned unit-norm atoms, one per row.
    codes : scipy.sparse.csr_matrix of shape (n_samples, n_components)
        Codes of the training signals after the last dictionary update, ``X ~= codes @ D``.
    objective : float
        Final :math:`\\|X - \\mathrm{codes}\\, D\\|_F^2`.
    n_replaced : int
        Unused atoms replaced over the whole run.
    converged, n_iter, history
        See :class:`~sparsenum.base.SolverResult`. One iteration is the replacement of
        unused atoms, one sparse-coding stage and one dictionary-update sweep; the history's
        objective is ``squared_residual`` (the objective after the sweep, that of the returned
        dictionary and codes in the last row), its criterion ``error_decrease``, the decrease
        of the objective over the iteration relative to :math:`\\|X\\|_F^2` (the decrease of
        the relative squared error; negative when it rose; the first iteration is measured
        from the empty codes), and it has the extra column ``replaced`` (atoms replaced at the
        start of the iteration).
    """

    dictionary: np.ndarray
    codes: sp.csr_matrix
    objective: float
    n_replaced: int


def _initial_dictionary(X, n_components, dict_init, rng):
    _n_samples, n_features = X.shape
    if dict_init is not None:
        D = check_signals(dict_init, "dict_init")
        if D.shape != (n_components, n_features):
            raise ValueError(f"dict_init must have shape (n_components, n_features) = "
                             f"{(n_components, n_features)}; got {D.shape}")
        D = D.copy()
    else:
        # distinct nonzero training signals, as in Rubinstein's K-SVD; random atoms if too few
        nonzero = np.flatnonzero(row_norms(X) > 0)
        take = rng.permutation(nonzero)[:n_components]
        D = np.empty((n_components, n_features))
        D[: take.size] = X[take]
        D[take.size:] = rng.standard_normal((n_components - take.size, n_features))
    norms = row_norms(D)
    zero = norms <= 0
    if np.any(zero):
        D[zero] = rng.standard_normal((int(zero.sum()), n_features))
        norms[zero] = row_norms(D[zero])
    return D / norms[:, None]


def _near_duplicates(D, threshold):
    """Atoms whose |cosine| with an earlier atom exceeds ``threshold`` (they waste a slot)."""
    G = np.abs(np.tril(D @ D.T, -1))
    return G.max(axis=1) > threshold if D.shape[0] > 1 else np.zeros(D.shape[0], bool)


def _replace_atoms(X, D, replace, errors):
    """Atoms in ``replace`` become the worst-represented signals (normalised), each used once."""
    atoms = np.flatnonzero(replace)
    if atoms.size == 0:
        return 0
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    candidates = np.argsort(-np.where(norms > 0, errors, -np.inf), kind="stable")
    candidates = candidates[norms[candidates] > 0][: atoms.size]
    for atom, signal in zip(atoms, candidates):
        D[atom] = X[signal] / norms[signal]
    return int(min(atoms.size, candidates.size))


def _update_atoms(X, D, codes, approximate):
    """One dictionary-update sweep in place on D and codes.val (supports are kept)."""
    ptr, rows, slots = _kernels.atom_users(codes.idx, codes.cnt, D.shape[0])
    if approximate:
        _kernels.ksvd_update_atoms_approximate(X, D, codes.idx, codes.val, codes.cnt, ptr, rows,
                                               slots, 1)
    else:
        # exact: leading singular pair of each atom's residual; LAPACK from Python keeps the
        # numba kernels small (an SVD inside numba costs long compilation)
        for atom in range(D.shape[0]):
            lo, hi = ptr[atom], ptr[atom + 1]
            if hi == lo:
                continue
            E = _kernels.atom_residual(X, D, codes.idx, codes.val, codes.cnt, rows, slots, lo,
                                       hi, atom)
            U, S, Vt = np.linalg.svd(E, full_matrices=False)
            if S[0] > 0:
                D[atom] = Vt[0]
                codes.val[rows[lo:hi], slots[lo:hi]] = S[0] * U[:, 0]


def ksvd(X, n_components=None, n_nonzero=None, *, max_iter=10, tol=1e-4, approximate=True,
         monotone=False, dict_init=None, random_state=None, n_jobs=None, verbose=0,
         callback=None, n_atoms=None) -> KSVDResult:
    r"""Learn a dictionary by K-SVD: min ||X - C D||_F^2 with at most ``n_nonzero`` per row of C.

    Alternates Batch-OMP sparse coding (:func:`batch_omp`'s kernel) with a sweep of rank-one
    atom updates. For atom :math:`d_k` with users :math:`\Omega_k` (the signals whose codes use
    it) and codes :math:`g`, the update fits the residual
    :math:`E_k = X_{\Omega_k} - C_{\Omega_k} D + g d_k^T` by a rank-one matrix
    :math:`g d_k^T`, keeping the supports fixed: exact K-SVD takes the leading singular pair of
    :math:`E_k`; approximate K-SVD (Rubinstein et al.) one alternating step
    :math:`d = E_k^T g / \|E_k^T g\|`, :math:`g = E_k d` without forming :math:`E_k`.
    Atoms used by no signal, by fewer than 4 signals, or within ``|cos| > 0.99`` of another
    atom are replaced by the worst-represented signals (normalised) before the next coding
    stage, as in Rubinstein's implementation; each replacement is counted in the history's
    ``replaced`` column.

    Each atom update is optimal given the rest, so the dictionary-update stage never increases
    the objective; the coding stage can, because OMP is greedy (measured: about 5% of the
    iterations on random data, by up to ~1%), and so can a replacement. With ``monotone=True``
    each signal keeps its previous code when OMP's new one represents it worse, which makes the
    objective non-increasing across iterations up to atom replacement, at the price of freezing
    supports earlier (worse atom recovery and slightly higher final error in our tests).

    The result does not depend on the scale of ``X``: extreme data are processed as
    ``X / 2**e`` (an exact rescaling) and the codes scaled back.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training signals, one per row.
    n_components : int, optional
        Number of atoms (rows of the dictionary), >= 1; default ``n_features``.
    n_nonzero : int, optional
        Nonzeros per code, ``1 <= n_nonzero <= min(n_components, n_features)``; default
        ``max(1, int(0.1 * n_features))`` (capped there), as scikit-learn's OMP.
    max_iter : int, default=10
        Maximum number of iterations.
    tol : float, default=1e-4
        Converged when the objective changes by less than ``tol * ||X||_F^2`` over an
        iteration in which no atom was replaced (the relative squared error
        :math:`\|X - CD\|_F^2 / \|X\|_F^2` changes by less than ``tol``), or when it is at
        rounding level (below ``100 eps**2 ||X||_F^2``: an exact fit).
    approximate : bool, default=True
        Approximate (one alternating step) or exact (SVD) atom updates.
    monotone : bool, default=False
        Keep a signal's previous code when re-coding would represent it worse (see above).
    dict_init : array-like of shape (n_components, n_features), optional
        Initial dictionary (rows normalised; zero rows replaced by random atoms). Default:
        distinct random training signals, normalised.
    random_state : None, int, RandomState or Generator
        Seeds the initial dictionary.
    n_jobs : int, optional
        Numba threads for sparse coding (``None``: one thread for small batches, see
        :func:`batch_omp`). The result does not depend on it.
    verbose : int or bool, default=0
        ``1``: a line when done; ``2``: a line per iteration.
    callback : callable, optional
        ``callback(iteration, state)`` after every iteration, ``state`` a read-only mapping of
        ``squared_residual``, ``error_decrease``, ``replaced`` and a copy of the current
        ``dictionary``; returning True stops (the result then holds that iteration's
        dictionary and codes).
    n_atoms : int, optional
        Former name of ``n_components`` (deprecated, removed in the next release).

    Returns
    -------
    result : KSVDResult

    Raises
    ------
    ValueError
        For non-finite ``X``, ``X`` so large that its squared norm overflows (divide it by a
        constant: the dictionary does not change and the codes scale with it), parameters out
        of range, or a dictionary too large for the memory.

    References
    ----------
    M. Aharon, M. Elad, A. Bruckstein, "K-SVD: An algorithm for designing overcomplete
    dictionaries for sparse representation", IEEE TSP 54(11), 2006.
    R. Rubinstein, M. Zibulevsky, M. Elad, "Efficient implementation of the K-SVD algorithm
    using batch orthogonal matching pursuit", Technion CS-2008-08, 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.dictionary import ksvd
    >>> X = np.random.default_rng(0).standard_normal((200, 8))
    >>> result = ksvd(X, n_components=16, n_nonzero=2, max_iter=5, monotone=True,
    ...               random_state=0)
    >>> result.dictionary.shape, result.codes.shape
    ((16, 8), (200, 16))
    >>> bool(np.all(np.diff(result.history.objective) <= 1e-9))
    True
    """
    n_components, name = renamed_argument(n_components, n_atoms, "n_components", "n_atoms",
                                          reason="as in scikit-learn", stacklevel=3)
    return fit_ksvd(X, n_components, n_nonzero, max_iter=max_iter, tol=tol,
                    approximate=approximate, monotone=monotone, dict_init=dict_init,
                    random_state=random_state, n_jobs=n_jobs, verbose=verbose,
                    callback=callback, components_name=name)


def fit_ksvd(X, n_components, n_nonzero, *, max_iter, tol, approximate, monotone, dict_init,
             random_state, n_jobs, verbose, callback, components_name) -> KSVDResult:
    """:func:`ksvd`, with the user's name for the number of atoms in error messages."""
    X = check_signals(X)
    n_samples, n_features = X.shape
    n_components = n_features if n_components is None else n_components
    n_components = check_int(n_components, components_name, low=1)
    if n_nonzero is None:
        n_nonzero = max(1, min(int(0.1 * n_features), n_components))
    n_nonzero = check_n_nonzero(n_nonzero, n_components, n_features, allow_none=False)
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = check_tol(tol) or 0.0
    approximate = check_bool(approximate, "approximate")
    monotone = check_bool(monotone, "monotone")
    n_jobs = check_n_jobs(n_jobs)
    progress = Progress("ksvd", verbose, callback)
    check_memory(8 * n_components * (n_components + n_features + 2 * n_samples),
                 components_name, n_components,
                 "the dictionary, its Gram matrix and the correlations")
    rng = random_state if isinstance(random_state, np.random.Generator) \
        else check_random_state(random_state)
    x_scale = check_objective_scale(X)
    X = X / x_scale if x_scale != 1.0 else X.copy()  # the kernels take writeable arrays
    D = _initial_dictionary(X, n_components, dict_init, rng)
    result = run_ksvd(X, D, n_nonzero, max_iter=max_iter, tol=tol, approximate=approximate,
                      monotone=monotone, n_jobs=n_jobs, progress=progress,
                      objective_scale=x_scale * x_scale)
    if x_scale != 1.0:
        codes = result.codes
        codes.data *= x_scale
        result = result.replace(codes=codes)
    return result


def unsettled_message(name, history, max_iter, tol, monotone) -> str:
    """An honest ConvergenceWarning text for a K-SVD run that did not settle."""
    decrease = history.criterion[-1]
    replaced = int(history["replaced"][-1])
    if not np.isfinite(decrease):
        change = "one iteration measures no change of the objective"
    elif decrease < 0:
        why = ["OMP coding is greedy"] if not monotone else []
        why += [f"{replaced} atoms were replaced"] if replaced else []
        change = (f"the relative squared error rose by {-decrease:.3g} in the last iteration "
                  f"({' and '.join(why) or 'atoms were replaced'})")
    else:
        change = f"the relative squared error fell by {decrease:.3g} in the last iteration"
        if replaced:
            change += f", in which {replaced} atoms were replaced"
    advice = "increase max_iter" + ("" if monotone or not decrease < 0 else
                                    ", or set monotone=True for a non-increasing objective")
    return (f"{name} did not settle in max_iter={max_iter} iterations: {change}, and it "
            f"converges when it changes by less than tol={tol:g} without replacements; "
            f"{advice}")


def check_objective_scale(X, name="X") -> float:
    """The power of two that X is divided by inside K-SVD; rejects an overflowing objective."""
    scale = power_of_two_scale(X)
    scaled = X / scale if scale != 1.0 else X
    total = float(np.einsum("ij,ij->", scaled, scaled))
    if not np.isfinite(total * scale * scale):
        raise ValueError(f"{name} is too large: its squared Frobenius norm, the K-SVD objective "
                         f"before fitting, overflows float64 (max |{name}| = "
                         f"{float(np.max(np.abs(X))):.3g}); divide {name} by a constant (the "
                         "dictionary does not change and the codes scale with it)")
    return scale


def run_ksvd(X, D, n_nonzero, *, max_iter, tol, approximate, monotone, n_jobs, progress,
             objective_scale=1.0) -> KSVDResult:
    """K-SVD on validated, writeable ``X`` and initial unit-norm ``D`` (modified in place).

    ``objective_scale`` converts the objective of ``X`` to that of the caller's data (a power
    of two: the caller divided its data by its square root).
    """
    n_samples, _ = X.shape
    n_components = D.shape[0]
    x_sqnorms = np.einsum("ij,ij->i", X, X)
    total = float(x_sqnorms.sum())
    exact_fit = _EXACT_FIT * total
    history = ConvergenceHistory(max_iter + 1, ("replaced",), criterion_name="error_decrease",
                                 objective_name="squared_residual",
                                 labels={"squared_residual": "objective ||X - C D||_F^2",
                                         "error_decrease": "decrease of ||X - C D||_F^2 / "
                                                           "||X||_F^2 per iteration"})
    old = codes = errors = None
    previous = total  # the objective of empty codes
    converged = False
    n_replaced = 0
    n_iter = 0
    objective = total
    for it in range(max_iter):
        n_iter = it + 1
        replaced = 0
        if codes is not None:
            # unused atoms change nothing in the objective; near-duplicates are still used, so
            # replacing them may raise this iteration's objective ("up to atom replacement")
            used = np.bincount(codes.idx[codes.val != 0], minlength=n_components)
            rare = (used < _MIN_USERS) & (n_samples >= _MIN_USERS * n_components)
            replace = (used == 0) | rare | _near_duplicates(D, _DUPLICATE_COSINE)
            replaced = _replace_atoms(X, D, replace, errors)
            n_replaced += replaced
        G = D @ D.T
        DX = X @ D.T
        codes = omp_padded(G, DX, x_sqnorms, n_nonzero, None, n_jobs)
        if monotone and old is not None and replaced == 0:
            # after a replacement the fresh atoms must be free to attract signals, so the
            # previous codes only compete when the dictionary changed by updates alone
            _kernels.keep_better_codes(G, DX, x_sqnorms, codes.idx, codes.val, codes.cnt,
                                       codes.err, old.idx, old.val, old.cnt)
        _update_atoms(X, D, codes, approximate)
        errors = _kernels.squared_residuals(X, D, codes.idx, codes.val, codes.cnt)
        objective = float(errors.sum())
        decrease = (previous - objective) / total if total > 0 else 0.0
        history.record(n_iter, objective * objective_scale, decrease, replaced=replaced)
        old = codes
        stop = progress.active and progress.update(
            n_iter, {"squared_residual": objective * objective_scale,
                     "error_decrease": decrease, "replaced": replaced},
            details=lambda: {"dictionary": D.copy()})
        if objective <= exact_fit or (replaced == 0 and abs(decrease) < tol):
            converged = True
            break
        if stop:
            break
        previous = objective
    progress.finish(f"{'converged' if converged else 'stopped'} after {n_iter} iterations, "
                    f"squared_residual={objective * objective_scale:.6g}, "
                    f"{n_replaced} atoms replaced")
    return KSVDResult(converged=converged, n_iter=n_iter, history=history, dictionary=D,
                      codes=padded_to_csr(old.idx, old.val, old.cnt, n_components),
                      objective=objective * objective_scale, n_replaced=n_replaced)
