"""K-SVD and approximate K-SVD dictionary learning on top of Batch-OMP."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse as sp

from sparsenum.base import ConvergenceHistory, SolverResult
from sparsenum.utils import check_int, check_n_jobs, check_random_state

from . import _kernels
from ._checks import check_n_nonzero, check_signals, padded_to_csr
from .omp import omp_padded

__all__ = ["KSVDResult", "ksvd"]

# Atoms closer than this (|cosine|) to an earlier atom are replaced, as in Rubinstein's K-SVD.
_DUPLICATE_COSINE = 0.99
# Atoms used by fewer signals than this are replaced too (Rubinstein's K-SVD uses 4): an atom
# stuck on a few signals usually means another atom is covering two true ones.
_MIN_USERS = 4



@dataclasses.dataclass(frozen=True, kw_only=True, repr=False)
class KSVDResult(SolverResult):
    """Result of :func:`ksvd`.

    Attributes
    ----------
    dictionary : ndarray of shape (n_atoms, n_features)
        Learned unit-norm atoms, one per row.
    codes : scipy.sparse.csr_matrix of shape (n_samples, n_atoms)
        Codes of the training signals after the last dictionary update, ``X ~= codes @ D``.
    objective : float
        Final :math:`\\|X - \\mathrm{codes}\\, D\\|_F^2`.
    n_replaced : int
        Unused atoms replaced over the whole run.
    converged, n_iter, history
        See :class:`~sparsenum.base.SolverResult`. One iteration is one sparse-coding stage
        plus one dictionary-update sweep; the history's objective is
        ``squared_residual`` (the objective after the sweep), its criterion
        ``relative_decrease`` of that objective, and it has the extra columns
        ``coding_time``, ``update_time`` (seconds) and ``replaced`` (atoms replaced).
    """

    dictionary: np.ndarray
    codes: sp.csr_matrix
    objective: float
    n_replaced: int


def _initial_dictionary(X, n_atoms, dict_init, rng):
    _n_samples, n_features = X.shape
    if dict_init is not None:
        D = check_signals(dict_init, "dict_init")
        if D.shape != (n_atoms, n_features):
            raise ValueError(f"dict_init must have shape (n_atoms, n_features) = "
                             f"{(n_atoms, n_features)}; got {D.shape}")
        D = D.copy()
    else:
        # distinct nonzero training signals, as in Rubinstein's K-SVD; random atoms if too few
        nonzero = np.flatnonzero(np.einsum("ij,ij->i", X, X) > 0)
        take = rng.permutation(nonzero)[:n_atoms]
        D = np.empty((n_atoms, n_features))
        D[: take.size] = X[take]
        D[take.size:] = rng.standard_normal((n_atoms - take.size, n_features))
    norms = np.linalg.norm(D, axis=1)
    zero = norms <= 0
    if np.any(zero):
        D[zero] = rng.standard_normal((int(zero.sum()), n_features))
        norms[zero] = np.linalg.norm(D[zero], axis=1)
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
    """One dictionary-update sweep in place on D and codes.val; returns the unused-atom mask."""
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
    return np.diff(ptr) == 0


def ksvd(X, n_atoms, n_nonzero, *, max_iter=10, tol=1e-4, approximate=True, monotone=False,
         dict_init=None, random_state=None, n_jobs=None) -> KSVDResult:
    r"""Learn a dictionary by K-SVD: min ||X - C D||_F^2 with at most ``n_nonzero`` per row of C.

    Alternates Batch-OMP sparse coding (:func:`batch_omp`'s kernel) with a sweep of rank-one
    atom updates. For atom :math:`d_k` with users :math:`\Omega_k` (the signals whose codes use
    it) and codes :math:`g`, the update fits the residual
    :math:`E_k = X_{\Omega_k} - C_{\Omega_k} D + g d_k^T` by a rank-one matrix
    :math:`g d_k^T`, keeping the supports fixed: exact K-SVD takes the leading singular pair of
    :math:`E_k`; approximate K-SVD (Rubinstein et al.) one alternating step
    :math:`d = E_k^T g / \|E_k^T g\|`, :math:`g = E_k d` without forming :math:`E_k`.
    Atoms used by no signal, by fewer than 4 signals, or within ``|cos| > 0.99`` of another
    atom are replaced by the worst-represented signals (normalised), as in Rubinstein's
    implementation; each replacement is counted in the history's ``replaced`` column.

    Each atom update is optimal given the rest, so the dictionary-update stage never increases
    the objective; the coding stage can, because OMP is greedy (measured: about 5% of the
    iterations on random data, by up to ~1%). With ``monotone=True`` each signal keeps its
    previous code when OMP's new one represents it worse, which makes the objective
    non-increasing across iterations up to atom replacement, at the price of freezing supports
    earlier (worse atom recovery and slightly higher final error in our tests).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training signals, one per row.
    n_atoms : int
        Number of atoms (rows of the dictionary), >= 1.
    n_nonzero : int
        Nonzeros per code, ``1 <= n_nonzero <= min(n_atoms, n_features)``.
    max_iter : int, default=10
        Maximum number of iterations (coding + update).
    tol : float, default=1e-4
        Stop when the objective's relative decrease over one iteration is below ``tol``.
    approximate : bool, default=True
        Approximate (one alternating step) or exact (SVD) atom updates.
    monotone : bool, default=False
        Keep a signal's previous code when re-coding would represent it worse (see above).
    dict_init : array-like of shape (n_atoms, n_features), optional
        Initial dictionary (rows normalised; zero rows replaced by random atoms). Default:
        distinct random training signals, normalised.
    random_state : None, int, RandomState or Generator
        Seeds the initial dictionary.
    n_jobs : int, optional
        Numba threads for sparse coding.

    Returns
    -------
    result : KSVDResult

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
    >>> result = ksvd(X, n_atoms=16, n_nonzero=2, max_iter=5, monotone=True, random_state=0)
    >>> result.dictionary.shape, result.codes.shape
    ((16, 8), (200, 16))
    >>> bool(np.all(np.diff(result.history.objective) <= 1e-9))
    True
    """
    X = check_signals(X)
    if not X.flags.writeable:  # one kernel signature: read-only inputs would compile again
        X = X.copy()
    n_samples, n_features = X.shape
    n_atoms = check_int(n_atoms, "n_atoms", low=1)
    n_nonzero = check_n_nonzero(n_nonzero, n_atoms, n_features, allow_none=False)
    max_iter = check_int(max_iter, "max_iter", low=1)
    tol = float(tol) if tol is not None else 0.0
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0; got {tol!r}")
    for name, flag in (("approximate", approximate), ("monotone", monotone)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool; got {flag!r}")
    n_jobs = check_n_jobs(n_jobs)
    rng = check_random_state(random_state) if not isinstance(random_state, np.random.Generator) \
        else random_state
    D = _initial_dictionary(X, n_atoms, dict_init, rng)

    x_sqnorms = np.einsum("ij,ij->i", X, X)
    history = ConvergenceHistory(max_iter + 1, ("coding_time", "update_time", "replaced"),
                                 criterion_name="relative_decrease",
                                 objective_name="squared_residual")
    old = None
    previous = np.inf
    converged = False
    n_replaced = 0
    n_iter = 0
    replaced_before = 0
    for it in range(max_iter):
        n_iter = it + 1
        start = time.perf_counter()
        G = D @ D.T
        DX = X @ D.T
        codes = omp_padded(G, DX, x_sqnorms, n_nonzero, None, n_jobs)
        if monotone and old is not None and replaced_before == 0:
            # after a replacement the fresh atoms must be free to attract signals, so the
            # previous codes only compete when the dictionary changed by updates alone
            _kernels.keep_better_codes(G, DX, x_sqnorms, codes.idx, codes.val, codes.cnt,
                                       codes.err, old.idx, old.val, old.cnt)
        coding_time = time.perf_counter() - start
        start = time.perf_counter()
        unused = _update_atoms(X, D, codes, bool(approximate))
        errors = _kernels.squared_residuals(X, D, codes.idx, codes.val, codes.cnt)
        objective = float(errors.sum())
        # unused atoms change nothing in the objective; near-duplicates are still used, so
        # replacing them may raise the next iteration's objective ("up to atom replacement")
        rare = np.bincount(codes.idx[codes.val != 0], minlength=n_atoms) < _MIN_USERS
        rare &= n_samples >= _MIN_USERS * n_atoms  # only when there are signals to spare
        replace = unused | rare | _near_duplicates(D, _DUPLICATE_COSINE)
        replaced = _replace_atoms(X, D, replace, errors)
        n_replaced += replaced
        update_time = time.perf_counter() - start
        decrease = (previous - objective) / previous if np.isfinite(previous) and previous > 0 \
            else np.nan
        history.record(it + 1, objective, decrease, coding_time=coding_time,
                       update_time=update_time, replaced=replaced)
        old = codes
        settled = replaced_before == 0 and np.isfinite(decrease) and 0 <= decrease < tol
        if objective == 0.0 or settled:
            converged = True
            break
        previous = objective
        replaced_before = replaced
    return KSVDResult(converged=converged, n_iter=n_iter, history=history, dictionary=D,
                      codes=padded_to_csr(old.idx, old.val, old.cnt, n_atoms),
                      objective=objective, n_replaced=n_replaced)
