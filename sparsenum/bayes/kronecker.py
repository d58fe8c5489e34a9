"""KroSBL: sparse Bayesian learning with a Kronecker-structured design and prior.

``A = A_1 kron ... kron A_D`` and ``gamma = gamma_1 kron ... kron gamma_D`` (He and Joseph). The
E-step needs only the eigendecompositions of the small ``A_m Gamma_m A_m^H = U_m P_m U_m^H``:
with ``p = p_1 kron ... kron p_D`` and ``G_m = Gamma_m A_m^H U_m``,

    mu = (G_1 kron ... kron G_D) (U_1 kron ... kron U_D)^H y / (sigma^2 + p),
    diag Sigma = gamma - (|G_1|^2 kron ... kron |G_D|^2) (1 / (sigma^2 + p)),

each a sequence of mode products on a D-way tensor; ``A`` and ``Sigma`` are never formed.
"""

from __future__ import annotations

import numpy as np

from ..base import ConvergenceHistory
from ..utils import check_int, check_one_of, check_scalar
from ._kernels import mode_product
from ._posterior import blas_threads_for, negative_log_evidence
from ._result import KroneckerSBLResult
from ._validation import check_callback, check_factors, check_noise_var, check_verbose
from .sbl import HISTORY_LABELS, TUNING, relative_change, zero_data_result

__all__ = ["kronecker_sbl"]

# factor entries below this fraction of the factor's largest are pruned (the paper's values)
_PRUNE = {"am": 1e-2, "svd": 1e-3}


def _modes(tensor: np.ndarray, mats) -> np.ndarray:
    """``tensor`` multiplied along each axis ``m`` by ``mats[m]`` (``None`` skips an axis)."""
    out = tensor
    for axis, mat in enumerate(mats):
        if mat is None:
            continue
        shape = out.shape
        left = int(np.prod(shape[:axis]))
        right = int(np.prod(shape[axis + 1:]))
        mat = np.ascontiguousarray(mat, dtype=out.dtype)
        out = mode_product(out.reshape(left, shape[axis], right), mat)
        out = out.reshape((*shape[:axis], mat.shape[0], *shape[axis + 1:]))
    return out


def _outer(vectors) -> np.ndarray:
    """The D-way outer product of ``vectors`` (a Kronecker product, as a tensor)."""
    out = np.ones(())
    for v in vectors:
        out = np.multiply.outer(out, v)
    return out


class _KronEStep:
    """Gaussian E-step for the active entries ``idx[m]`` of each factor."""

    def __init__(self, factors, y_tensor, gammas, idx, noise_var):
        self.subs = [f[:, i] for f, i in zip(factors, idx)]
        self.gam = [g[i] for g, i in zip(gammas, idx)]
        eig, self.G, self.U = [], [], []
        for Am, gm in zip(self.subs, self.gam):
            Pm = (Am * gm) @ Am.conj().T
            pm, Um = np.linalg.eigh(Pm)
            eig.append(np.maximum(pm, 0.0))
            self.U.append(Um)
            self.G.append((gm[:, None] * Am.conj().T) @ Um)
        self.p = _outer(eig)
        inv = 1.0 / (noise_var + self.p)
        ytil = _modes(y_tensor, [Um.conj().T for Um in self.U])
        self.mean = _modes(inv * ytil, self.G)
        gamma = _outer(self.gam)
        self.gamma = gamma
        self.var = np.maximum(gamma - _modes(inv, [np.abs(Gm) ** 2 for Gm in self.G]), 0.0)
        self.log_det_c = float(np.log(noise_var + self.p).sum())
        self.quad = float((np.abs(ytil) ** 2 * inv).sum())
        residual = y_tensor - _modes(self.mean, self.subs)
        self.residual_sq = float(np.sum(np.abs(residual) ** 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.dof = float(np.sum(np.where(gamma > 0, 1.0 - self.var / gamma, 0.0)))


def _update_am(second, gammas_active):
    """Alternating minimisation: each factor in turn, the others fixed (exact per block)."""
    new = [g.copy() for g in gammas_active]
    d = len(new)
    for m in range(d):
        others = [np.ones(1) if k == m else new[k] for k in range(d)]
        scale = _outer([np.ones(len(new[m])) if k == m else others[k] for k in range(d)])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(scale > 0, second / scale, 0.0)
        axes = tuple(k for k in range(d) if k != m)
        new[m] = ratio.mean(axis=axes) if axes else ratio
    return new


def _update_svd(second):
    """Rank-1 approximation of the second moments: the leading singular vector of each
    unfolding (nonnegative, since the tensor is) and the core value."""
    d = second.ndim
    vecs = []
    for m in range(d):
        unfold = np.moveaxis(second, m, 0).reshape(second.shape[m], -1)
        _, v = np.linalg.eigh(unfold @ unfold.T)
        vecs.append(np.abs(v[:, -1]))
    core = float(_modes(second, [u[None, :] for u in vecs]).reshape(-1)[0])
    vecs[-1] = vecs[-1] * max(core, 0.0)
    return vecs


def _rescale(gammas):
    """All factors but the last to unit norm, the scale moved to the last (the product is
    unchanged; the factorisation is otherwise defined up to these scales)."""
    out = [g.copy() for g in gammas]
    for m in range(len(out) - 1):
        norm = float(np.linalg.norm(out[m]))
        if norm > 0:
            out[m] /= norm
            out[-1] *= norm
    return out


def kronecker_sbl(factors, y, *, update="am", noise_var=None, prune=None, tol=1e-4,
                  max_iter=150, callback=None, verbose=0) -> KroneckerSBLResult:
    r"""Sparse Bayesian learning for a Kronecker-structured design (KroSBL).

    Solves ``y = (A_1 kron ... kron A_D) x + w`` where the support of ``x`` is itself a Kronecker
    product, with the prior :math:`x \sim N(0, \mathrm{diag}(\gamma_1 \otimes \cdots \otimes
    \gamma_D))`. The variances are learned by EM (type-II maximum likelihood) without ever
    forming the Kronecker product: the E-step works on the eigendecompositions of the small
    :math:`A_m \Gamma_m A_m^H` and on mode products of D-way tensors.

    Parameters
    ----------
    factors : list of array-like
        The matrices ``A_1, ..., A_D`` of shapes ``(M_m, N_m)``, real or complex; the
        coefficients are ``x.reshape(N_1, ..., N_D)`` in C order (``numpy.kron`` convention).
    y : array-like of shape (M_1 * ... * M_D,)
        Observations, real or complex. An all-zero ``y`` returns ``x = 0``, with a warning.
    update : {"am", "svd"}, default="am"
        M-step for the factors: ``"am"`` alternates over the factors, each update exact given
        the others (converges to a stationary point of the SBL cost); ``"svd"`` takes the factors
        from a rank-1 approximation of the posterior second moments.
    noise_var : float, optional
        Fixed noise variance; learned by EM when ``None`` (the paper assumes it known).
    prune : float, optional
        Entries of a factor below ``prune`` times that factor's largest entry are removed; by
        default 1e-2 for ``"am"`` and 1e-3 for ``"svd"`` (the paper's values).
    tol : float, default=1e-4
        Stop when :math:`\|\mu_t - \mu_{t-1}\| / \|\mu_t\| <` ``tol``.
    max_iter : int, default=150
        Maximum number of iterations.
    callback : callable, optional
        ``callback(iteration, state)`` after every E-step; ``state`` is a dict with ``coef``,
        ``factor_prior_var``, ``noise_var``, ``objective`` and ``criterion``.
    verbose : int or bool, default=0
        1: a summary line; 2: a line per iteration.

    Returns
    -------
    KroneckerSBLResult
        Posterior mean and variances of ``x`` (length ``N_1 ... N_D``), the factors
        ``gamma_m`` and their Kronecker product, the noise variance, the indices kept and the
        log evidence; the history as for :func:`sparse_bayesian_learning`.

    Raises
    ------
    ValueError
        Factors whose row counts do not multiply to ``len(y)``, NaN or infinity, bad parameters.
    TypeError
        ``factors`` not a list or tuple of 2-D arrays, or arguments of the wrong kind.

    Notes
    -----
    There is no estimator for KroSBL: its structure lives in the design (a product of small
    matrices), not in a samples-by-features matrix. With a single factor it is EM-SBL.

    References
    ----------
    .. [1] Y. He and G. Joseph, "Bayesian algorithms for Kronecker-structured sparse vector
       recovery with application to IRS-MIMO channel estimation", IEEE Trans. Signal
       Processing 72, 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsenum.bayes import kronecker_sbl
    >>> rng = np.random.default_rng(0)
    >>> A1, A2 = rng.standard_normal((8, 12)), rng.standard_normal((9, 12))
    >>> x1, x2 = np.zeros(12), np.zeros(12)
    >>> x1[[2, 7]], x2[[4, 9]] = [1.0, -2.0], [1.5, 1.0]
    >>> y = np.kron(A1, A2) @ np.kron(x1, x2) + 0.01 * rng.standard_normal(72)
    >>> res = kronecker_sbl([A1, A2], y)
    >>> res.support.tolist()  # indices i * 12 + j of the nonzeros x1[i] x2[j]
    [28, 33, 88, 93]
    >>> bool(np.linalg.norm(res.coef - np.kron(x1, x2)) < 0.01 * np.linalg.norm(np.kron(x1, x2)))
    True
    """
    factors, y = check_factors(factors, y)
    update = check_one_of(update, "update", ("am", "svd"))
    noise_var = check_noise_var(noise_var)
    prune = check_scalar(prune, "prune", low=0.0, high=1.0, include_high=False,
                         allow_none=True)
    prune = _PRUNE[update] if prune is None else prune
    tol = check_scalar(tol, "tol", low=0.0)
    max_iter = check_int(max_iter, "max_iter", low=1)
    callback = check_callback(callback)
    verbose = check_verbose(verbose)
    sizes = [f.shape[1] for f in factors]
    n = int(np.prod(sizes))
    m = y.shape[0]
    if not np.any(y):
        return zero_data_result(KroneckerSBLResult, n, m, y.dtype, noise_var,
                                factor_prior_var=[np.zeros(k) for k in sizes])
    with blas_threads_for(max(f.shape[0] for f in factors), max(sizes)):
        return _run(factors, y, update, noise_var, prune, tol, max_iter, callback, verbose)


def _run(factors, y, update, noise_var, prune, tol, max_iter, callback, verbose):
    is_complex = np.iscomplexobj(y)
    half = 1.0 if is_complex else 0.5
    sizes = [f.shape[1] for f in factors]
    n, m = int(np.prod(sizes)), y.shape[0]
    y_tensor = y.reshape([f.shape[0] for f in factors])
    power = float(np.real(np.vdot(y, y))) / m
    frob = float(np.prod([np.sum(np.abs(f) ** 2) for f in factors]))
    gammas = [np.ones(k) for k in sizes]
    gammas[0] = gammas[0] * power * m / max(frob, 1e-300)  # as sparse_bayesian_learning
    for g, f in zip(gammas, factors):  # zero columns carry no information
        g[np.sum(np.abs(f) ** 2, axis=0) == 0] = 0.0
    learn_noise = noise_var is None
    sigma2 = TUNING.noise_start * power if learn_noise else noise_var
    history = ConvergenceHistory(min(max_iter, 1024) + 1, ("n_active", "noise_var"),
                                 criterion_name="relative_change",
                                 objective_name="neg_log_evidence", labels=HISTORY_LABELS)
    mean = np.zeros(n, y.dtype)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        idx = [np.flatnonzero(g > 0) for g in gammas]
        step = _KronEStep(factors, y_tensor, gammas, idx, sigma2)
        full_index = np.ravel_multi_index(np.ix_(*idx), sizes).ravel()
        new_mean = np.zeros(n, y.dtype)
        new_mean[full_index] = step.mean.ravel()
        change = relative_change(new_mean, mean)
        mean = new_mean
        objective = negative_log_evidence(step, m, is_complex)
        history.record(it, objective=objective, criterion=change, n_active=full_index.size,
                       noise_var=sigma2)
        if verbose >= 2:
            print(f"KroSBL iteration {it}: -log p(y)={objective:.6g}, change={change:.3e}, "
                  f"kept={full_index.size}, noise_var={sigma2:.4g}")
        if callback is not None:
            callback(it, {"coef": mean, "factor_prior_var": gammas, "noise_var": sigma2,
                          "objective": objective, "criterion": change})
        if change < tol:
            converged = True
            break
        if it == max_iter:
            break
        second = np.abs(step.mean) ** 2 + step.var
        active = [g[i] for g, i in zip(gammas, idx)]
        new = _update_am(second, active) if update == "am" else _update_svd(second)
        new = _rescale(new)
        if learn_noise:
            den = half * m
            sigma2 = max(half * (step.residual_sq + sigma2 * step.dof) / den,
                         TUNING.noise_floor * power)
        for g, i, v in zip(gammas, idx, new):
            g[:] = 0.0
            v = np.where(np.isfinite(v), v, 0.0)
            v[v < prune * v.max()] = 0.0
            g[i] = v
    prior_var = np.zeros(n)
    prior_var[full_index] = step.gamma.ravel()
    var = np.zeros(n)
    var[full_index] = step.var.ravel()
    if verbose >= 1:
        state = "converged" if converged else "stopped at max_iter"
        print(f"kronecker_sbl {state} after {it} iterations: {full_index.size} of {n} "
              f"coefficients kept, noise_var={sigma2:.4g}")
    order = np.sort(full_index).astype(np.int64)
    return KroneckerSBLResult(coef=mean, posterior_var=var, prior_var=prior_var,
                              noise_var=float(sigma2), support=order,
                              log_evidence=-float(objective),
                              factor_prior_var=[g.copy() for g in gammas],
                              converged=converged, n_iter=it, history=history)
